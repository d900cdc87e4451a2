"""The scoring function and the model's validation: pure logic, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from services.credit.domain import FactKind, Level, Severity
from services.credit.scoring import DEFAULT_MODEL, FactInput, ScoringModel, evaluate

NOW = datetime(2026, 11, 29, tzinfo=UTC)


def fact(
    kind: str, severity: str = "general", *, days_ago: float = 0, **extra: object
) -> FactInput:
    return FactInput(
        id=f"{kind}-{days_ago}",
        kind=kind,
        severity=severity,
        occurred_at=NOW - timedelta(days=days_ago),
        **extra,  # type: ignore[arg-type]
    )


def model(**changes: object) -> ScoringModel:
    return ScoringModel.model_validate({**DEFAULT_MODEL.model_dump(mode="json"), **changes})


def test_no_facts_is_the_base_score_at_its_band() -> None:
    result = evaluate(DEFAULT_MODEL, [], NOW)
    assert result.score == 100 and result.level == Level.B and result.contributions == []


def test_a_fact_halves_every_half_life() -> None:
    fresh = evaluate(DEFAULT_MODEL, [fact("spot_check_fail", days_ago=0)], NOW)
    old = evaluate(DEFAULT_MODEL, [fact("spot_check_fail", days_ago=730)], NOW)
    assert fresh.contributions[0].points == -12 and old.contributions[0].points == -6
    assert old.contributions[0].decay == 0.5 and old.score == 94


def test_penalty_amount_adds_points_per_10k() -> None:
    result = evaluate(DEFAULT_MODEL, [fact("penalty", "minor", amount=30_000)], NOW)
    assert result.contributions[0].weight == -8  # -5 and -1 per 10,000 CNY


def test_expired_repaired_and_future_facts_count_nothing_but_are_shown() -> None:
    facts = [
        fact("recall", days_ago=10, expires_at=NOW - timedelta(days=1)),
        fact("return", days_ago=10, ended_at=NOW - timedelta(days=1)),
        fact("award", days_ago=-1),
    ]
    result = evaluate(DEFAULT_MODEL, facts, NOW)
    assert result.score == 100
    assert [c.state for c in result.contributions] == ["expired", "repaired", "future"]


def test_a_kind_is_capped_and_its_facts_scaled() -> None:
    awards = [fact("award", "serious", days_ago=i) for i in range(5)]  # 5 × ~15 > cap 30
    result = evaluate(DEFAULT_MODEL, awards, NOW)
    assert result.score == 130 and result.level == Level.A
    assert all(c.state == "capped" for c in result.contributions)
    assert round(sum(c.points for c in result.contributions), 2) == 30


def test_an_override_forces_the_level_while_in_force() -> None:
    facts = [fact("award", "serious", days_ago=1), fact("award", "serious", days_ago=2)]
    facts.append(fact("penalty", "serious", days_ago=100))
    result = evaluate(DEFAULT_MODEL, facts, NOW)
    assert result.band_level != Level.D and result.level == Level.D and result.overrides
    later = evaluate(DEFAULT_MODEL, facts, NOW + timedelta(days=300))
    assert later.overrides == []


def test_score_is_clamped_to_the_range() -> None:
    many = [fact("recall", "serious", days_ago=i) for i in range(10)]
    assert evaluate(DEFAULT_MODEL, many, NOW).score == 0


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        ({"B": {"min": 90, "max": 115}}, "overlaps"),
        ({"B": {"min": 95, "max": 110}}, "fall between C and B"),
        ({"A": {"min": 110, "max": 150}}, "A ends at 150"),
        ({"D": {"min": 10, "max": 60}}, "D starts at 10"),
        ({"C": {"min": 90, "max": 90}}, "empty"),
    ],
)
def test_bands_must_tile_the_score_range(levels: dict[str, dict[str, float]], message: str) -> None:
    bands = {**DEFAULT_MODEL.model_dump(mode="json")["levels"], **levels}
    with pytest.raises(ValidationError, match=message):
        model(levels=bands)


def test_every_level_needs_a_band() -> None:
    bands = DEFAULT_MODEL.model_dump(mode="json")["levels"]
    del bands["C"]
    with pytest.raises(ValidationError, match="no band for C"):
        model(levels=bands)


def test_unknown_kinds_and_fields_are_refused() -> None:
    with pytest.raises(ValidationError):
        model(weights={"bribery": {"minor": -1}})
    with pytest.raises(ValidationError):
        model(surprise=1)


FACTS = st.lists(
    st.builds(
        FactInput,
        id=st.uuids().map(str),
        kind=st.sampled_from([k.value for k in FactKind]),
        severity=st.sampled_from([s.value for s in Severity]),
        occurred_at=st.integers(0, 3650).map(lambda d: NOW - timedelta(days=d)),
        amount=st.none() | st.floats(0, 1e7),
    ),
    max_size=40,
)


@given(FACTS)
def test_any_facts_give_a_score_in_range_and_a_consistent_level(facts: list[FactInput]) -> None:
    result = evaluate(DEFAULT_MODEL, facts, NOW)
    assert DEFAULT_MODEL.min_score <= result.score <= DEFAULT_MODEL.max_score
    assert result.band_level == DEFAULT_MODEL.level_of(result.score)
    assert Level(result.level) in Level and len(result.contributions) == len(facts)
    quick = evaluate(DEFAULT_MODEL, facts, NOW, explain=False)
    assert (quick.score, quick.level) == (result.score, result.level)
    unclamped = DEFAULT_MODEL.base_score + sum(c.points for c in result.contributions)
    if DEFAULT_MODEL.min_score < unclamped < DEFAULT_MODEL.max_score:
        assert abs(unclamped - result.score) < 0.01 * max(1, len(facts))
