"""The demo seed under the acceptance and schedule rules: zones accepted by their authority's
decision on a filed application, stage history dated inside each zone's plan window, and the
targets counted from it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from deploy.seed import ZONES, _seed
from kit.validation import CHINA
from services.registry.domain import Stage
from services.registry.programme.acceptance.models import AcceptanceDecision
from services.registry.programme.targets import service as targets
from services.registry.zones.models import ZoneTransition


async def test_the_seed_is_accepted_by_its_authorities_inside_the_plan(
    session: AsyncSession,
) -> None:
    await _seed(session, per_industry=3)
    windows = {code: (start, end) for code, _, _, _, start, end, _ in ZONES}
    moves = list(await session.scalars(select(ZoneTransition)))
    assert moves
    for move in moves:
        start, end = windows[move.zone_code]
        assert start <= move.at.astimezone(CHINA).date() <= end, (move.zone_code, move.to_stage)
    decisions = {d.zone_code: d for d in await session.scalars(select(AcceptanceDecision))}
    accepted = {code for code, *_, reached in ZONES if reached is Stage.accepted}
    assert set(decisions) == accepted
    assert decisions["stationery-national"].authority == "aqsiq"
    assert decisions["molds-provincial"].authority == "ningbo_ciq"
    assert all(not d.on_behalf for d in decisions.values())

    out = await targets.targets(session)
    by_level = {t.level.value: (t.accepted, t.zones, t.met) for t in out.targets}
    assert by_level == {"national": (1, 2, False), "provincial": (6, 6, True)}
    assert sorted(out.overdue) == [
        "auto_parts-national",
        "electronics-provincial",
        "hardware-provincial",
    ]
