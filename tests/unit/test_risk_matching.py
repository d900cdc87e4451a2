"""Matching a risk signal to a batch: exact keys, attribute scores, ties, severities."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import pytest

from services.inspection.risk.matching import by_attributes, by_key, score, severity
from services.inspection.risk.schemas import RiskLevel, SignalIn, SignalKind


@dataclass
class Batch:
    uscc: str
    number: str
    hs_code: str | None = "940542"
    brand: str | None = "Haiguang"
    model: str | None = "HG-200"
    destination: str | None = "DE"
    id: uuid.UUID = field(default_factory=uuid.uuid4)


def signal(**fields: object) -> SignalIn:
    return SignalIn.model_validate({"kind": "foreign_notification", **fields})


def test_score_weighs_hs_brand_model_destination() -> None:
    s = signal(hs_code="9405420000", brand=" haiguang ", model="HG-200", destination="DE")
    assert score(s, Batch("A", "1")) == (1.0, ["hs_code", "brand", "model", "destination"])
    assert score(s, Batch("A", "1", destination="FR"))[0] == 0.9
    assert score(s, Batch("A", "1", brand=None, model="X")) == (0.4, ["hs_code", "destination"])


def test_one_exact_hit_is_certain() -> None:
    hit = Batch("A", "NB-1")
    found = by_key(signal(batch_number="NB-1"), [hit], "batch_number")
    assert found is not None and (found.uscc, found.batch, found.confidence) == ("A", hit, 1.0)
    assert by_key(signal(batch_number="NB-1"), [], "batch_number") is None


def test_the_same_number_at_two_enterprises_is_told_apart_by_attributes() -> None:
    ours, theirs = Batch("A", "NB-1"), Batch("B", "NB-1", brand="Other", model="O-1")
    found = by_key(signal(batch_number="NB-1", brand="Haiguang"), [theirs, ours], "batch_number")
    assert found is not None and found.batch is ours and found.confidence == 0.9
    tie = by_key(signal(batch_number="NB-1"), [Batch("A", "NB-1"), Batch("B", "NB-1")], "x")
    assert tie is not None and tie.uscc is None and len(tie.candidates) == 2


def test_attributes_below_the_threshold_stay_unmatched_with_candidates() -> None:
    batches = [Batch("A", "1"), Batch("B", "2", model="Other")]
    weak = by_attributes(signal(brand="Haiguang"), batches, 0.7)
    assert weak.uscc is None and [c["uscc"] for c in weak.candidates] == ["A", "B"]
    strong = by_attributes(signal(hs_code="940542", brand="Haiguang", model="HG-200"), batches, 0.7)
    assert strong.uscc == "A" and strong.confidence == 0.9 and strong.method == "attributes"


def test_a_tie_within_one_enterprise_matches_the_enterprise_only() -> None:
    batches = [Batch("A", "1"), Batch("A", "2")]
    found = by_attributes(signal(hs_code="940542", brand="Haiguang", model="HG-200"), batches, 0.7)
    assert found.uscc == "A" and found.batch is None
    split = by_attributes(
        signal(hs_code="940542", brand="Haiguang", model="HG-200"),
        [Batch("A", "1"), Batch("B", "2")],
        0.7,
    )
    assert split.uscc is None and len(split.candidates) == 2


@pytest.mark.parametrize(
    ("kind", "level", "expected"),
    [
        (SignalKind.foreign_notification, RiskLevel.serious, "serious"),
        (SignalKind.foreign_notification, RiskLevel.high, "serious"),
        (SignalKind.return_, RiskLevel.medium, "general"),
        (SignalKind.recall, RiskLevel.low, "minor"),
        (SignalKind.complaint, RiskLevel.serious, "general"),
    ],
)
def test_severity(kind: SignalKind, level: RiskLevel, expected: str) -> None:
    assert severity(kind, level) == expected


def test_a_signal_must_name_something_to_match() -> None:
    with pytest.raises(ValueError, match="at least one of"):
        signal(description="bad lamp")
