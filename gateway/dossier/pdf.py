"""The dossier as a PDF (A4, the CJK font embedded as a subset), with bar charts of the
yearly KPIs drawn as vector rectangles, so no chart library or image is needed."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos
from fpdf.fonts import FontFace

from gateway.dossier.fonts import face_index
from gateway.dossier.gather import Dossier
from gateway.dossier.sections import TIMES_NOTE, Section, kpi_cell, sections

FONT = "cjk"
MARGIN = 15.0
CHART_HEIGHT = 38.0
BAR_COLOUR = (46, 110, 182)
MUTED = (110, 110, 110)
PADDING = 0.8


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10ⁿ at or above `value` (an axis top a reader can
    read); 1 for nothing to show."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        top = step * 10.0**exponent
        if top >= value * (1 - 1e-12):
            return float(top)
    return 10.0 ** (exponent + 1)  # pragma: no cover - the loop always returns


def bar_heights(values: list[float | None], height: float) -> tuple[float, list[float | None]]:
    """Axis top and each bar's height in `height` units; a missing value has no bar
    (None), which differs from a zero."""
    top = nice_ceiling(max((v for v in values if v is not None), default=0.0))
    return top, [None if v is None else max(0.0, v) / top * height for v in values]


class _Document(FPDF):
    def __init__(self, title: str):
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.dossier_title = title

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=7)
        self.set_text_color(*MUTED)
        self.cell(
            0,
            5,
            f"{self.dossier_title}  ·  第 {self.page_no()} 页 Page {self.page_no()}",
            align="C",
        )
        self.set_text_color(0, 0, 0)


def _heading(pdf: FPDF, text: str) -> None:
    if pdf.get_y() > pdf.h - 50:
        pdf.add_page()
    pdf.ln(3)
    pdf.set_font(FONT, size=12)
    pdf.set_draw_color(*BAR_COLOUR)
    pdf.cell(0, 8, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.line(MARGIN, pdf.get_y(), pdf.w - MARGIN, pdf.get_y())
    pdf.set_draw_color(0, 0, 0)
    pdf.ln(2)


def _note(pdf: FPDF, text: str) -> None:
    pdf.set_font(FONT, size=9)
    pdf.set_text_color(160, 40, 40)
    pdf.multi_cell(0, 5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)


# fpdf2 cannot split a table row across pages: a cell longer than a page (about 700 CJK
# characters in a 30 mm column) would make the whole PDF fail. The workbook keeps it whole.
MAX_CELL_CHARS = 500
CLIPPED = "…（全文见 Excel full text in the workbook）"


def clip(value: str) -> str:
    """A cell's text, shortened to what one table row can hold on a page."""
    return value if len(value) <= MAX_CELL_CHARS else value[:MAX_CELL_CHARS] + CLIPPED


# fpdf2 wraps a word wider than its column anywhere (`kickoff_meetin` / `g`): a code or
# path too wide for its column is broken after its joiners (`kickoff_` / `meeting`) instead.
JOINERS = re.compile(r"(?<=[A-Za-z][_/.\-])(?=[A-Za-z0-9])")


def fit_words(text: str, width: float, measure: Callable[[str], float]) -> str:
    """`text` with a line break after a joiner of each word wider than `width` (as `measure`
    reads it), packing the pieces greedily; other words, and Chinese, wrap as fpdf2 wraps."""
    out = []
    for word in re.split(r"( +)", text):
        if not word.strip() or measure(word) <= width:
            out.append(word)
            continue
        lines = [""]
        for piece in JOINERS.split(word):
            if lines[-1] and measure(lines[-1] + piece) > width:
                lines.append(piece)
            else:
                lines[-1] += piece
        out.append("\n".join(lines))
    return "".join(out)


