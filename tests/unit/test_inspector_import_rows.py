"""An inspector roster row → the pool's fields, or the reason it is refused (pure)."""

from __future__ import annotations

import pytest

from kit.feed_imports import RowRejected
from kit.spreadsheets import field_of
from services.inspection.inspector_imports.rows import KEYS, parse


def test_headings_in_chinese_and_english_name_the_fields() -> None:
    assert [
        field_of(h, KEYS) for h in ["执法证号", "姓名", "部门", "单位", "专业领域", "在岗"]
    ] == [
        "badge_number",
        "name",
        "agency",
        "unit",
        "specialties",
        "active",
    ]
    assert field_of(" Badge Number ", KEYS) == "badge_number"
    assert field_of("企业名称", KEYS) is None  # the enterprise table is not this one


def test_a_full_row_and_a_minimal_one() -> None:
    row = parse(
        {
            "badge_number": " NH-2019-0012 ",
            "name": "王  芳",
            "agency": "县市场监管局",
            "unit": "宁海所",
            "specialties": "文具、Lighting, molds，文具",
            "active": "否",
        }
    )
    assert (row.badge_number, row.name, row.agency, row.unit) == (
        "NH-2019-0012",
        "王 芳",
        "县市场监管局",
        "宁海所",
    )
    assert row.specialties == ["stationery", "lighting", "molds"] and row.active is False
    bare = parse({"badge_number": "A123", "name": "李四"})
    assert (bare.agency, bare.unit, bare.specialties, bare.active) == (None, None, None, None)


@pytest.mark.parametrize(
    ("values", "field", "zh"),
    [
        ({"name": "李四"}, "badge_number", "缺少必填项：执法证号"),
        ({"badge_number": "A123"}, "name", "缺少必填项：姓名"),
        ({"badge_number": "A 123", "name": "李四"}, "badge_number", "执法证号“A 123”无效"),
        ({"badge_number": "A1", "name": "李四"}, "badge_number", "执法证号“A1”无效"),
        ({"badge_number": "A123", "name": "李" * 101}, "name", "姓名不得超过 100 个字符"),
        ({"badge_number": "A123", "name": "李四", "specialties": "纺织"}, "specialties", "纺织"),
        ({"badge_number": "A123", "name": "李四", "active": "也许"}, "active", "在岗状态“也许”"),
    ],
)
def test_bad_rows_name_their_field_in_both_languages(
    values: dict[str, str], field: str, zh: str
) -> None:
    with pytest.raises(RowRejected) as caught:
        parse(values)
    assert caught.value.field == field
    assert caught.value.zh.startswith(zh) or zh in caught.value.zh
    assert caught.value.en and caught.value.en != caught.value.zh
