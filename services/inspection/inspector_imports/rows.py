"""An inspector roster row → the pool's fields, or the reason (field, zh-CN, en) it is
refused. Pure: no database.

The headings are those an agency's own roster (执法人员名单) carries; each field's canonical
heading is its label in kit.problem_text.FIELD_LABELS (a name: 姓名), listed first (docs/api.md, "Imports").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kit.feed_imports import RowRejected
from kit.industries import INDUSTRY_NAMES, Industry
from kit.problem_text import FIELD_LABELS
from kit.spreadsheets import heading_keys

KIND = "inspectors"
FIELDS = ("badge_number", "name", "agency", "unit", "specialties", "active")
_ALIASES: dict[str, tuple[str, ...]] = {
    "badge_number": ("执法证编号", "执法证件号", "证件号", "Badge number", "Badge"),
    "name": ("名称", "Name"),
    "agency": ("所属部门", "部门代码", "Agency", "Agency code"),
    "unit": ("所在单位", "科室", "Unit", "Station"),
    "specialties": ("专业", "擅长行业", "Specialties", "Industries"),
    "active": ("在岗", "状态", "Active"),
}
# a person's name is 姓名, not the 名称 of an organisation or a thing
LABELS = {f: FIELD_LABELS[f] for f in FIELDS} | {"name": "姓名"}
TABLE: dict[str, tuple[str, ...]] = {f: (LABELS[f], *_ALIASES[f]) for f in FIELDS}
KEYS = heading_keys(TABLE)
REQUIRED = ("badge_number", "name")
_BADGE = re.compile(r"^[A-Za-z0-9-]{4,40}$")
_SPLIT = re.compile(r"[,，;；、/\s]+")
_INDUSTRY = {
    **{i.value: i for i in Industry},
    **{zh: i for i, (zh, _en) in INDUSTRY_NAMES.items()},
    **{en.casefold(): i for i, (_zh, en) in INDUSTRY_NAMES.items()},
    "汽配": Industry.auto_parts,
    "五金": Industry.hardware,
    "家具": Industry.furniture,
    "户外休闲用品": Industry.outdoor,
}
_YES = {"是", "在岗", "有效", "启用", "yes", "y", "true", "1", "active"}
_NO = {"否", "离岗", "停用", "无效", "no", "n", "false", "0", "inactive"}


@dataclass
class InspectorRow:
    """A roster row: the badge number it is idempotent by and the fields the file gives
    (None: the cell is blank, so an update leaves the field as it is)."""

    badge_number: str
    name: str
    agency: str | None
    unit: str | None
    specialties: list[str] | None
    active: bool | None


def normalise_badge(raw: str) -> str:
    """A badge number as compared: no surrounding spaces."""
    return raw.strip()


def _text(values: dict[str, str], field: str, limit: int) -> str | None:
    value = " ".join(values.get(field, "").split())
    if len(value) > limit:
        raise RowRejected(
            field,
            f"{LABELS[field]}不得超过 {limit} 个字符",
            f"{field} may be at most {limit} characters",
        )
    return value or None


def _specialties(text: str) -> list[str]:
    found: list[str] = []
    for item in (t for t in _SPLIT.split(text) if t):
        industry = _INDUSTRY.get(item) or _INDUSTRY.get(item.casefold())
        if industry is None:
            names = "、".join(zh for zh, _ in INDUSTRY_NAMES.values())
            raise RowRejected(
                "specialties",
                f"专业领域“{item}”不在行业目录中（可填：{names}）",
                f"unknown industry '{item}' (one of: {', '.join(i.value for i in Industry)})",
            )
        if industry.value not in found:
            found.append(industry.value)
    if len(found) > 20:
        raise RowRejected("specialties", "专业领域最多 20 项", "at most 20 specialties")
    return found


def _active(text: str) -> bool:
    word = text.strip().casefold()
    if word in _YES:
        return True
    if word in _NO:
        return False
    raise RowRejected(
        "active",
        f"在岗状态“{text}”无效（可填：是、否）",
        f"unknown active flag '{text}' (yes or no)",
    )


def parse(values: dict[str, str]) -> InspectorRow:
    """A roster row, or `RowRejected`."""
    for field in REQUIRED:
        if not values.get(field, "").strip():
            raise RowRejected(field, f"缺少必填项：{LABELS[field]}", f"{field} is required")
    badge = normalise_badge(values["badge_number"])
    if not _BADGE.match(badge):
        raise RowRejected(
            "badge_number",
            f"执法证号“{badge}”无效：应为 4–40 位字母、数字或连字符",
            f"invalid badge number '{badge}': 4 to 40 letters, digits or hyphens",
        )
    name = _text(values, "name", 100)
    assert name is not None  # required above
    specialties = values.get("specialties", "").strip()
    active = values.get("active", "").strip()
    return InspectorRow(
        badge_number=badge,
        name=name,
        agency=_text(values, "agency", 200),
        unit=_text(values, "unit", 100),
        specialties=_specialties(specialties) if specialties else None,
        active=_active(active) if active else None,
    )