def _table(pdf: FPDF, section: Section, cells: list[list[str]]) -> None:
    if not cells:
        pdf.set_font(FONT, size=9)
        pdf.set_text_color(*MUTED)
        pdf.cell(0, 6, "无记录 None recorded", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(0, 0, 0)
        return
    pdf.set_font(FONT, size=7.5)
    widths = section.widths or [1.0] * len(section.headers)
    usable = [pdf.epw * w / sum(widths) - 2 * PADDING - 0.5 for w in widths]
    with pdf.table(
        col_widths=section.widths,
        text_align="LEFT",
        line_height=4.2,
        wrapmode=WrapMode.WORD,
        headings_style=FontFace(emphasis=None, fill_color=(228, 236, 246)),
        padding=PADDING,
    ) as table:
        for row in [section.headers, *cells]:
            line = table.row()
            for value, width in zip(row, usable, strict=False):
                line.cell(fit_words(clip(value), width, pdf.get_string_width))


def _bar_chart(
    pdf: FPDF, title: str, years: list[Any], values: list[float | None], label: Any
) -> None:
    """One titled bar chart, a bar per year with its value above it."""
    if pdf.get_y() + CHART_HEIGHT + 20 > pdf.h - 15:
        pdf.add_page()
    pdf.set_font(FONT, size=9)
    pdf.cell(0, 6, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if not any(v for v in values):  # an axis of zeros says nothing: say so instead
        pdf.set_text_color(*MUTED)
        pdf.cell(
            0, 6, "这些年度无数据 No figures for these years", new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        pdf.set_text_color(0, 0, 0)
        pdf.ln(2)
        return
    left, width = MARGIN + 14, pdf.w - 2 * MARGIN - 14
    base = pdf.get_y() + 4 + CHART_HEIGHT
    top, heights = bar_heights(values, CHART_HEIGHT)
    pdf.set_font(FONT, size=6.5)
    pdf.set_draw_color(200, 200, 200)
    for fraction in (0, 0.5, 1):
        y = base - CHART_HEIGHT * fraction
        pdf.line(left, y, left + width, y)
        pdf.set_xy(MARGIN, y - 2)
        pdf.cell(13, 4, label(top * fraction), align="R")
    slot = width / max(len(years), 1)
    bar = min(slot * 0.6, 14)
    for i, (year, value, h) in enumerate(zip(years, values, heights, strict=True)):
        x = left + i * slot + (slot - bar) / 2
        if h is not None:
            pdf.set_fill_color(*BAR_COLOUR)
            pdf.rect(x, base - h, bar, h, style="F")
        pdf.set_xy(x - 4, base - (h or 0) - 4)
        pdf.cell(bar + 8, 4, "—" if value is None else label(value), align="C")
        pdf.set_xy(x - 4, base + 0.5)
        pdf.cell(bar + 8, 4, str(year), align="C")
    pdf.set_draw_color(0, 0, 0)
    pdf.set_fill_color(255, 255, 255)
    pdf.set_y(base + 7)


def _kpi_charts(pdf: FPDF, rows: list[list[Any]]) -> None:
    years = [r[0] for r in rows]

    def millions(v: float) -> str:
        return f"{v / 1e6:,.1f}M"

    def percent(v: float) -> str:
        return f"{v * 100:.0f}%"

    def plain(v: float) -> str:
        return f"{v:.3g}"

    per_100m = [None if r[5] is None and r[6] is None else (r[5] or 0) + (r[6] or 0) for r in rows]
    _bar_chart(pdf, "出口额 Exports (US$)", years, [float(r[2] or 0) for r in rows], millions)
    _bar_chart(pdf, "抽查合格率 Spot-check pass rate", years, [r[8] for r in rows], percent)
    _bar_chart(
        pdf, "通报与退运/亿美元 Notifications and returns per US$100M", years, per_100m, plain
    )


def render_pdf(dossier: Dossier, font: Path) -> bytes:
    """The whole dossier; `font` is embedded (subset) for every character."""
    zone = dossier.zone
    title = f"{zone.get('name_zh', zone.get('code', ''))} 验收申报材料"
    pdf = _Document(title)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=16)
    pdf.add_font(FONT, "", str(font), collection_font_number=face_index(font))
    pdf.set_title(title)
    pdf.set_subject("Acceptance dossier of an export product quality safety demonstration zone")
    pdf.set_creator("zone-platform gateway")
    pdf.set_lang("zh-CN")
    pdf.add_page()
    pdf.set_font(FONT, size=17)
    pdf.multi_cell(0, 9, zone.get("name_zh", ""), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=13)
    pdf.cell(
        0, 8, "验收申报材料 Acceptance dossier", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )
    pdf.set_font(FONT, size=9)
    pdf.set_text_color(*MUTED)
    pdf.multi_cell(0, 5, zone.get("name_en", ""), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.multi_cell(0, 5, TIMES_NOTE, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    for section in sections(dossier):
        _heading(pdf, section.title)
        if section.unavailable:
            _note(pdf, section.unavailable)
            continue
        if section.note:
            _note(pdf, section.note)
        if section.key == "kpis":
            cells = [[kpi_cell(i, v) for i, v in enumerate(row)] for row in section.rows]
            _table(pdf, section, cells)
            if section.rows:
                pdf.ln(3)
                _kpi_charts(pdf, section.rows)
            continue
        cells = [["" if v is None else str(v) for v in row] for row in section.rows]
        _table(pdf, section, cells)
    return bytes(pdf.output())
