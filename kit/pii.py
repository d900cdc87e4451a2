"""Personal information (个人信息) in responses: who sees it in full, and masks for the rest.

个人信息保护法 art. 6 (minimum necessary) and 等保 2.0 level 3 ask that a person's name,
phone and ID number be shown only to those who need them. Here that is the enterprise
itself, the zone office, and the agency that owns the record; every other caller (another
enterprise, an inspector, another agency) gets the masked form: 张*, 欧阳**, 138****5678,
330226****1234.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from typing import TypeVar

from pydantic import BaseModel

from kit.auth import Principal

M = TypeVar("M", bound=BaseModel)

# 复姓, two characters each: kept whole, as the family name is what a masked name keeps.
_COMPOUND = (
    "欧阳司马诸葛上官东方皇甫尉迟公孙慕容长孙宇文司徒令狐夏侯端木独孤南宫西门轩辕呼延澹台"
    "百里东郭闻人万俟赫连钟离太史申屠濮阳淳于单于拓跋完颜司空左丘公冶宗政仲孙第五梁丘鲜于"
    "闾丘亓官羊舌微生公羊谷梁公西漆雕乐正"
)
COMPOUND_SURNAMES = frozenset(_COMPOUND[i : i + 2] for i in range(0, len(_COMPOUND), 2))
MOBILE = re.compile(r"^1\d{10}$")
LANDLINE = re.compile(r"^(0\d{2,3})-(\d{7,8})(?:-\d{1,6})?$")


def mask_name(name: str) -> str:
    """The family name and a star per other character: 张三 → 张*, 欧阳娜娜 → 欧阳**."""
    name = name.strip()
    if len(name) <= 1:
        return "*" * len(name)
    keep = 2 if len(name) >= 3 and name[:2] in COMPOUND_SURNAMES else 1
    return name[:keep] + "*" * (len(name) - keep)


def mask_phone(phone: str) -> str:
    """A mobile keeps its first 3 and last 4 digits (138****5678); a landline its area code
    and last 4 (0574-****5678); anything else its last 4."""
    phone = phone.strip()
    if MOBILE.match(phone):
        return f"{phone[:3]}****{phone[-4:]}"
    landline = LANDLINE.match(phone)
    if landline:
        return f"{landline.group(1)}-****{landline.group(2)[-4:]}"
    digits = re.sub(r"\D", "", phone)
    return f"****{digits[-4:]}" if len(digits) > 6 else "****"


def mask_id_number(number: str) -> str:
    """A resident ID number (身份证号) keeps its first 6 (the region) and last 4 characters:
    330226****1234."""
    number = number.strip()
    return f"{number[:6]}****{number[-4:]}" if len(number) > 10 else "****"


def sees_personal_data(
    principal: Principal,
    *,
    uscc: str | None,
    owner_agency: str | None,
    office_agencies: Collection[str],
) -> bool:
    """Whether `principal` is shown an enterprise's personal fields in full: the enterprise
    itself, the zone office (admin, or an agency holding a leadership group's office role)
    and the agency owning the record. Never another enterprise or an inspector (an officer
    is a person, not the agency: what the case needs they see masked)."""
    if principal.uscc is not None:
        return uscc is not None and principal.uscc == uscc
    if principal.is_admin:
        return True
    if principal.inspector_id is not None or principal.agency is None:
        return False
    return principal.agency == owner_agency or principal.agency in office_agencies


Mask = Callable[[str], str]


def masked(item: M, masks: Mapping[str, Mask]) -> M:
    """A copy of `item` with each named field (where set) replaced by its mask."""
    update = {f: mask(v) for f, mask in masks.items() if (v := getattr(item, f)) is not None}
    return item.model_copy(update=update)
