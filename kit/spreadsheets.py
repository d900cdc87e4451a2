"""Spreadsheets in and out: `.xlsx` and `.csv` read row by row, column headings mapped to
field names through one documented table (docs/api.md, "Imports"), rejected rows written
back as `.xlsx` with a reason column.

Reading streams: an `.xlsx` through openpyxl's read-only mode, a `.csv` through a text
wrapper; neither holds more than one row at a time. A heading the table does not name is
reported and its column ignored, never guessed.
"""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter

from kit.problem_text import FIELD_LABELS

XLSX_MAGIC = b"PK\x03\x04"
CHUNK = 1 << 20

# field name -> the headings a file may also use for it. The canonical heading of each field
# is its label in the one table of field labels (kit.problem_text.FIELD_LABELS), listed first;
# these are the aliases accepted besides it. One table for every kind: a kind reads the fields
# it knows and reports the others as not used.
ALIASES: dict[str, tuple[str, ...]] = {
    "uscc": ("社会信用代码", "信用代码", "USCC", "Unified social credit code"),
    "name": ("企业名称", "单位名称", "Name", "Enterprise name", "Company name"),
    "legal_representative": ("法人代表", "Legal representative"),
    "address": ("企业地址", "注册地址", "Address"),
    "contact_name": ("Contact", "Contact name"),
    "contact_phone": ("电话", "Phone", "Contact phone"),
    "industry": ("所属行业", "Industry"),
    "employees": ("职工人数", "员工人数", "Employees"),
    "year": ("年份", "调查年度", "Year"),
    "annual_export_usd": (
        "年度出口额（美元）",
        "出口额（美元）",
        "Annual export (USD)",
        "Annual exports (USD)",
        "Export (USD)",
    ),
    "annual_output_cny": ("年度产值（元）", "工业总产值（元）", "Annual output (CNY)"),
    "hs_codes": ("商品编码", "HS codes", "HS code"),
    "export_markets": ("主要出口市场", "Export markets", "Markets"),
    "zone": ("示范区代码", "Zone", "Zone code"),
    "decision": ("操作", "Decision", "Action"),
    "note": ("说明", "Note", "Notes"),
}
# field -> every heading naming it, the canonical one first
HEADINGS_OF: dict[str, tuple[str, ...]] = {
    f: (FIELD_LABELS[f], *aliases) for f, aliases in ALIASES.items()
}
# heading (as written) -> field name
HEADINGS: dict[str, str] = {h: f for f, hs in HEADINGS_OF.items() for h in hs}

REASON_HEADING = "原因 / Reason"
ROW_HEADING = "行号 / Row"


class NotASpreadsheet(ValueError):
    """The bytes are neither an `.xlsx` workbook nor CSV text."""


def heading_key(heading: str) -> str:
    """A heading compared loosely: NFKC (full-width brackets), no spaces, case-folded."""
    return "".join(unicodedata.normalize("NFKC", heading).split()).casefold()


_KEYS = {heading_key(k): v for k, v in HEADINGS.items()}
# the columns `rejected_workbook` adds: ignored without a word when the file comes back
_OURS = {heading_key(REASON_HEADING), heading_key(ROW_HEADING)}


