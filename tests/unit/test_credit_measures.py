"""Joint measures (联合奖惩) that bite: a measure can say only what some service reads, and
the repair waiting periods of the model (信用修复)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from kit.measures import DEFAULTS, effects_of
from services.credit.policy.schemas import ModelIn
from services.credit.scoring import DEFAULT_MODEL, ScoringModel, earliest_repair_date


def _with_measures(level: str, *measures: dict[str, object]) -> dict[str, object]:
    body = DEFAULT_MODEL.model_dump(mode="json")
    body["measures"][level] = list(measures)
    return body


def _measure(code: str, **params: object) -> dict[str, object]:
    return {
        "code": code,
        "kind": "reward",
        "title_zh": "措施",
        "title_en": "measure",
        "params": params,
    }


def test_the_default_model_puts_the_platform_defaults_in_force() -> None:
    """The mirrors fall back to `DEFAULTS` until credit speaks: they must agree."""
    assert DEFAULT_MODEL.measures_in_force() == DEFAULTS
    assert ModelIn.model_validate(DEFAULT_MODEL.model_dump(mode="json"))  # every measure bites
    assert DEFAULTS["C"].zone_admission == "review" and DEFAULTS["D"].zone_admission == "refused"
    assert not DEFAULTS["D"].honours_eligible and DEFAULTS["D"].removal_review


def test_a_measure_overlays_the_default_of_its_level_only() -> None:
    body = _with_measures("A", _measure("reduced_inspection", inspection_ratio=0.5))
    in_force = ModelIn.model_validate(body).measures_in_force()
    assert in_force["A"].inspection_ratio == 0.5
    assert in_force["B"] == DEFAULTS["B"]
    body = _with_measures("D")  # D without measures: the defaults, D refused all the same
    assert ModelIn.model_validate(body).measures_in_force()["D"] == DEFAULTS["D"]


@pytest.mark.parametrize(
    ("measure", "says"),
    [
        (_measure("fast_track_clearance"), "a measure nothing reads is a label"),
        (_measure("quality_interview", interview=True), "unknown effect interview"),
        (_measure("odd_ratio", inspection_ratio="0.5"), "inspection_ratio"),
        (_measure("too_much", inspection_ratio=1.5), "inspection_ratio"),
        (_measure("maybe", zone_admission="sometimes"), "zone_admission"),
    ],
)
def test_a_measure_that_would_change_nothing_is_refused(
    measure: dict[str, object], says: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        ModelIn.model_validate(_with_measures("A", measure))
    assert says in str(refused.value)


def test_two_measures_of_a_level_cannot_disagree() -> None:
    body = _with_measures(
        "C", _measure("one", inspection_ratio=0.3), _measure("two", inspection_ratio=0.4)
    )
    with pytest.raises(ValidationError, match=r"already 0\.3"):
        ModelIn.model_validate(body)


def test_a_stored_label_only_measure_still_parses_and_changes_nothing() -> None:
    """Versions stored before #17 hold measures such as fast-track clearance: still readable."""
    body = _with_measures("A", _measure("fast_track_clearance"))
    assert ScoringModel.model_validate(body).measures_in_force()["A"] == DEFAULTS["A"]


def test_mirrored_effects_fall_back_per_level() -> None:
    assert effects_of(None, "D") == DEFAULTS["D"]
    mirrored = {"A": {**DEFAULTS["A"].model_dump(), "inspection_ratio": 0.5}}
    assert effects_of(mirrored, "A").inspection_ratio == 0.5
    assert effects_of(mirrored, "B") == DEFAULTS["B"]


def test_earliest_repair_dates_by_severity_and_kind() -> None:
    # 2026-03-01 20:00 UTC is 2026-03-02 in Ninghai: the wait counts from the China date
    occurred = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
    model = DEFAULT_MODEL

    def earliest(kind: str, severity: str, m: ScoringModel = model) -> date | None:
        return earliest_repair_date(m, kind=kind, severity=severity, occurred_at=occurred)

    assert earliest("penalty", "general") == date(2026, 5, 31)  # 90 days
    assert earliest("penalty", "serious") == date(2027, 3, 2)  # 365 days
    assert earliest("penalty", "minor") is None  # needs no repair
    body = DEFAULT_MODEL.model_dump(mode="json")
    body["repair_waiting_days_by_kind"] = {"recall": {"serious": 730, "minor": 0}}
    tuned = ScoringModel.model_validate(body)
    assert earliest("recall", "serious", tuned) == date(2028, 3, 1)
    assert earliest("recall", "minor", tuned) == date(2026, 3, 2)
    assert earliest("recall", "general", tuned) == date(2026, 5, 31)  # the severity default
