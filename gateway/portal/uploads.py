"""A batch file from the portal (CSV or Excel) turned into the bulk endpoint's items. Pure.

The first row names the columns (the API's field names, or their Chinese labels below);
every later non-empty row is one lot. Each item remembers its row in the file, so the bulk
answer's per-line results (line n of what was sent) are shown against the file's own rows.
Values are passed on as written (the registry validates them); only the numeric fields are
turned into numbers when they read as one, and Excel's dates into ISO dates.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from openpyxl import load_workbook

from kit.problem_text import FIELD_LABELS

FIELDS = (
    "number",
    "kind",
    "product",
    "hs_code",
    "quantity",
    "unit",
    "destination",
    "declaration_no",
    "ship_date",
    "brand",
    "model",
    "barcode",
    "export_value_usd",
    "supplier_uscc",
    "supplier_name",
)
# Each column's Chinese heading, the one shown: its label in the one table of field labels
# (kit.problem_text.FIELD_LABELS), these three where it has none.
HEADINGS = {
    f: FIELD_LABELS.get(f)
    or {"number": "批次号", "barcode": "条码", "supplier_name": "供应商名称"}[f]
    for f in FIELDS
}
# Other names an enterprise's clerk might head them with: accepted, never shown.
OTHER_NAMES = {
    "产品名称": "product",
    "商品编码": "hs_code",
    "货值（美元）": "export_value_usd",
}


def _key(heading: str) -> str:
    """A heading as matched: case, spaces and full-width brackets do not matter."""
    return heading.lower().replace(" ", "").replace("（", "(").replace("）", ")")


ALIASES = {_key(h): f for f, h in HEADINGS.items()} | {_key(h): f for h, f in OTHER_NAMES.items()}
INTEGERS = {"export_value_usd"}
NUMBERS = {"quantity"}
MAX_ROWS = 20_000
XLSX_MAGIC = b"PK\x03\x04"


class UnreadableFile(ValueError):
    """The file is neither a CSV with a header row nor an Excel workbook we can read."""


@dataclass(frozen=True)
class Row:
    """One lot to send, and the row of the file it came from (1 = the header)."""

    line: int
    item: dict[str, Any]


def column(name: object) -> str | None:
    """The API field a header cell names, or None for a column we do not know."""
    text = str(name or "").strip().lstrip("\ufeff")
    if text.lower() in FIELDS:
        return text.lower()
    return ALIASES.get(_key(text))


def _value(field: str, raw: object) -> Any:
    if isinstance(raw, datetime):
        return raw.date().isoformat()
    if isinstance(raw, date):
        return raw.isoformat()
    if isinstance(raw, float) and raw.is_integer() and field not in NUMBERS:
        raw = int(raw)  # Excel keeps codes such as HS 940542 as numbers
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        if field in INTEGERS or field in NUMBERS:
            return raw
        return str(raw)
    text = str(raw).strip()
    if field in INTEGERS:
        try:
            return int(text.replace(",", ""))
        except ValueError:
            return text  # the registry says what is wrong with it
    if field in NUMBERS:
        try:
            return float(text.replace(",", ""))
        except ValueError:
            return text
    return text


def rows_of(table: list[list[object]]) -> list[Row]:
    """The items of a table whose first row is the header; empty cells are left out."""
    if not table:
        raise UnreadableFile("the file is empty")
    header = [column(cell) for cell in table[0]]
    if "number" not in header:
        raise UnreadableFile("the first row must name the columns, `number` among them")
    rows = []
    for offset, cells in enumerate(table[1:], start=2):
        item = {
            field: _value(field, cell)
            for field, cell in zip(header, cells, strict=False)
            if field is not None and cell is not None and str(cell).strip() != ""
        }
        if item:
            rows.append(Row(offset, item))
    if not rows:
        raise UnreadableFile("the file has no rows under its header")
    if len(rows) > MAX_ROWS:
        raise UnreadableFile(f"at most {MAX_ROWS} rows per file")
    return rows


def decode(data: bytes) -> str:
    """CSV text as Excel saves it: UTF-8 (with or without its BOM) or GB 18030."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            raise UnreadableFile("the CSV is neither UTF-8 nor GB 18030") from None


def read(data: bytes, filename: str = "") -> list[Row]:
    """The lots in a CSV or Excel (.xlsx) file, by content rather than name."""
    if data.startswith(XLSX_MAGIC):
        return rows_of(_sheet(data))
    if filename.lower().endswith((".xls", ".xlsx")):
        raise UnreadableFile("only .xlsx workbooks (Excel 2007 and later) or CSV")
    text = decode(data)
    table: list[list[object]] = [list(r) for r in csv.reader(io.StringIO(text))]
    return rows_of(table)


def _sheet(data: bytes) -> list[list[object]]:
    """The first sheet's cells. A damaged or foreign file fails inside openpyxl in many ways
    (not a zip, a missing part, malformed XML, odd cell types): each is an unreadable file."""
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheet = book.worksheets[0]
            return [list(r) for r in sheet.iter_rows(values_only=True, max_row=MAX_ROWS + 2)]
        finally:
            book.close()
    except Exception as exc:  # see above: the reason is shown to the user
        raise UnreadableFile(f"the workbook cannot be opened ({exc})") from None


def ndjson(rows: list[Row], uscc: str) -> str:
    """The body for the bulk endpoint: one lot a line, each owned by the signed-in
    enterprise (a `uscc` column in the file would be overridden, never trusted)."""
    return "".join(json.dumps(row.item | {"uscc": uscc}, ensure_ascii=False) + "\n" for row in rows)


def results(rows: list[Row], answer: dict[str, Any], lang: str = "zh-CN") -> list[dict[str, Any]]:
    """The bulk answer's lines mapped back to the file's rows: each row's number, lot number,
    and either the recorded id (and whether it was a duplicate) or the problems (in the
    page's language where the registry gave both). `answer` is the 200's body, or the 422
    problem's when no line was kept (its `errors` are the lines' errors)."""
    recorded = {r["line"]: r for r in answer.get("recorded") or []}
    errors = {e["line"]: e for e in answer.get("errors") or []}
    shown = []
    for sent, row in enumerate(rows, start=1):
        entry: dict[str, Any] = {"row": row.line, "number": row.item.get("number")}
        if sent in recorded:
            entry.update(
                ok=True, id=recorded[sent].get("id"), duplicate=recorded[sent].get("duplicate")
            )
        else:
            problem = errors.get(sent) or {}
            entry.update(
                ok=False,
                status=problem.get("status"),
                errors=[_reason(e, lang) for e in problem.get("errors") or []],
            )
        shown.append(entry)
    return shown


def _reason(error: dict[str, Any], lang: str) -> str:
    reason = (error.get("reason_zh") if lang != "en" else None) or error.get("reason") or ""
    field = error.get("field") or ""
    return f"{field}: {reason}" if field else str(reason)
