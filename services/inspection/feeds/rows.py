"""An EU Safety Gate alerts export row → a risk signal (`SignalIn`'s fields), or the reason
(field, zh-CN, en) it is refused. Pure: no database.

The headings are those of the public export (Safety Gate's "Export to Excel"): the older
weekly layout names the notifying country "Alert submitted by" and gives batch number and
barcode in one column; the newer one has "Notifying country", "Batch number" and "Barcode"
apart and splits the measures into compulsory and voluntary. Both are read.
"""

from __future__ import annotations

import re
from typing import Any

from kit.feed_imports import RowRejected, feed_labels
from kit.iso3166 import codes_of
from kit.spreadsheets import heading_keys

KIND = "safety_gate"
TABLE: dict[str, tuple[str, ...]] = {
    "alert_number": ("Alert number", "Alert No.", "Alert reference"),
    "notifying_country": ("Notifying country", "Alert submitted by"),
    "product_category": ("Product category", "Category"),
    "product": ("Product",),
    "name": ("Name", "Product name"),
    "brand": ("Brand",),
    "model": ("Type / number of model", "Model / type", "Model/type", "Type/model"),
    "batch_barcode": ("Batch number / Barcode",),
    "batch_number": ("Batch number",),
    "barcode": ("Barcode",),
    "country_of_origin": ("Country of origin",),
    "risk_type": ("Risk type",),
    "risk_level": ("Type of alert", "Risk level"),
    "measures": ("Measures adopted by notifying country", "Measures", "Measures taken"),
    "measures_compulsory": ("Compulsory measures",),
    "measures_voluntary": ("Voluntary measures",),
    "description": ("Description",),
    "risk": ("Risk",),
}
KEYS = heading_keys(TABLE)
REQUIRED = ("alert_number", "notifying_country")
# the fields' Chinese names: kit.problem_text.FIELD_LABELS's, these where it has none
LABELS = feed_labels(
    TABLE,
    {
        "alert_number": "通报编号",
        "notifying_country": "通报国",
        "product_category": "产品类别",
        "name": "产品名称",
        "batch_barcode": "批次号/条码",
        "barcode": "条码",
        "country_of_origin": "原产国",
        "risk_type": "风险类型",
        "measures": "措施",
        "measures_compulsory": "强制措施",
        "measures_voluntary": "自愿措施",
        "risk": "风险",
    },
)
# What the export writes where it knows nothing: blank for matching, never a brand "Unknown".
NOTHING = {"", "unknown", "unknown brand", "no brand", "n/a", "na", "-", "none", "not known"}
_ALERT = re.compile(r"^[A-Z0-9]{1,4}/\d{3,6}/\d{2}$")
_BARCODE = re.compile(r"(?<!\d)(\d{8}|\d{12,14})(?!\d)")
_LEVELS = {"serious": "serious", "high": "high", "medium": "medium", "low": "low"}


def normalise_alert(raw: str) -> str:
    """An alert number as compared: no spaces, upper case."""
    return "".join(raw.split()).upper()


def _text(values: dict[str, str], field: str) -> str | None:
    value = " ".join(values.get(field, "").split())
    return None if value.casefold() in NOTHING else value


def country(values: dict[str, str], field: str, *, required: bool = False) -> str | None:
    """The ISO code of one country named in English; a name of no country, or of several
    (such as "European Union"), is refused, never guessed."""
    name = _text(values, field)
    if name is None:
        if required:
            raise RowRejected(field, f"缺少{LABELS[field]}", f"{field} is missing")
        return None
    codes = codes_of(name)
    if codes is None:
        raise RowRejected(
            field, f"{LABELS[field]}“{name}”不是已知的国家名称", f"unknown country '{name}'"
        )
    if len(codes) != 1:
        raise RowRejected(
            field,
            f"{LABELS[field]}“{name}”指多个国家，不是一个国家",
            f"'{name}' names several countries, not one",
        )
    return codes[0]


def risk_level(text: str | None) -> str:
    """ "Serious risk" → serious, …; Safety Gate's "Other risk levels" (and nothing) → medium."""
    for word in (text or "").casefold().split():
        if word in _LEVELS:
            return _LEVELS[word]
    return "medium"


def _codes(values: dict[str, str]) -> tuple[str | None, str | None]:
    """(batch number, barcode) from their own columns, or from the combined one: a run of
    8, 12, 13 or 14 digits is the barcode (EAN-8, UPC, EAN-13, GTIN-14), the rest the batch."""
    batch, barcode = _text(values, "batch_number"), _text(values, "barcode")
    both = _text(values, "batch_barcode")
    if both is not None:
        found = _BARCODE.search(both)
        if barcode is None and found:
            barcode = found.group(1)
            both = (both[: found.start()] + both[found.end() :]).strip(" ,;/-")
        rest = re.sub(r"^(batch( number)?|lot)\s*[:.]?\s*", "", both, flags=re.I).strip()
        if batch is None and rest and rest.casefold() not in NOTHING:
            batch = rest
    if barcode is not None:
        digits = re.sub(r"\D", "", barcode)
        barcode = digits if 8 <= len(digits) <= 14 else None
    if batch is not None and len(batch) > 64:
        batch = None  # a list of lots is no key: kept in the description
    return batch, barcode


def signal_fields(values: dict[str, str]) -> dict[str, Any]:
    """The `SignalIn` fields of one row; `RowRejected` for a row the importer cannot take.
    The market the alert comes from is the signal's destination (a batch shipped there
    matches on it)."""
    raw_alert = values.get("alert_number", "")
    alert = normalise_alert(raw_alert)
    if not alert:
        raise RowRejected("alert_number", "缺少通报编号", "the alert number is missing")
    if not _ALERT.match(alert):
        raise RowRejected(
            "alert_number",
            f"通报编号“{raw_alert}”格式不对（应如 A12/00123/24）",
            f"'{raw_alert}' is not a Safety Gate alert number (such as A12/00123/24)",
        )
    notifying = country(values, "notifying_country", required=True)
    origin = country(values, "country_of_origin")
    batch, barcode = _codes(values)
    model = _text(values, "model")
    risk_type = _text(values, "risk_type")
    measures = [
        m
        for m in (
            _text(values, f) for f in ("measures", "measures_compulsory", "measures_voluntary")
        )
        if m
    ]
    notes = [
        f"{label}: {text}"
        for label, text in (
            ("Description", _text(values, "description")),
            ("Risk", _text(values, "risk")),
            ("Risk type", risk_type if risk_type and len(risk_type) > 60 else None),
            ("Type / number of model", model if model and len(model) > 100 else None),
            ("Batch number / Barcode", _text(values, "batch_barcode")),
        )
        if text
    ]
    fields: dict[str, Any] = {
        "kind": "foreign_notification",
        "reference": alert,
        "notifying_country": notifying,
        "destination": notifying,
        "country_of_origin": origin,
        "risk_type": (
            risk_type.split(",")[0][:60] if risk_type and len(risk_type) > 60 else risk_type
        ),
        "risk_level": risk_level(_text(values, "risk_level")),
        "product_category": (_text(values, "product_category") or "")[:100] or None,
        "product": (_text(values, "product") or "")[:200] or None,
        "name": (_text(values, "name") or "")[:200] or None,
        "brand": (_text(values, "brand") or "")[:100] or None,
        "model": model if model and len(model) <= 100 else None,
        "batch_number": batch,
        "barcode": barcode,
        "measures_taken": "; ".join(measures)[:1000] or None,
        "description": "\n".join(notes)[:4000] or None,
    }
    return {k: v for k, v in fields.items() if v is not None}
