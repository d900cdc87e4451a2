"""The dossier as an Excel workbook: one sheet per section, a header row, widths fitted to
the content, and no text cell that a spreadsheet would run as a formula.

Enterprise names, reasons and conclusions come from many hands; a name such as
`=HYPERLINK("http://…")` or `+cmd|' /C calc'!A0` would run when the office opens the file
(CSV/formula injection, OWASP). Every text cell starting with =, +, -, @, a tab or a carriage
return is written with a leading apostrophe, as a plain string (`kit.spreadsheets.neutralise`,
the rule list exports and rejected import rows follow too).
"""

from __future__ import annotations

import io
import unicodedata

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from gateway.dossier.gather import Dossier
from gateway.dossier.sections import Section, sections
from kit.spreadsheets import neutralise

__all__ = ["display_width", "neutralise", "render_xlsx"]

HEADER_FILL = PatternFill("solid", fgColor="E4ECF6")
MAX_WIDTH = 60
RATE_COLUMNS = {"kpis": (9, 11)}  # 1-based: pass rate, CAPA closure
USD_COLUMNS = {"kpis": (3,)}


def display_width(text: str) -> int:
    """Columns a text needs: wide (CJK) characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _write(sheet: Worksheet, section: Section) -> None:
    sheet.append([section.title])
    sheet["A1"].font = Font(bold=True, size=13)
    if section.unavailable:
        sheet.append([neutralise(section.unavailable)])
        sheet["A2"].font = Font(color="A02828")
        sheet.column_dimensions["A"].width = min(display_width(section.unavailable) + 2, 100)
        return
    sheet.append(section.headers)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in section.rows:
        sheet.append([neutralise(v) for v in row])
    last = sheet.max_row
    if section.note:  # after the rows, so row 2 stays the header for filters and scripts
        sheet.append([section.note])
        sheet.cell(sheet.max_row, 1).font = Font(color="A02828")
    for row in sheet.iter_rows(min_row=3, max_row=last):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever openpyxl guessed
    for column in RATE_COLUMNS.get(section.key, ()):
        for (cell,) in sheet.iter_rows(min_row=3, min_col=column, max_col=column):
            cell.number_format = "0.0%"
    for column in USD_COLUMNS.get(section.key, ()):
        for (cell,) in sheet.iter_rows(min_row=3, min_col=column, max_col=column):
            cell.number_format = "#,##0"
    sheet.freeze_panes = "A3"
    for index in range(1, len(section.headers) + 1):
        values = [
            c.value
            for (c,) in sheet.iter_rows(min_row=2, max_row=last, min_col=index, max_col=index)
        ]
        widest = max((display_width(str(v)) for v in values if v is not None), default=8)
        sheet.column_dimensions[get_column_letter(index)].width = min(max(widest + 2, 8), MAX_WIDTH)


def _kpi_chart(sheet: Worksheet, rows: int) -> None:
    """A bar chart of exports per year beside the KPI table."""
    chart = BarChart()
    chart.title = "出口额 Exports (US$)"
    chart.y_axis.title = "US$"
    chart.add_data(Reference(sheet, min_col=3, min_row=2, max_row=rows + 2), titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, min_row=3, max_row=rows + 2))
    chart.height, chart.width = 8, 16
    sheet.add_chart(chart, f"A{rows + 5}")


def render_xlsx(dossier: Dossier) -> bytes:
    """The workbook's bytes."""
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type, unused-ignore]
    for section in sections(dossier):
        sheet = book.create_sheet(section.sheet)
        _write(sheet, section)
        if section.key == "kpis" and section.rows and not section.unavailable:
            _kpi_chart(sheet, len(section.rows))
    book.properties.title = f"{dossier.zone.get('name_zh', '')} 验收申报材料"
    book.properties.creator = "zone-platform gateway"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
