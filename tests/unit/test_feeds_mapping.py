"""Feeds in their published formats (#21 part 3), the pure part: country names to ISO codes
(unknown ones refused, never guessed), a Safety Gate row to a risk signal, an ePing row to a
TBT bulletin, and the fixture files read with the feeds' heading tables."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from kit import spreadsheets
from kit.feed_imports import RowRejected
from kit.iso3166 import ALPHA2, EU27, NAMES, codes_of
from services.inspection.feeds import rows as safety_gate
from services.inspection.risk.schemas import SignalIn
from services.notify.bulletins.schemas import BulletinIn
from services.notify.feeds import rows as eping

FIXTURES = Path(__file__).parents[1] / "fixtures" / "feeds"


@pytest.mark.parametrize(
    ("name", "codes"),
    [
        ("Germany", ("DE",)),
        ("Czechia", ("CZ",)),
        ("Czech Republic", ("CZ",)),
        ("Türkiye", ("TR",)),
        ("TÜRKIYE", ("TR",)),
        ("Turkey", ("TR",)),
        ("  People’s  Republic of China ", ("CN",)),
        ("United States of America", ("US",)),
        ("Korea, Republic of", ("KR",)),
        ("Chinese Taipei", ("TW",)),
        ("de", ("DE",)),
        ("European Union", EU27),
    ],
)
def test_country_names_map_to_iso_codes(name: str, codes: tuple[str, ...]) -> None:
    assert codes_of(name) == codes


@pytest.mark.parametrize("name", ["Kosovo", "Korea", "Atlantis", "Kingdom of Eswatini", "", "XX"])
def test_a_name_no_table_knows_is_not_guessed(name: str) -> None:
    assert codes_of(name) is None


def test_every_named_code_is_an_iso_code() -> None:
    assert len(EU27) == len(set(EU27)) == 27
    assert {c for codes in NAMES.values() for c in codes} <= ALPHA2


def alert(**cells: str) -> dict[str, str]:
    row = {
        "alert_number": "A12/01501/26",
        "notifying_country": "Germany",
        "product": "Soft toy",
        "brand": "Haiyu",
        "model": "HY-2501",
        "country_of_origin": "China",
        "risk_type": "Choking",
        "risk_level": "Serious risk",
        "measures_compulsory": "Withdrawal of the product from the market",
    }
    row.update(cells)
    return {k: v for k, v in row.items() if v}


def test_a_safety_gate_row_is_a_foreign_notification_for_that_market() -> None:
    fields = safety_gate.signal_fields(alert(alert_number=" a12/01501/26 "))
    signal = SignalIn.model_validate(fields)
    assert signal.kind.value == "foreign_notification"
    assert signal.reference == "A12/01501/26"
    assert signal.notifying_country == signal.destination == "DE"
    assert signal.country_of_origin == "CN"
    assert signal.risk_level.value == "serious"
    assert signal.measures_taken == "Withdrawal of the product from the market"


@pytest.mark.parametrize(
    ("cells", "field", "en"),
    [
        ({"notifying_country": "Atlantis"}, "notifying_country", "unknown country 'Atlantis'"),
        ({"country_of_origin": "Kosovo"}, "country_of_origin", "unknown country 'Kosovo'"),
        ({"notifying_country": "European Union"}, "notifying_country", "several countries"),
        ({"notifying_country": ""}, "notifying_country", "missing"),
        ({"alert_number": ""}, "alert_number", "missing"),
        ({"alert_number": "12345"}, "alert_number", "not a Safety Gate alert number"),
    ],
)
def test_a_bad_safety_gate_row_is_refused_with_its_field(
    cells: dict[str, str], field: str, en: str
) -> None:
    with pytest.raises(RowRejected) as refused:
        safety_gate.signal_fields(alert(**cells))
    assert refused.value.field == field
    assert en in refused.value.en and refused.value.zh


def test_unknown_brand_and_origin_are_blank_not_values() -> None:
    fields = safety_gate.signal_fields(alert(brand="Unknown", country_of_origin="Unknown"))
    assert "brand" not in fields and "country_of_origin" not in fields


def test_batch_number_and_barcode_in_one_column_are_split() -> None:
    fields = safety_gate.signal_fields(alert(batch_barcode="Batch: LS2026-11 / 4006381333931"))
    assert (fields["batch_number"], fields["barcode"]) == ("LS2026-11", "4006381333931")
    only_code = safety_gate.signal_fields(alert(batch_barcode="6901234567892"))
    assert only_code["barcode"] == "6901234567892" and "batch_number" not in only_code


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("Serious risk", "serious"),
        ("High", "high"),
        ("Other risk levels", "medium"),
        ("", "medium"),
    ],
)
def test_safety_gate_risk_levels(text: str, level: str) -> None:
    assert safety_gate.risk_level(text) == level


def test_a_long_risk_type_keeps_its_first_kind_and_the_rest_in_the_description() -> None:
    long = "Injuries, Multiple Injuries Possible: Crushing, Fractures, Concussion, Internal"
    fields = safety_gate.signal_fields(alert(risk_type=long))
    assert fields["risk_type"] == "Injuries"
    assert long in fields["description"]


def notification(**cells: str) -> dict[str, str]:
    row = {
        "symbol": "G/TBT/N/EU/1150",
        "member": "European Union",
        "title": "Toys",
        "hs_codes": "9503",
        "comment_deadline": "2026-12-01",
    }
    row.update(cells)
    return {k: v for k, v in row.items() if v}


def test_an_eping_row_is_a_tbt_bulletin_for_the_members_markets() -> None:
    body = BulletinIn.model_validate(eping.bulletin_fields(notification()))
    assert body.kind == "wto_tbt" and body.symbol == "G/TBT/N/EU/1150"
    assert body.products == ["9503"] and sorted(body.markets) == sorted(EU27)
    assert body.comment_deadline == date(2026, 12, 1)
    us = eping.bulletin_fields(notification(member="United States of America"))
    assert us["markets"] == ["US"]


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("9503", ["9503"]),
        ("8516.31; 8516.32", ["851631", "851632"]),
        ("9401, 9403 - Other furniture and parts thereof", ["9401", "9403"]),
        ("85 16 10", ["851610"]),
        ("9503；9503", ["9503"]),
        ("", []),
    ],
)
def test_hs_codes_as_ePing_lists_them(text: str, codes: list[str]) -> None:
    assert eping.hs_codes(text) == codes


@pytest.mark.parametrize("text", ["8516.79; kettles", "9", "95031234567", "HS 9503"])
def test_a_bad_hs_code_is_refused(text: str) -> None:
    with pytest.raises(RowRejected) as refused:
        eping.hs_codes(text)
    assert refused.value.field == "hs_codes"


@pytest.mark.parametrize(
    ("cells", "field"),
    [
        ({"member": "Kingdom of Eswatini"}, "member"),
        ({"member": ""}, "member"),
        ({"symbol": ""}, "symbol"),
        ({"symbol": "G/SPS/N/CHN/1300"}, "symbol"),
        ({"comment_deadline": "next spring"}, "comment_deadline"),
    ],
)
def test_a_bad_eping_row_is_refused_with_its_field(cells: dict[str, str], field: str) -> None:
    with pytest.raises(RowRejected) as refused:
        eping.bulletin_fields(notification(**cells))
    assert refused.value.field == field


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2026-12-01", date(2026, 12, 1)),
        ("01/12/2026", date(2026, 12, 1)),
        ("Not applicable", None),
    ],
)
def test_comment_deadlines_as_written(text: str, day: date | None) -> None:
    assert eping.day({"comment_deadline": text}, "comment_deadline") == day


def outcomes(name: str, keys: dict[str, str], parse: object) -> list[str | None]:
    sheet = spreadsheets.read((FIXTURES / name).read_bytes(), keys)
    found: list[str | None] = []
    for _number, values, _cells in sheet.rows():
        try:
            parse(values)  # type: ignore[operator]
        except RowRejected as refused:
            found.append(refused.field)
        else:
            found.append(None)
    return found


def test_the_fixtures_read_with_the_feeds_tables() -> None:
    assert outcomes("safety-gate-alerts.xlsx", safety_gate.KEYS, safety_gate.signal_fields) == [
        None, None, None, None, "country_of_origin", "alert_number",
    ]  # fmt: skip
    assert outcomes("safety-gate-weekly.csv", safety_gate.KEYS, safety_gate.signal_fields) == [
        None, None,
    ]  # fmt: skip
    assert outcomes("eping-notifications.xlsx", eping.KEYS, eping.bulletin_fields) == [
        None, None, None, "symbol", "hs_codes", "member",
    ]  # fmt: skip
    sheet = spreadsheets.read((FIXTURES / "safety-gate-alerts.xlsx").read_bytes(), safety_gate.KEYS)
    assert {"alert_number", "notifying_country", "brand", "model", "barcode"} <= set(sheet.fields)
    assert "Counterfeit" in sheet.unknown
