"""Matching a signal to an enterprise and an export batch.

Exact keys first (declaration number, batch number, barcode, a named USCC), then attributes:
HS code (first six digits), brand, model and destination, each with a weight; the sum is the
match confidence. A match below the threshold, or a tie between enterprises, leaves the
signal unmatched with its candidates, for a person to link.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.inspection.risk.schemas import RiskLevel, SignalIn, SignalKind

WEIGHTS = {"hs_code": 0.3, "brand": 0.3, "model": 0.3, "destination": 0.1}
MAX_CANDIDATES = 5


class BatchLike(Protocol):
    """What matching reads of a batch."""

    @property
    def id(self) -> Any: ...
    @property
    def uscc(self) -> str: ...
    @property
    def number(self) -> str: ...
    @property
    def hs_code(self) -> str | None: ...
    @property
    def brand(self) -> str | None: ...
    @property
    def model(self) -> str | None: ...
    @property
    def destination(self) -> str | None: ...


@dataclass
class Match:
    """The outcome: an enterprise (and batch) with method and confidence, or candidates."""

    uscc: str | None = None
    batch: BatchLike | None = None
    method: str | None = None
    confidence: float | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)


def _same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and a.strip().casefold() == b.strip().casefold()  # type: ignore[union-attr]


def score(signal: SignalIn, batch: BatchLike) -> tuple[float, list[str]]:
    """Attribute score of a batch for a signal, and the attributes that agreed."""
    agreed = []
    if signal.hs_code and batch.hs_code and signal.hs_code[:6] == batch.hs_code[:6]:
        agreed.append("hs_code")
    if _same(signal.brand, batch.brand):
        agreed.append("brand")
    if _same(signal.model, batch.model):
        agreed.append("model")
    if signal.destination and signal.destination == batch.destination:
        agreed.append("destination")
    return round(sum(WEIGHTS[a] for a in agreed), 3), agreed


def _candidates(ranked: Sequence[tuple[float, list[str], BatchLike]]) -> list[dict[str, Any]]:
    return [
        {
            "uscc": b.uscc,
            "batch_id": str(b.id),
            "batch_number": b.number,
            "confidence": s,
            "matched_on": agreed,
        }
        for s, agreed, b in ranked[:MAX_CANDIDATES]
    ]


def _rank(
    signal: SignalIn, batches: Iterable[BatchLike]
) -> list[tuple[float, list[str], BatchLike]]:
    ranked = [(*score(signal, b), b) for b in batches]
    ranked.sort(key=lambda r: (-r[0], r[2].number))
    return ranked


def by_key(signal: SignalIn, hits: Sequence[BatchLike], method: str) -> Match | None:
    """Batches found by an exact key: one is the match; several are told apart by attributes
    (the best, if it alone is best); none is no match."""
    if not hits:
        return None
    if len(hits) == 1:
        return Match(uscc=hits[0].uscc, batch=hits[0], method=method, confidence=1.0)
    ranked = _rank(signal, hits)
    best = ranked[0][0]
    top = [r for r in ranked if r[0] == best]
    if len(top) == 1 and best > 0:
        return Match(uscc=top[0][2].uscc, batch=top[0][2], method=method, confidence=0.9)
    if len({r[2].uscc for r in top}) == 1:
        return Match(
            uscc=top[0][2].uscc, method=method, confidence=0.8, candidates=_candidates(ranked)
        )
    return Match(candidates=_candidates(ranked))


def by_attributes(signal: SignalIn, batches: Sequence[BatchLike], threshold: float) -> Match:
    """The best-scoring batch at or above the threshold; a tie within one enterprise matches
    the enterprise only; anything else stays unmatched, with its candidates."""
    ranked = [r for r in _rank(signal, batches) if r[0] > 0]
    if not ranked or ranked[0][0] < threshold:
        return Match(candidates=_candidates(ranked))
    best = ranked[0][0]
    top = [r for r in ranked if r[0] == best]
    if len(top) == 1:
        return Match(uscc=top[0][2].uscc, batch=top[0][2], method="attributes", confidence=best)
    if len({r[2].uscc for r in top}) == 1:
        return Match(
            uscc=top[0][2].uscc,
            method="attributes",
            confidence=best,
            candidates=_candidates(ranked),
        )
    return Match(candidates=_candidates(ranked))


# the notifier's risk level → credit severity
RISK_SEVERITY = {"serious": "serious", "high": "serious", "medium": "general", "low": "minor"}


def severity(kind: SignalKind, level: RiskLevel) -> str:
    """Credit severity from the notifier's risk level; a complaint is never serious."""
    mapped = RISK_SEVERITY[level.value]
    if kind == SignalKind.complaint and mapped == "serious":
        return "general"
    return mapped
