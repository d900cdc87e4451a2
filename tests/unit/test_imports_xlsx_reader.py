"""kit.spreadsheets' own .xlsx reader against openpyxl's (the reference it replaced): the same
cells as text, row numbers and sheet size, for what spreadsheets hold (shared and inline
strings, rich text, numbers, dates of both epochs, times, durations, booleans, formulas,
gaps), and refusals for what is no workbook."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from kit import spreadsheets

ROWS: list[list[Any]] = [
    ["统一社会信用代码", "企业名称", None, "日期", "数"],
    ["91330226MA2AAAAA1X", " 空格 ", True, datetime(2024, 5, 1), 3.0],
    [None, None, None, None, None],
    ["x", "'=1+2", False, date(2023, 1, 2), 2.5],
    ["", "a\nb", None, datetime(2024, 5, 1, 12, 30), 12_345_678_901_234],
    [1, 2.25, "TRUE", time(12, 30), timedelta(hours=30)],
]


def workbook(*, write_only: bool = False, date1904: bool = False) -> bytes:
    book = Workbook(write_only=write_only)
    if date1904:
        book.epoch = CALENDAR_MAC_1904
    sheet = book.create_sheet("名录") if write_only else book.active
    assert sheet is not None
    for row in ROWS:
        sheet.append(row)
    if not write_only:
        sheet["J20"] = "far"  # a gap of rows and columns
        sheet["A25"] = "=SUM(1,2)"
        sheet["B26"] = CellRichText(["宁海", TextBlock(InlineFont(b=True), "文具")])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def reference(data: bytes) -> list[tuple[int, list[str]]]:
    """What openpyxl's read-only mode gives, as the rows the reader yields."""
    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    rows = [
        (n, [spreadsheets.cell_text(v) for v in row])
        for n, row in enumerate(book.worksheets[0].iter_rows(values_only=True), start=1)
    ]
    book.close()
    return rows


def padded(rows: list[tuple[int, list[str]]]) -> list[tuple[int, list[str]]]:
    return [(n, (cells + [""] * 12)[:12]) for n, cells in rows if any(cells)]


@pytest.mark.parametrize("write_only", [False, True])
@pytest.mark.parametrize("date1904", [False, True])
def test_the_same_cells_as_openpyxl(write_only: bool, date1904: bool) -> None:
    data = workbook(write_only=write_only, date1904=date1904)
    last, rows = spreadsheets._xlsx_rows(data)
    assert padded(list(rows)) == padded(reference(data))
    assert last == (None if write_only else 26)


def test_a_sheet_read_through_its_headings() -> None:
    sheet = spreadsheets.read(workbook())
    assert sheet.headings == ["统一社会信用代码", "企业名称", "", "日期", "数"]
    rows = list(sheet.rows())
    assert rows[0] == (2, {"uscc": "91330226MA2AAAAA1X", "name": "空格"}, rows[0][2])
    assert rows[0][2][:5] == ["91330226MA2AAAAA1X", "空格", "TRUE", "2024-05-01", "3"]
    assert [n for n, _, _ in rows] == [2, 4, 5, 6, 20, 26]  # a formula never computed: blank
    assert rows[-1][2][1] == "宁海文具"  # rich text: its runs joined
    assert sheet.estimated_rows == 25


def test_inline_strings_and_no_shared_strings() -> None:
    sheet = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<dimension ref="A1:B2"/><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>执法证号</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>姓名</t></is></c></row>'
        '<row r="2"><c r="A2" t="inlineStr"><is><t>NH-001</t></is></c>'
        '<c r="B2" t="inlineStr"><is><r><t>王</t></r><r><t>芳</t></r></is></c></row>'
        "</sheetData></worksheet>"
    )
    data = rebuilt(workbook(), {"xl/worksheets/sheet1.xml": sheet}, drop="xl/sharedStrings.xml")
    assert list(spreadsheets._xlsx_rows(data)[1]) == [
        (1, ["执法证号", "姓名"]),
        (2, ["NH-001", "王芳"]),
    ]


def rebuilt(data: bytes, parts: dict[str, str], drop: str | None = None) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            if name == drop:
                continue
            body = parts[name].encode() if name in parts else source.read(name)
            if drop and name == "xl/_rels/workbook.xml.rels":
                body = body.replace(b"sharedStrings", b"nothing")
            target.writestr(name, body)
    return out.getvalue()


WIDE = (
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    '<row r="1"><c r="ZZZZZZZ1" t="inlineStr"><is><t>x</t></is></c></row>'
    "</sheetData></worksheet>"
)
BOMB = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i + 1} "' + f"&lol{i or ''};" * 10 + '">' for i in range(9))
    + ']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
    "</sheetData></worksheet>"
)


@pytest.mark.parametrize(
    "parts",
    [
        {"xl/worksheets/sheet1.xml": BOMB},  # entity expansion: refused, not expanded
        {"xl/worksheets/sheet1.xml": "<worksheet><sheetData><row>"},  # cut short
        {"xl/workbook.xml": '<!DOCTYPE w [<!ENTITY a "b">]><workbook>&a;</workbook>'},
        # a column past XFD: refused, not a row padded to billions of cells
        {"xl/worksheets/sheet1.xml": WIDE},
    ],
)
def test_what_is_no_readable_workbook_is_refused(parts: dict[str, str]) -> None:
    with pytest.raises(spreadsheets.NotASpreadsheet):
        sheet = spreadsheets.read(rebuilt(workbook(), parts))
        list(sheet.rows())
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("word/document.xml", "<w/>")
    with pytest.raises(spreadsheets.NotASpreadsheet):
        spreadsheets.read(other.getvalue())


def test_a_date_no_calendar_has_reads_as_excel_shows_it() -> None:
    """A date-formatted serial past year 9999 is Excel's #VALUE!, not a crash of the job."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["年度", "日期"])
    sheet.append([2024, 3_000_000])
    sheet["B2"].number_format = "yyyy-mm-dd"
    out = io.BytesIO()
    book.save(out)
    rows = list(spreadsheets._xlsx_rows(out.getvalue())[1])
    assert rows[1][1][1] == "#VALUE!"
