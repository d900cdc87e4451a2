"""The double-random draw: properties over random directories, ratios, pools and conflicts."""

from __future__ import annotations

import math

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from services.inspection.draw import Candidate, Inspector, draw, sample_size, snapshot_hash
from services.inspection.eligibility import may_inspect, of_own_unit

LEVELS = ["A", "B", "C", "D"]
UNITS = ["u1", "u2", "u3", None]


@st.composite
def scenario(draw_: st.DrawFn) -> dict:  # type: ignore[type-arg]
    n = draw_(st.integers(0, 120))
    candidates = [
        Candidate(
            f"9133022600000{i:05d}", draw_(st.sampled_from(LEVELS)), draw_(st.sampled_from(UNITS))
        )
        for i in range(n)
    ]
    usccs = [c.uscc for c in candidates]
    pool = [
        Inspector(
            f"insp-{j:03d}",
            draw_(st.sampled_from(["samr", "ciq"])),
            draw_(st.sampled_from(UNITS)),
            frozenset(draw_(st.lists(st.sampled_from(usccs), max_size=5)) if usccs else ()),
        )
        for j in range(draw_(st.integers(0, 25)))
    ]
    ratios = {lv: draw_(st.floats(0, 1)) for lv in LEVELS}
    return {
        "seed": draw_(st.text(min_size=1, max_size=20)),
        "candidates": candidates,
        "ratios": ratios,
        "inspectors": pool,
        "per_task": draw_(st.integers(2, 4)),
        "excluded": frozenset(
            draw_(st.lists(st.sampled_from(usccs), max_size=10)) if usccs else ()
        ),
    }


@settings(max_examples=200, deadline=None)
@given(scenario())
def test_every_drawn_task_is_properly_staffed_or_the_draw_says_which_cannot_be(s: dict) -> None:  # type: ignore[type-arg]
    result = draw(**s)
    units = {c.uscc: c.unit for c in s["candidates"]}
    pool = {i.id: i for i in s["inspectors"]}
    load: dict[str, int] = {}
    for task in result.tasks:
        assert len(task.inspectors) == len(set(task.inspectors)) == s["per_task"]
        for inspector_id in task.inspectors:
            inspector = pool[inspector_id]
            assert task.uscc not in inspector.conflicts
            assert units[task.uscc] is None or inspector.unit != units[task.uscc]
            load[inspector_id] = load.get(inspector_id, 0) + 1
        assert task.uscc not in s["excluded"]
    drawn = len(result.tasks) + len(result.unstaffable)
    if drawn:
        assert (
            max(load.values(), default=0) <= math.ceil(drawn * s["per_task"] / len(pool or [1])) + 1
        )
    for level in LEVELS:
        eligible = [c for c in s["candidates"] if c.level == level and c.uscc not in s["excluded"]]
        if eligible:
            assert result.sampled[level] == sample_size(s["ratios"][level], len(eligible))
    assert sum(result.sampled.values()) == drawn


@settings(max_examples=100, deadline=None)
@given(scenario())
def test_the_same_inputs_give_the_same_draw(s: dict) -> None:  # type: ignore[type-arg]
    first, second = draw(**s), draw(**{**s, "candidates": list(reversed(s["candidates"]))})
    assert first.tasks == second.tasks and first.unstaffable == second.unstaffable


@settings(max_examples=50, deadline=None)
@given(st.text(min_size=1, max_size=20), st.text(min_size=1, max_size=20))
def test_another_seed_gives_another_draw(seed: str, other: str) -> None:
    assume(seed != other)
    candidates = [Candidate(f"9133022600000{i:05d}", "B") for i in range(200)]
    pool = [Inspector(f"i{j}", "samr") for j in range(10)]
    kwargs = {"candidates": candidates, "ratios": {"B": 0.1}, "inspectors": pool, "per_task": 2}
    a, b = draw(seed=seed, **kwargs), draw(seed=other, **kwargs)  # type: ignore[arg-type]
    assert [t.uscc for t in a.tasks] != [t.uscc for t in b.tasks]  # C(200, 20): no collision


def test_sample_sizes_round_up_with_a_minimum_of_one() -> None:
    assert [sample_size(r, 41) for r in (0.0, 0.01, 0.05, 0.1, 1.0)] == [0, 1, 3, 5, 41]
    assert sample_size(0.3, 0) == 0 and sample_size(0.3, 10) == 3


def test_too_few_eligible_inspectors_names_the_targets() -> None:
    candidates = [Candidate("913302260000000001", "D", "station-1")]
    pool = [Inspector("a", "samr", "station-1"), Inspector("b", "samr"), Inspector("c", "samr")]
    pool[2] = Inspector("c", "samr", None, frozenset({"913302260000000001"}))
    result = draw(seed="s", candidates=candidates, ratios={"D": 1.0}, inspectors=pool, per_task=2)
    assert result.tasks == [] and result.unstaffable == ["913302260000000001"]


def test_the_snapshot_hash_ignores_order_but_not_content() -> None:
    a = [Candidate("1", "A"), Candidate("2", "B")]
    assert snapshot_hash(a, ["2"]) == snapshot_hash(list(reversed(a)), ["2"])
    assert snapshot_hash(a, ["2"]) != snapshot_hash([Candidate("1", "B"), a[1]], ["2"])


def test_a_joint_pool_mixes_agencies_on_every_task_it_can() -> None:
    candidates = [Candidate(f"9133022600000{i:05d}", "B") for i in range(150)]
    pool = [Inspector(f"s{j}", "samr") for j in range(12)] + [
        Inspector(f"c{j}", "ciq") for j in range(3)
    ]
    result = draw(
        seed="joint", candidates=candidates, ratios={"B": 1.0}, inspectors=pool, per_task=2
    )
    agency = {i.id: i.agency for i in pool}
    mixed = [t for t in result.tasks if len({agency[i] for i in t.inspectors}) == 2]
    assert not result.unstaffable
    # ciq's 3 inspectors are capped at ceil(150 × 2 / 15) + 1 = 21 tasks each: 63 mixed tasks
    assert len(mixed) == 3 * result.cap


def test_the_avoidance_rule_keeps_out_the_conflicted_and_the_own_unit() -> None:
    assert may_inspect(conflicted=False, inspector_unit="station-1", target_unit="station-2")
    assert not may_inspect(conflicted=True, inspector_unit="station-1", target_unit="station-2")
    assert not may_inspect(conflicted=False, inspector_unit="station-1", target_unit="station-1")
    assert may_inspect(conflicted=False, inspector_unit=None, target_unit=None)
    # a unit is any string but None: the draw compares an empty one too
    assert not may_inspect(conflicted=False, inspector_unit="", target_unit="")
    assert of_own_unit("", "") and not of_own_unit(None, None)
