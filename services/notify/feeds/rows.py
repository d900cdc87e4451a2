"""A WTO ePing notifications export row → a TBT bulletin (`BulletinIn`'s fields), or the
reason (field, zh-CN, en) it is refused. Pure: no database.

The headings are those of ePing's search export (Notifications.xlsx): Document symbol,
Notifying Member, Title, Distribution date, Final date for comments, Products, HS Codes,
Objectives, Description… The member's markets are its country, or each member state for
"European Union"; the HS codes are the products the bulletin reaches.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from kit.feed_imports import RowRejected, feed_labels
from kit.iso3166 import codes_of
from kit.spreadsheets import heading_keys

KIND = "eping"
TABLE: dict[str, tuple[str, ...]] = {
    "symbol": ("Document symbol", "Document symbol(s)", "Symbol", "Notification symbol"),
    "member": ("Notifying Member", "Notifying member(s)", "Member"),
    "title": ("Title",),
    "distribution_date": ("Distribution date", "Date of distribution"),
    "comment_deadline": ("Final date for comments", "Comment deadline"),
    "adoption_date": ("Proposed date of adoption", "Date of adoption"),
    "notification_type": ("Notification type", "Type"),
    "products": ("Products", "Products covered"),
    "hs_codes": ("HS Codes", "HS Code", "HS code(s)", "Harmonized System (HS) codes"),
    "ics_codes": ("ICS Codes", "ICS Code"),
    "objectives": ("Objectives", "Objective"),
    "keywords": ("Keywords",),
    "description": ("Description", "Description of content"),
    "document": ("Notified document", "Notified documents", "Link"),
}
KEYS = heading_keys(TABLE)
REQUIRED = ("symbol", "member")
# the fields' Chinese names: kit.problem_text.FIELD_LABELS's, these where it has none
LABELS = feed_labels(
    TABLE,
    {
        "symbol": "通报文号",
        "member": "通报成员",
        "distribution_date": "分发日期",
        "comment_deadline": "评议截止日期",
        "adoption_date": "拟批准日期",
        "notification_type": "通报类型",
        "ics_codes": "ICS 编码",
        "objectives": "目的",
        "keywords": "关键词",
        "document": "通报文件",
    },
)
# "8509", "8509.40", "85 16 10", "851610 - Electric water heaters": the code, a description
_HS = re.compile(r"^(\d{2}(?:[.\s]?\d{2}){0,4})(?:\s*[-–:]\s*\S.*)?$")
_SPLIT = re.compile(r"[;,，；\n]+")
_NOT_A_DATE = {"", "not applicable", "n/a", "na", "-", "not stated", "to be determined"}
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d %B %Y", "%d %b %Y")


def normalise_symbol(raw: str) -> str:
    """A document symbol as compared: no spaces."""
    return "".join(raw.split())


def hs_codes(text: str) -> list[str]:
    """The HS codes (2 to 10 digits) a cell lists; `RowRejected` for one that is not a code.
    A code's description after " - " is ignored."""
    codes: list[str] = []
    for part in _SPLIT.split(text):
        part = part.strip()
        if not part:
            continue
        found = _HS.match(part)
        if found is None:
            raise RowRejected(
                "hs_codes",
                f"{LABELS['hs_codes']}“{part}”不是 2 至 10 位数字的编码",
                f"'{part}' is not an HS code (2 to 10 digits)",
            )
        code = re.sub(r"\D", "", found.group(1))
        if code not in codes:
            codes.append(code)
    return codes


def day(values: dict[str, str], field: str) -> date | None:
    """A date cell: an ISO date (what an .xlsx date cell reads as) or a written one."""
    text = values.get(field, "").strip()
    if text.casefold() in _NOT_A_DATE:
        return None
    text = text[:10] if re.match(r"^\d{4}-\d{2}-\d{2}T", text) else text
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise RowRejected(
        field, f"{LABELS[field]}“{text}”不是日期", f"'{text}' is not a date (such as 2026-03-31)"
    )


def markets(values: dict[str, str]) -> list[str]:
    """The member's markets: its country, or each member state for "European Union"."""
    name = " ".join(values.get("member", "").split())
    if not name:
        raise RowRejected("member", "缺少通报成员", "the notifying member is missing")
    codes = codes_of(name)
    if codes is None:
        raise RowRejected(
            "member", f"通报成员“{name}”不是已知的国家或地区名称", f"unknown member '{name}'"
        )
    return list(codes)


def bulletin_fields(values: dict[str, str]) -> dict[str, Any]:
    """The `BulletinIn` fields of one row (a TBT notification); `RowRejected` otherwise."""
    raw = values.get("symbol", "")
    symbol = normalise_symbol(raw)
    if not symbol:
        raise RowRejected("symbol", "缺少通报文号", "the document symbol is missing")
    if not symbol.upper().startswith("G/TBT/"):
        raise RowRejected(
            "symbol",
            f"“{raw}”不是 TBT 通报（只导入 G/TBT/N/… 文号）",
            f"'{raw}' is not a TBT notification (only G/TBT/N/… symbols are imported)",
        )
    member = " ".join(values.get("member", "").split())
    products_text = " ".join(values.get("products", "").split())
    title = " ".join(values.get("title", "").split()) or products_text or symbol
    body = [
        f"{label}: {text}"
        for label, text in (
            ("Products", products_text),
            ("Description", values.get("description", "").strip()),
            ("Keywords", values.get("keywords", "").strip()),
            ("Notified document", values.get("document", "").strip()),
        )
        if text
    ]
    return {
        "kind": "wto_tbt",
        "symbol": symbol,
        "member": member[:60],
        "title": title[:500],
        "products": hs_codes(values.get("hs_codes", "")),
        "markets": markets(values),
        "objective": values.get("objectives", "").strip()[:2000] or None,
        "body": "\n".join(body)[:20_000] or None,
        "comment_deadline": day(values, "comment_deadline"),
        "adoption_date": day(values, "adoption_date"),
    }
