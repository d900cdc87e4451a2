"""Pure logic of the public testing platform and the quality analysis: accreditation scope
matching (standards with and without editions, HS prefixes, product names, validity) and
calendar quarters in China time."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from services.inspection.analysis.quarters import FIRST, Quarter, ensure_analysable
from services.inspection.analysis.schemas import ReleaseIn
from services.inspection.labs import scope
from services.inspection.labs.schemas import LabIn, ResultIn, ScopeEntry

SCOPE = [
    {"hs_prefix": "9405", "standard": "GB 7000.1"},
    {"hs_prefix": "940542", "standard": "EN 60598-1:2015"},
    {"product": "运动杖 trekking poles", "standard": "EN ISO 20957-1"},
]


def _missing(**overrides: object) -> scope.Missing | None:
    args: dict = {  # type: ignore[type-arg]
        "scope": SCOPE,
        "valid_from": date(2024, 1, 1),
        "valid_to": date(2026, 12, 31),
        "active": True,
        "hs_code": "940542",
        "product": "LED 吸顶灯",
        "standard": "GB 7000.1-2015",
        "on": date(2026, 6, 1),
        "accreditation": "CNAS L1234",
    }
    args.update(overrides)
    return scope.missing_scope(**args)


@pytest.mark.parametrize(
    ("entry", "wanted", "covers"),
    [
        ("GB 7000.1", "GB 7000.1-2015", True),  # no edition: every edition
        ("GB 7000.1-2015", "GB 7000.1-2015", True),
        ("GB 7000.1-2015", "gb7000.1-2015", True),  # spaces and case do not matter
        ("GB 7000.1-2015", "GB 7000.1-2007", False),  # another edition
        ("GB 7000.1-2015", "GB 7000.1", False),  # an edition does not cover them all
        ("GB 7000.1", "GB 7000.17-2003", False),  # another part
        ("EN 60598-1", "EN 60598-1:2015", True),
        ("EN 60598-1", "EN 60598-2", False),
        ("GB/T 2828.1", "GB/T 2828.1－2012", True),  # a full-width hyphen
    ],
)
def test_standard_coverage(entry: str, wanted: str, covers: bool) -> None:
    assert scope.standard_covers(entry, wanted) is covers


def test_product_by_hs_prefix_or_name() -> None:
    assert scope.product_covers({"hs_prefix": "9405"}, "940542", None)
    assert not scope.product_covers({"hs_prefix": "9405"}, "940390", None)
    named = {"product": "运动杖 Trekking Poles"}
    assert scope.product_covers(named, "950699", "运动杖 trekking poles")
    assert scope.product_covers(named, "950699", "运动杖trekkingpoles")
    assert not scope.product_covers(named, "950699", "登山包")
    assert not scope.product_covers(named, "950699", None)


def test_a_covered_request_misses_nothing() -> None:
    assert _missing() is None
    assert _missing(standard="EN 60598-1:2015") is None
    assert (
        _missing(hs_code="950699", product="运动杖 trekking poles", standard="EN ISO 20957-1")
        is None
    )


def test_the_missing_scope_is_named() -> None:
    missing = _missing(standard="EN 60598-1:2015", hs_code="940510")
    assert missing is not None and missing.field == "standard"
    assert "HS 940510" in missing.reason and "EN 60598-1:2015" in missing.reason
    assert "CNAS L1234" in missing.reason
    assert missing.reason_zh == (
        "资质 CNAS L1234 的认可范围不包括按标准 EN 60598-1:2015 检测 HS 940510（LED 吸顶灯）"
    )
    other = _missing(hs_code="950699", product="登山包", standard="EN ISO 20957-1")
    assert other is not None and "登山包" in other.reason


def test_validity_and_activity() -> None:
    expired = _missing(on=date(2027, 1, 1))
    assert (
        expired is not None
        and expired.field == "lab_id"
        and "expired on 2026-12-31" in expired.reason
    )
    assert _missing(on=date(2026, 12, 31)) is None  # the last day still counts
    early = _missing(on=date(2023, 12, 31))
    assert early is not None and "valid from 2024-01-01" in early.reason
    inactive = _missing(active=False)
    assert inactive is not None and inactive.field == "lab_id"
    assert expired.reason_zh == "资质 CNAS L1234 已于 2026-12-31 到期"
    assert early.reason_zh == "资质 CNAS L1234 自 2024-01-01 起有效"
    assert inactive.reason_zh == "该实验室（CNAS L1234）在平台上未启用"


@pytest.mark.parametrize(
    ("text", "year", "number", "first", "last_next"),
    [
        ("2026Q1", 2026, 1, date(2026, 1, 1), date(2026, 4, 1)),
        ("2026Q3", 2026, 3, date(2026, 7, 1), date(2026, 10, 1)),
        ("2026q4", 2026, 4, date(2026, 10, 1), date(2027, 1, 1)),
    ],
)
def test_quarter_parsing(text: str, year: int, number: int, first: date, last_next: date) -> None:
    quarter = Quarter.parse(text)
    assert (quarter.year, quarter.number) == (year, number)
    assert quarter.first_day == first and quarter.next_first_day == last_next
    assert str(quarter) == text.upper()


@pytest.mark.parametrize("text", ["2026Q5", "2026Q0", "2026-Q3", "26Q3", "2026", "Q3 2026", ""])
def test_bad_quarters(text: str) -> None:
    with pytest.raises(ValueError, match="quarter"):
        Quarter.parse(text)


def test_quarters_are_china_time() -> None:
    # 16:00 UTC on 30 September is already 1 October in Ninghai
    assert Quarter.of(datetime(2026, 9, 30, 15, 59, tzinfo=UTC)) == Quarter(2026, 3)
    assert Quarter.of(datetime(2026, 9, 30, 16, 0, tzinfo=UTC)) == Quarter(2026, 4)
    assert Quarter(2026, 4).start == datetime(2026, 9, 30, 16, 0, tzinfo=UTC)
    assert Quarter(2026, 4).end == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)


def test_quarter_neighbours() -> None:
    assert Quarter(2026, 4).next() == Quarter(2027, 1)
    assert Quarter(2027, 1).previous() == Quarter(2026, 4)
    assert Quarter(2026, 2).previous() == Quarter(2026, 1)
    assert Quarter(2026, 1) < Quarter(2026, 2) < Quarter(2027, 1)


def test_release_quarter_is_normalised() -> None:
    assert ReleaseIn(quarter="2026Q3", industry="lighting").quarter == "2026Q3"  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        ReleaseIn(quarter="2026Q9", industry="lighting")  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["2000Q1", "2014Q4"])
def test_release_quarter_not_before_the_programme(text: str) -> None:
    assert Quarter(2015, 1) == FIRST
    assert ReleaseIn(quarter="2015Q1", industry="lighting").quarter == "2015Q1"  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="should match pattern") as raised:
        ReleaseIn(quarter=text, industry="lighting")  # type: ignore[arg-type]
    assert raised.value.errors()[0]["loc"] == ("quarter",)
    with pytest.raises(ValueError, match="before 2015Q1"):
        ensure_analysable(Quarter.parse(text))


def test_report_number_loses_surrounding_spaces() -> None:
    values = [{"item": "耐压", "value": "1500 V", "outcome": "pass"}]
    result = ResultIn.model_validate(
        {"outcome": "pass", "report_number": "  WT-1 ", "values": values}
    )
    assert result.report_number == "WT-1"
    with pytest.raises(ValidationError):
        ResultIn.model_validate({"outcome": "pass", "report_number": "WT 1", "values": values})


def test_cross_field_rules_of_bodies() -> None:
    with pytest.raises(ValidationError, match="hs_prefix or product"):
        ScopeEntry(standard="GB 7000.1")
    base = {
        "name": "实验室",
        "scope": [{"hs_prefix": "9405", "standard": "GB 7000.1"}],
        "valid_from": "2026-01-01",
        "valid_to": "2027-01-01",
    }
    with pytest.raises(ValidationError, match="CNAS or a CMA"):
        LabIn.model_validate(base)
    with pytest.raises(ValidationError, match="valid_to"):
        LabIn.model_validate({**base, "cnas_number": "CNAS L1234", "valid_to": "2025-01-01"})
    values = [{"item": "耐压", "value": "1500 V", "outcome": "fail"}]
    with pytest.raises(ValidationError, match="no failing value"):
        ResultIn.model_validate({"outcome": "pass", "report_number": "WT-1", "values": values})
    with pytest.raises(ValidationError, match="at least one failing"):
        ResultIn.model_validate(
            {
                "outcome": "fail",
                "report_number": "WT-1",
                "values": [{**values[0], "outcome": "pass"}],
            }
        )
