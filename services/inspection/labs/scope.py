"""Accreditation scope (认可/资质认定范围): which products and standards a lab may test.

An entry names the product by an HS code prefix or by name, and one standard. A standard
is compared without spaces and case (`GB 7000.1-2015` = `gb7000.1-2015`); an entry without
an edition year (`GB 7000.1`) covers every edition of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

_SPACES = re.compile(r"[\s\u3000]+")
# the edition year after the last hyphen: GB 7000.1-2015, EN 60598-1:2015 (with a colon)
_EDITION = re.compile(r"[-:](19|20)\d{2}$")


def normalise_standard(code: str) -> str:
    """Upper case, no spaces (full-width ones included), full-width hyphens made ASCII."""
    return _SPACES.sub("", code.replace("－", "-").replace("：", ":")).upper()


def _base(code: str) -> str:
    return _EDITION.sub("", code)


def standard_covers(entry: str, wanted: str) -> bool:
    """The entry's standard covers the wanted one: the same, or the entry names no edition
    and the wanted one is an edition of it."""
    e, w = normalise_standard(entry), normalise_standard(wanted)
    return e == w or (_base(e) == e and _base(w) == e)


def product_covers(entry: dict[str, Any], hs_code: str, product: str | None) -> bool:
    """An HS prefix covers codes starting with it; a product name covers the same name
    (case and spaces ignored)."""
    prefix = entry.get("hs_prefix")
    if prefix and hs_code.startswith(prefix):
        return True
    name = entry.get("product")
    return bool(name) and bool(product) and _fold(str(name)) == _fold(product or "")


def _fold(text: str) -> str:
    return _SPACES.sub("", text).casefold()


@dataclass(frozen=True)
class Missing:
    """Why a lab cannot take a request: the field to blame and the reason, in English and
    in Chinese."""

    field: str
    reason: str
    reason_zh: str


def missing_scope(
    *,
    scope: list[dict[str, Any]],
    valid_from: date,
    valid_to: date,
    active: bool,
    hs_code: str,
    product: str | None,
    standard: str,
    on: date,
    accreditation: str,
) -> Missing | None:
    """None when the lab is accredited, on `on`, for the product and standard; else what
    is missing (naming the scope asked for)."""
    if not active:
        return Missing(
            "lab_id",
            f"the lab ({accreditation}) is not active on the platform",
            f"该实验室（{accreditation}）在平台上未启用",
        )
    if on < valid_from:
        return Missing(
            "lab_id",
            f"accreditation {accreditation} is valid from {valid_from}",
            f"资质 {accreditation} 自 {valid_from} 起有效",
        )
    if on > valid_to:
        return Missing(
            "lab_id",
            f"accreditation {accreditation} expired on {valid_to}",
            f"资质 {accreditation} 已于 {valid_to} 到期",
        )
    for entry in scope:
        if standard_covers(entry["standard"], standard) and product_covers(entry, hs_code, product):
            return None
    what = f"HS {hs_code}" + (f" ({product})" if product else "")
    what_zh = f"HS {hs_code}" + (f"（{product}）" if product else "")
    return Missing(
        "standard",
        f"accreditation {accreditation} has no scope for {what} with standard {standard}",
        f"资质 {accreditation} 的认可范围不包括按标准 {standard} 检测 {what_zh}",
    )
