"""The demo history's pure parts (deploy/history.py) and the clock it records the past with
(kit.db.clock_at)."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, date, datetime, timedelta

from deploy.history import (
    CHECK_ITEMS,
    Member,
    _findings,
    accepted_on,
    exports_of,
    pass_rate,
)
from deploy.seed import ZONES
from kit.db import clock_at, utcnow
from services.registry.domain import Industry, Stage


def test_the_clock_answers_the_given_moment_inside_only() -> None:
    then = datetime(2018, 6, 1, 1, tzinfo=UTC)
    with clock_at(then):
        assert utcnow() == then
        with clock_at(then + timedelta(days=1)):
            assert utcnow() == then + timedelta(days=1)
        assert utcnow() == then
    assert abs(utcnow() - datetime.now(UTC)) < timedelta(seconds=5)


def test_the_clock_is_per_task() -> None:
    then = datetime(2019, 1, 1, tzinfo=UTC)

    async def inside() -> datetime:
        with clock_at(then):
            await asyncio.sleep(0)
            return utcnow()

    async def outside() -> datetime:
        await asyncio.sleep(0)
        return utcnow()

    async def both() -> tuple[datetime, datetime]:
        return await asyncio.gather(inside(), outside())

    a, b = asyncio.run(both())
    assert a == then and b != then


def test_accepted_zones_are_accepted_inside_their_plan() -> None:
    for code, _, _, _, start, end, reached in ZONES:
        day = accepted_on(code)
        if reached is Stage.accepted:
            assert day is not None and start <= day <= end
        else:
            assert day is None


def test_pass_rates_vary_by_industry_and_improve_after_acceptance() -> None:
    code, industry, _, _, start, _, _ = next(z for z in ZONES if z[0] == "stationery-national")
    accepted = accepted_on(code)
    assert accepted is not None
    before = pass_rate(industry, code, start, accepted.year)
    after = pass_rate(industry, code, start, accepted.year + 1)
    assert after - before > 0.05
    assert all(
        pass_rate(industry, code, start, y) <= pass_rate(industry, code, start, y + 1)
        for y in range(start.year, 2030)
    )
    assert pass_rate(industry, code, start, 2040) <= 0.97
    lagging = next(z for z in ZONES if z[0] == "electronics-provincial")
    assert pass_rate(Industry.electronics, lagging[0], lagging[4], 2024) < pass_rate(
        Industry.molds, "molds-provincial", date(2017, 3, 1), 2024
    )


def test_exports_are_deterministic_and_dip_in_2020() -> None:
    member = Member("x", Industry.lighting, 1_000_000, 50, [], ["US"], (), 2017)
    first = [exports_of(member, y, random.Random(7)) for y in (2019, 2020, 2021)]
    assert first == [exports_of(member, y, random.Random(7)) for y in (2019, 2020, 2021)]
    assert first[1] < first[0] < first[2]


def test_findings_name_one_failed_item_only_when_failed() -> None:
    rng = random.Random(1)
    failed = _findings(rng, True)
    assert [f["item"] for f in failed] == [c for c, *_ in CHECK_ITEMS]
    [bad] = [f for f in failed if f["outcome"] == "fail"]
    assert bad["note"]
    assert all(f["outcome"] == "pass" and f["note"] is None for f in _findings(rng, False))
