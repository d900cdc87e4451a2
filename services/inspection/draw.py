"""The double-random draw (双随机): which enterprises, and which inspectors check each.

Pure and deterministic, so anyone holding the stored inputs can replay it:
- every candidate enterprise gets a rank `SHA-256(seed ":target:" uscc)`; per credit level the
  `ceil(ratio × n)` lowest ranks are drawn (at least one when the level has anyone and its
  ratio is above zero);
- tasks are staffed in order of their own rank: each takes `k` eligible inspectors from the
  least loaded so far, in the order of `SHA-256(seed ":inspector:" id)` starting where
  `SHA-256(seed ":assign:" uscc)` falls; an inspector is eligible when active and of one of
  the campaign's agencies (the caller's filter), not from the target's own unit, without a
  declared conflict, and below the cap `ceil(tasks × k / inspectors) + 1`; when the pool
  spans several agencies (a joint campaign), the last place goes to an inspector of another
  agency than the others', whenever one is eligible (联合执法);
- if any task cannot be staffed, the draw is refused as a whole, naming those targets.
Only hashlib and integer arithmetic: no PRNG whose algorithm could change between versions.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from services.inspection.eligibility import may_inspect


@dataclass(frozen=True, slots=True)
class Candidate:
    """An enterprise in the target population."""

    uscc: str
    level: str  # A–D; B when credit has not spoken yet
    unit: str | None = None  # the unit that supervises it day to day (属地监管单位)


@dataclass(frozen=True, slots=True)
class Inspector:
    """An inspector of the pool."""

    id: str
    agency: str
    unit: str | None = None
    conflicts: frozenset[str] = frozenset()  # USCCs declared in conflict for the window


@dataclass(frozen=True, slots=True)
class Assignment:
    """One drawn task."""

    uscc: str
    level: str
    inspectors: tuple[str, ...]


@dataclass(slots=True)
class DrawResult:
    """The drawn tasks, per-level counts, and the targets nobody could staff."""

    tasks: list[Assignment] = field(default_factory=list)
    population: dict[str, int] = field(default_factory=dict)
    sampled: dict[str, int] = field(default_factory=dict)
    unstaffable: list[str] = field(default_factory=list)
    cap: int = 0


def _rank(*parts: str) -> bytes:
    return hashlib.sha256(":".join(parts).encode()).digest()


def sample_size(ratio: float, population: int) -> int:
    """ceil(ratio × n), at least one when there is anyone to draw and the ratio is positive."""
    if population == 0 or ratio <= 0:
        return 0
    return min(population, max(1, math.ceil(ratio * population - 1e-9)))


def snapshot_hash(candidates: Iterable[Candidate], excluded: Iterable[str]) -> str:
    """SHA-256 of the sorted population and exclusions: what the draw was made from."""
    body = {
        "candidates": sorted([c.uscc, c.level, c.unit or ""] for c in candidates),
        "excluded": sorted(excluded),
    }
    return hashlib.sha256(json.dumps(body, separators=(",", ":")).encode()).hexdigest()


def pool_hash(inspectors: Iterable[Inspector]) -> str:
    """SHA-256 of the inspector pool as drawn from (ids, agencies, units, conflicts)."""
    body = sorted([i.id, i.agency, i.unit or "", sorted(i.conflicts)] for i in inspectors)
    return hashlib.sha256(json.dumps(body, separators=(",", ":")).encode()).hexdigest()


def draw(
    *,
    seed: str,
    candidates: Sequence[Candidate],
    ratios: Mapping[str, float],
    inspectors: Sequence[Inspector],
    per_task: int,
    excluded: frozenset[str] = frozenset(),
) -> DrawResult:
    """Draw targets per level and staff each with `per_task` inspectors."""
    result = DrawResult()
    by_level: dict[str, list[Candidate]] = {}
    for c in candidates:
        if c.uscc not in excluded:
            by_level.setdefault(c.level, []).append(c)
    drawn: list[tuple[bytes, Candidate]] = []
    for level in sorted(by_level):
        members = by_level[level]
        size = sample_size(ratios.get(level, 0.0), len(members))
        result.population[level] = len(members)
        result.sampled[level] = size
        ranked = sorted(members, key=lambda c: _rank(seed, "target", c.uscc))
        drawn += [(_rank(seed, "target", c.uscc), c) for c in ranked[:size]]
    drawn.sort(key=lambda pair: pair[0])
    if not drawn:
        return result
    result.cap = math.ceil(len(drawn) * per_task / max(1, len(inspectors))) + 1
    staff = _Staffing(seed, inspectors, result.cap)
    for _, target in drawn:
        chosen = staff.choose(target, per_task)
        if chosen is None:
            result.unstaffable.append(target.uscc)
        else:
            result.tasks.append(Assignment(target.uscc, target.level, chosen))
    return result


class _Staffing:
    """Inspectors bucketed by load, each bucket in a fixed pseudo-random order: a task takes
    the first eligible inspectors from the least-loaded bucket, starting at a point of that
    order given by its own hash (so the work spreads and each choice stays O(k) typically)."""

    def __init__(self, seed: str, inspectors: Sequence[Inspector], cap: int):
        self.seed = seed
        self.cap = cap
        self.by_id = {i.id: i for i in inspectors}
        self.key = {i.id: _rank(seed, "inspector", i.id) for i in inspectors}
        self.load = dict.fromkeys(self.by_id, 0)
        self.joint = len({i.agency for i in inspectors}) > 1
        self.buckets: dict[int, list[tuple[bytes, str]]] = {
            0: sorted((self.key[i], i) for i in self.by_id)
        }

    def choose(self, target: Candidate, k: int) -> tuple[str, ...] | None:
        """`k` inspectors for the target, or None; a joint pool (several agencies) gives each
        task inspectors of at least two agencies whenever the eligible ones allow it."""
        chosen = self._pick(target, k, mixed=self.joint) if self.joint else None
        if chosen is None:
            chosen = self._pick(target, k, mixed=False)
        if chosen is None:
            return None
        for inspector_id in chosen:
            self._move(inspector_id)
        return tuple(sorted(chosen))

    def _pick(self, target: Candidate, k: int, *, mixed: bool) -> list[str] | None:
        start_key = _rank(self.seed, "assign", target.uscc)
        chosen: list[str] = []
        agencies: set[str] = set()
        for load in sorted(self.buckets):
            if load >= self.cap:
                break
            bucket = self.buckets[load]
            start = bisect.bisect_left(bucket, (start_key, ""))
            for j in range(len(bucket)):
                inspector = self.by_id[bucket[(start + j) % len(bucket)][1]]
                if not may_inspect(
                    conflicted=target.uscc in inspector.conflicts,
                    inspector_unit=inspector.unit,
                    target_unit=target.unit,
                ):
                    continue
                if mixed and len(chosen) == k - 1 and agencies == {inspector.agency}:
                    continue  # the last place goes to another agency (联合执法)
                chosen.append(inspector.id)
                agencies.add(inspector.agency)
                if len(chosen) == k:
                    return chosen
        return None

    def _move(self, inspector_id: str) -> None:
        load = self.load[inspector_id]
        entry = (self.key[inspector_id], inspector_id)
        bucket = self.buckets[load]
        del bucket[bisect.bisect_left(bucket, entry)]
        if not bucket:
            del self.buckets[load]
        bisect.insort(self.buckets.setdefault(load + 1, []), entry)
        self.load[inspector_id] = load + 1
