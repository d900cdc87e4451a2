"""Spreadsheets in and out: `.xlsx` and `.csv` read row by row, column headings mapped to
field names through one documented table (docs/api.md, "Imports"), rejected rows written
back as `.xlsx` with a reason column.

Reading streams: an `.xlsx`'s first worksheet parsed straight from the zip (its shared
strings as far as the rows need them), a `.csv` through a text wrapper; neither holds more
than one row at a time. A heading the table does not name is
reported and its column ignored, never guessed.
"""

from __future__ import annotations

import codecs
import csv
import io
import pyexpat
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal
from xml.etree import ElementTree

from defusedxml import ElementTree as SafeTree
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

from kit.problem_text import FIELD_LABELS

XLSX_MAGIC = b"PK\x03\x04"
CHUNK = 1 << 20
# The bulk of a workbook (its sheet and shared strings) goes through the C parser when Expat
# refuses entity-expansion bombs itself (2.4.1+; ElementTree never fetches external entities:
# the Python docs' "XML vulnerabilities" table), at about twice defusedxml's speed; the small
# parts, and everything with an older Expat, through defusedxml.
_BULK_ITERPARSE = ElementTree.iterparse if pyexpat.version_info >= (2, 4, 1) else SafeTree.iterparse

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
    _text_encoding(data)
    return "csv"


def _text_encoding(data: bytes) -> str:
    """The encoding of CSV text (`encoding_of`), after refusing binary data."""
    if b"\x00" in data[:CHUNK]:
        raise NotASpreadsheet("binary data: neither an .xlsx workbook nor CSV text")
    return encoding_of(data)


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


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


# What a damaged or hostile file raises while it is read: all of it "not a spreadsheet" (an
# encrypted zip entry is a RuntimeError, an unknown compression NotImplementedError)
_UNREADABLE = (
    KeyError,
    ValueError,
    IndexError,
    OSError,
    OverflowError,
    RuntimeError,
    NotImplementedError,
    EOFError,
    ElementTree.ParseError,
    zipfile.BadZipFile,
)
# Excel's last column, XFD: a reference past it is not a workbook's (and would have the
# row padded to it)
MAX_COLUMNS = 16_384


def _column(ref: str) -> int:
    """0-based column of a cell reference such as `AB12`; ValueError past `XFD`."""
    index = 0
    for ch in ref[:4]:
        if "A" <= ch <= "Z":
            index = index * 26 + ord(ch) - 64
        else:
            break
    if index > MAX_COLUMNS:
        raise ValueError(f"cell reference {ref[:12]!r} is past the last column, XFD")
    return index - 1


def _part(archive: zipfile.ZipFile, name: str) -> str | None:
    return name if name in archive.NameToInfo else None


def _first_sheet(archive: zipfile.ZipFile) -> tuple[str, str | None, str | None, bool]:
    """The first worksheet's part, the shared strings' and the styles' (None: absent), and
    whether dates count from 1904: from the workbook and its relationships."""
    workbook = SafeTree.fromstring(archive.read("xl/workbook.xml"))
    rels_xml = archive.read("xl/_rels/workbook.xml.rels")
    rels = {
        r.get("Id"): (r.get("Type", "").rpartition("/")[2], r.get("Target", ""))
        for r in SafeTree.fromstring(rels_xml)
    }

    def path(target: str) -> str:
        return target.lstrip("/") if target.startswith("/") else "xl/" + target

    first = next(e for e in workbook.iter() if _local(e.tag) == "sheet")
    rid = next(v for k, v in first.attrib.items() if _local(k) == "id")
    sheet = path(rels[rid][1])
    strings = next((path(t) for k, t in rels.values() if k == "sharedStrings"), None)
    styles = next((path(t) for k, t in rels.values() if k == "styles"), None)
    pr = next((e for e in workbook.iter() if _local(e.tag) == "workbookPr"), None)
    date1904 = pr is not None and pr.get("date1904", "").lower() in ("1", "true")
    return sheet, strings and _part(archive, strings), styles and _part(archive, styles), date1904


class _SharedStrings:
    """The workbook's shared strings, parsed from the zip as far as a cell needs them: the
    heading row (the first few) without the whole table, the rows' strings as they come.
    Each string's runs are joined; phonetic hints (rPh) are left out."""

    def __init__(self, archive: zipfile.ZipFile, name: str | None):
        self._strings: list[str] = []
        self._stream = archive.open(name) if name is not None else None
        self._events = _BULK_ITERPARSE(self._stream, events=("end",)) if self._stream else None

    def __getitem__(self, index: int) -> str:
        while index >= len(self._strings) and self._events is not None:
            for _, elem in self._events:
                if _local(elem.tag) != "si":
                    continue
                self._strings.append(
                    "".join(
                        t.text or ""
                        for child in elem
                        if _local(child.tag) in ("t", "r")
                        for t in child.iter()
                        if _local(t.tag) == "t"
                    )
                )
                elem.clear()
                break
            else:
                self.close()
        return self._strings[index]

    def close(self) -> None:
        """Stop reading the table (the rest, if any, is never parsed)."""
        if self._stream is not None:
            self._stream.close()
        self._stream = self._events = None