def heading_keys(table: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """{field: headings} as the loose keys `read` looks headings up by: a table of its own
    for a file whose layout someone else publishes (kit.feeds)."""
    return {heading_key(name): f for f, names in table.items() for name in names}


def field_of(heading: str, keys: Mapping[str, str] | None = None) -> str | None:
    """The field a heading names, or None when the table (the imports' one by default)
    does not know it."""
    return (_KEYS if keys is None else keys).get(heading_key(heading))


def sniff(data: bytes) -> Literal["xlsx", "csv"]:
    """`xlsx` for a zip (an Office Open XML workbook), `csv` for text in UTF-8 (with or
    without BOM) or GB 18030; `NotASpreadsheet` otherwise."""
    if data.startswith(XLSX_MAGIC):
        return "xlsx"
    if b"\x00" in data[:CHUNK]:
        raise NotASpreadsheet("binary data: neither an .xlsx workbook nor CSV text")
    encoding_of(data)
    return "csv"


def _decodes(data: bytes, encoding: str) -> bool:
    """Whether all of `data` decodes, checked chunk by chunk (nothing kept)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for start in range(0, len(data), CHUNK):
            decoder.decode(data[start : start + CHUNK])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def encoding_of(data: bytes) -> str:
    """`utf-8-sig` when the bytes are UTF-8 (a BOM or none), else `gb18030` (what Excel saves
    on Chinese Windows); `NotASpreadsheet` when neither decodes."""
    for encoding in ("utf-8-sig", "gb18030"):
        if _decodes(data, encoding):
            return encoding
    raise NotASpreadsheet("the text is neither UTF-8 nor GB 18030")


# What a spreadsheet would start a formula with (OWASP CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """A cell for a file someone opens in a spreadsheet (OWASP CSV/formula injection): a text
    that would start a formula gets a leading apostrophe and is kept as text; control
    characters the .xlsx format cannot hold are dropped first (what is left may start a
    formula); numbers, booleans and None pass unchanged. The one rule for every file the
    platform writes: the dossier, rejected import rows and list exports."""
    if not isinstance(value, str):
        return value
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def cell_text(value: Any) -> str:
    """A cell as the text a person typed: integers without `.0`, dates as ISO dates."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    # the apostrophe `_safe` put before a formula-like cell: a re-imported fix reads as typed
    return text[1:] if text[:1] == "'" and text[1:2] in FORMULA_STARTS else text


@dataclass
class Sheet:
    """A spreadsheet's heading row and its data rows, read on demand.

    `headings` are the cells of the first non-empty row as written; `fields[i]` is the field
    the i-th heading names (None: unknown, reported in `unknown`).
    """

    headings: list[str] = field(default_factory=list)
    fields: list[str | None] = field(default_factory=list)
    estimated_rows: int | None = None  # data rows, from the sheet's dimension or line count
    _rows: Iterator[tuple[int, list[str]]] = field(default_factory=lambda: iter(()))

    @property
    def unknown(self) -> list[str]:
        """Headings the table does not name (their columns are ignored)."""
        return [
            h
            for h, f in zip(self.headings, self.fields, strict=True)
            if f is None and h and heading_key(h) not in _OURS
        ]

    @property
    def duplicated(self) -> list[str]:
        """Fields named by more than one heading (ambiguous: refused)."""
        seen: set[str] = set()
        twice: list[str] = []
        for f in self.fields:
            if f is not None and f in seen and f not in twice:
                twice.append(f)
            if f is not None:
                seen.add(f)
        return twice

    def rows(self) -> Iterator[tuple[int, dict[str, str], list[str]]]:
        """(row number as the spreadsheet shows it, {field: text} of the known non-blank
        cells, every cell as text) for each non-empty row after the headings."""
        width = len(self.headings)
        for number, cells in self._rows:
            cells = (cells + [""] * width)[: max(width, len(cells))]
            if not any(cells):
                continue
            values = {
                f: c for f, c in zip(self.fields, cells[:width], strict=True) if f is not None and c
            }
            yield number, values, cells


def _xlsx_rows(data: bytes) -> tuple[int | None, Iterator[tuple[int, list[str]]]]:
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        worksheet = workbook.worksheets[0]
        last = worksheet.max_row  # from the sheet's <dimension>, when its writer gave one
    except Exception as exc:  # a zip that is no workbook
        raise NotASpreadsheet(f"not an .xlsx workbook: {exc}") from exc

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for number, row in enumerate(worksheet.iter_rows(values_only=True), start=1):
                yield number, [cell_text(v) for v in row]
        except (KeyError, ValueError, OSError, SyntaxError, zipfile.BadZipFile) as exc:
            raise NotASpreadsheet(f"the .xlsx workbook cannot be read: {exc!r}") from exc
        finally:
            workbook.close()

    return last, rows()


def _csv_rows(data: bytes) -> tuple[int | None, Iterator[tuple[int, list[str]]]]:
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    return lines, _csv_lines(data)


def _csv_lines(data: bytes) -> Iterator[tuple[int, list[str]]]:
    text = io.TextIOWrapper(io.BytesIO(data), encoding=encoding_of(data), newline="")
    reader = csv.reader(text)
    try:
        for cells in reader:
            yield reader.line_num, [c.strip() for c in cells]
    except csv.Error as exc:
        raise NotASpreadsheet(f"the CSV text cannot be read: {exc}") from exc


def read(data: bytes, keys: Mapping[str, str] | None = None) -> Sheet:
    """The sheet in `data` (.xlsx or .csv, sniffed): headings now, rows as they are read.
    Headings are looked up in `keys` (`heading_keys`), the imports' table by default."""
    last, rows = _xlsx_rows(data) if sniff(data) == "xlsx" else _csv_rows(data)
    for number, cells in rows:
        if any(cells):
            while cells and not cells[-1]:
                cells.pop()
            return Sheet(
                headings=cells,
                fields=[field_of(h, keys) for h in cells],
                estimated_rows=max(last - number, 0) if last else None,
                _rows=rows,
            )
    return Sheet()


def _safe(text: str) -> str:
    """A cell that a spreadsheet would run as a formula is kept as text (`neutralise`)."""
    return str(neutralise(text))


def rejected_workbook(headings: list[str], rows: Iterable[tuple[int, list[str], str]]) -> bytes:
    """An `.xlsx` of rejected rows: the original headings, each row's cells as given, the row
    number it had and the reason, so the office fixes them and imports the file again."""
    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet("rejected")
    worksheet.append([*headings, ROW_HEADING, REASON_HEADING])
    for number, cells, reason in rows:
        worksheet.append([*(_safe(c) for c in cells[: len(headings)]), number, _safe(reason)])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# --- writing lists out, streamed -----------------------------------------------------------

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
BOM = "\ufeff".encode()  # Excel reads a CSV as UTF-8 (Chinese intact) only after this mark


def _csv_cell(value: Any) -> Any:
    """A CSV cell: text `neutralise`d (checked cheaply first: most text is printable and starts
    with no formula character), a boolean as TRUE/FALSE, None as nothing."""
    if value.__class__ is str:
        if value and (value[0] in FORMULA_STARTS or not value.isprintable()):
            return neutralise(value)
        return value
    if value is None:
        return ""
    if value is True or value is False:
        return "TRUE" if value else "FALSE"
    return value


def csv_chunk(rows: Iterable[Sequence[Any]]) -> bytes:
    """Rows as CSV lines (UTF-8, CRLF as Excel writes them), each cell as `_csv_cell`."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerows([_csv_cell(v) for v in row] for row in rows)
    return out.getvalue().encode()


class _Sink(io.RawIOBase):
    """An unseekable file the zip writes into; `take` hands over what it holds."""

    def __init__(self) -> None:
        super().__init__()
        self._held = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._held += data
        return len(data)

    def take(self) -> bytes:
        """The bytes written since the last `take`."""
        out = bytes(self._held)
        self._held.clear()
        return out


_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_PARTS = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_CT}.worksheet+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.styles+xml"/></Types>'
    ),
    "_rels/.rels": (
        f'<Relationships xmlns="{_PKG}"><Relationship Id="rId1" '
        f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'<Relationships xmlns="{_PKG}">'
        f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/></Relationships>'
    ),
    "xl/styles.xml": (
        f'<styleSheet xmlns="{_NS}"><fonts count="2"><font><sz val="11"/></font>'
        '<font><b/><sz val="11"/></font></fonts><fills count="2"><fill><patternFill '
        'patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border>'
        '</borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" '
        'borderId="0"/></cellStyleXfs><cellXfs count="2"><xf numFmtId="0" fontId="0" '
        'fillId="0" borderId="0" xfId="0"/><xf numFmtId="0" fontId="1" fillId="0" '
        'borderId="0" xfId="0" applyFont="1"/></cellXfs><cellStyles count="1"><cellStyle '
        'name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
    ),
}
_XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class XlsxStream:
    """An `.xlsx` workbook of one sheet written as its rows come, handed out in pieces: the
    zip is written to an unseekable sink (sizes in data descriptors), cells are inline
    strings, so nothing but the current row is held. A bold, frozen heading row; text cells
    `neutralise`d and never formulas."""

    def __init__(self, sheet: str, headings: Sequence[str]):
        self._sink = _Sink()
        self._zip = zipfile.ZipFile(self._sink, "w", compression=zipfile.ZIP_DEFLATED)
        title = "".join(c for c in sheet if c not in "[]:*?/\\")[:31] or "Sheet1"
        for name, xml in _PARTS.items():
            self._zip.writestr(name, _XML_HEAD + xml)
        self._zip.writestr(
            "xl/workbook.xml",
            f'{_XML_HEAD}<workbook xmlns="{_NS}" xmlns:r="{_REL}"><sheets><sheet '
            f'name="{_escape(title)}" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        self._sheet = self._zip.open("xl/worksheets/sheet1.xml", "w", force_zip64=True)
        self._letters = [get_column_letter(i) for i in range(1, len(headings) + 1)]
        widths = "".join(
            f'<col min="{i}" max="{i}" width="{min(max(_width(h) + 4, 10), 50)}" customWidth="1"/>'
            for i, h in enumerate(headings, start=1)
        )
        self._sheet.write(
            (
                f'{_XML_HEAD}<worksheet xmlns="{_NS}"><sheetViews><sheetView workbookViewId="0">'
                '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
                f"</sheetView></sheetViews>{f'<cols>{widths}</cols>' if widths else ''}"
                "<sheetData>"
            ).encode()
        )
        self._rows = 0
        self.append(headings, style=1)

    def append(self, cells: Sequence[Any], *, style: int = 0) -> None:
        """One row (numbers as numbers, booleans as booleans, None as no cell)."""
        self._rows += 1
        number = self._rows
        xml = [f'<row r="{number}">']
        styled = f' s="{style}"' if style else ""
        for letter, value in zip(self._letters, cells, strict=False):
            ref = f"{letter}{number}"
            if value is None or value == "":
                continue
            if isinstance(value, bool):
                xml.append(f'<c r="{ref}"{styled} t="b"><v>{int(value)}</v></c>')
            elif isinstance(value, int | float):
                xml.append(f'<c r="{ref}"{styled}><v>{value!r}</v></c>')
            else:
                text = _escape(str(neutralise(str(value))))
                xml.append(
                    f'<c r="{ref}"{styled} t="inlineStr"><is><t xml:space="preserve">'
                    f"{text}</t></is></c>"
                )
        xml.append("</row>")
        self._sheet.write("".join(xml).encode())

    def take(self) -> bytes:
        """The workbook's bytes written so far (and not taken yet)."""
        return self._sink.take()

    def close(self) -> bytes:
        """The workbook's last bytes: the sheet's end and the zip's central directory."""
        self._sheet.write(b"</sheetData></worksheet>")
        self._sheet.close()
        self._zip.close()
        return self._sink.take()


def _width(text: str) -> int:
    """Columns a heading needs: wide (CJK) characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)