def _date_styles(archive: zipfile.ZipFile, name: str | None) -> dict[int, bool]:
    """Cell style index → True for a date format, False for a duration ([h]:mm); others absent."""
    if name is None:
        return {}
    root = SafeTree.fromstring(archive.read(name))
    custom = {
        int(e.get("numFmtId", "0")): e.get("formatCode", "")
        for e in root.iter()
        if _local(e.tag) == "numFmt"
    }
    xfs = next((e for e in root if _local(e.tag) == "cellXfs"), None)
    found: dict[int, bool] = {}
    for index, xf in enumerate(xfs if xfs is not None else ()):
        fmt_id = int(xf.get("numFmtId", "0"))
        code = custom.get(fmt_id) or BUILTIN_FORMATS.get(fmt_id, "")
        if code and is_date_format(code):
            found[index] = not is_timedelta_format(code)
    return found


def _xlsx_rows(data: bytes) -> tuple[int | None, Iterator[tuple[int, list[str]]]]:
    """The first worksheet's rows, parsed as a stream straight from the zip (the sheet is
    never held whole), each cell as `cell_text` gives it; and its last row number as its
    <dimension> says, when its writer gave one."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        sheet, strings_part, styles_part, date1904 = _first_sheet(archive)
        strings = _SharedStrings(archive, strings_part)
        dates = _date_styles(archive, styles_part)
        stream = archive.open(sheet)
        events = _BULK_ITERPARSE(stream, events=("start", "end"))
        last: int | None = None
        for event, elem in events:
            tag = _local(elem.tag)
            if event == "start" and tag == "sheetData":
                parent = elem
                break
            if event == "end" and tag == "dimension":
                end = elem.get("ref", "").rpartition(":")[2]
                digits = "".join(ch for ch in end if ch.isdigit())
                last = int(digits) if digits else None
        else:
            return last, iter(())
    except (StopIteration, *_UNREADABLE) as exc:
        raise NotASpreadsheet(f"not an .xlsx workbook: {exc!r}") from exc
    epoch = CALENDAR_MAC_1904 if date1904 else CALENDAR_WINDOWS_1900

    def value(cell: ElementTree.Element, kind: str | None) -> Any:
        text: str | None = None
        for child in cell:
            name = _local(child.tag)
            if name == "v":
                text = child.text
            elif name == "is":
                return "".join(t.text or "" for t in child.iter() if _local(t.tag) == "t")
        if text is None:
            return None
        if kind == "s":
            return strings[int(text)]
        if kind in ("str", "e", "inlineStr"):
            return text
        if kind == "b":
            return text.strip() in ("1", "true")
        number: float | int = float(text) if any(c in text for c in ".eE") else int(text)
        style = cell.get("s")
        if style is not None and int(style) in dates:
            try:
                return from_excel(number, epoch, timedelta=not dates[int(style)])
            except (OverflowError, ValueError):  # no such date: shown as Excel shows it
                return "#VALUE!"
        return number

    def rows() -> Iterator[tuple[int, list[str]]]:
        number = 0
        try:
            for event, elem in events:
                if event != "end" or _local(elem.tag) != "row":
                    continue
                number = int(elem.get("r") or number + 1)
                cells: list[str] = []
                for cell in elem:
                    ref = cell.get("r")
                    column = _column(ref) if ref else len(cells)
                    if column > len(cells):
                        cells += [""] * (column - len(cells))
                    cells.append(cell_text(value(cell, cell.get("t"))))
                parent.clear()
                yield number, cells
        except _UNREADABLE as exc:
            raise NotASpreadsheet(f"the .xlsx workbook cannot be read: {exc!r}") from exc
        finally:
            stream.close()
            strings.close()
            archive.close()

    return last, rows()


def _csv_rows(data: bytes) -> tuple[int | None, Iterator[tuple[int, list[str]]]]:
    encoding = _text_encoding(data)  # one pass to choose the encoding, one to read
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    return lines, _csv_lines(data, encoding)


def _csv_lines(data: bytes, encoding: str) -> Iterator[tuple[int, list[str]]]:
    text = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")
    reader = csv.reader(text)
    try:
        for cells in reader:
            yield reader.line_num, [c.strip() for c in cells]
    except csv.Error as exc:
        raise NotASpreadsheet(f"the CSV text cannot be read: {exc}") from exc


def read(data: bytes, keys: Mapping[str, str] | None = None) -> Sheet:
    """The sheet in `data` (.xlsx or .csv, sniffed): headings now, rows as they are read.
    Headings are looked up in `keys` (`heading_keys`), the imports' table by default."""
    last, rows = _xlsx_rows(data) if data.startswith(XLSX_MAGIC) else _csv_rows(data)
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
