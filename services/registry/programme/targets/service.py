"""Targets and schedule (总体目标, 建设计划): the guidance's targets and the plan's phases as
data, zones counted against them, and the once-per-zone announcement of an overdue zone."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kit.db import utcnow
from kit.events import ZoneOverdue
from kit.validation import CHINA
from services.registry.domain import OVERDUE, Stage, ZoneLevel, schedule_status
from services.registry.events import publish
from services.registry.programme.acceptance.models import AcceptanceDecision
from services.registry.programme.shared import today
from services.registry.programme.targets.models import PlanPhase, ProgrammeTarget
from services.registry.programme.targets.schemas import (
    PhaseOut,
    TargetOut,
    TargetsOut,
    ZoneSchedule,
)
from services.registry.zones.models import Zone, ZoneTransition


async def accepted_on(session: AsyncSession) -> dict[str, date]:
    """The day each accepted zone was accepted: its decision's date, or (a zone accepted
    before decisions were recorded) the day of its move to `accepted`, China time."""
    days: dict[str, date] = {}
    moves = await session.execute(
        select(ZoneTransition.zone_code, ZoneTransition.at)
        .where(ZoneTransition.to_stage == Stage.accepted.value)
        .order_by(ZoneTransition.at)
    )
    for code, at in moves:
        days[code] = at.astimezone(CHINA).date()
    decisions = await session.execute(
        select(AcceptanceDecision.zone_code, AcceptanceDecision.decided_on)
        .where(AcceptanceDecision.outcome == "accepted")
        .order_by(AcceptanceDecision.recorded_at)
    )
    for code, decided_on in decisions:
        days[code] = decided_on
    return days


async def targets(session: AsyncSession) -> TargetsOut:
    """Targets with the zones accepted within their periods, phases with their zones, counts
    by level and stage, and every zone's schedule."""
    now = today()
    zones = list(await session.scalars(select(Zone).order_by(Zone.code)))
    accepted = await accepted_on(session)
    actual = {level: dict.fromkeys(Stage, 0) for level in ZoneLevel}
    schedules = []
    for z in zones:
        stage = Stage(z.stage)
        actual[ZoneLevel(z.level)][stage] += 1
        status = schedule_status(stage, z.plan_end, now)
        schedules.append(
            ZoneSchedule(
                code=z.code,
                name_zh=z.name_zh,
                name_en=z.name_en,
                level=ZoneLevel(z.level),
                stage=stage,
                phase=z.phase,
                plan_start=z.plan_start,
                plan_end=z.plan_end,
                accepted_on=accepted.get(z.code) if stage is Stage.accepted else None,
                schedule_status=status,
                days_overdue=(now - z.plan_end).days if status == OVERDUE and z.plan_end else 0,
            )
        )
    target_rows = await session.scalars(
        select(ProgrammeTarget).order_by(ProgrammeTarget.period_end, ProgrammeTarget.code)
    )
    target_out = []
    for t in target_rows:
        count = sum(
            1
            for s in schedules
            if s.level == t.level
            and s.accepted_on is not None
            and t.period_start <= s.accepted_on <= t.period_end
        )
        target_out.append(
            TargetOut(
                code=t.code,
                level=ZoneLevel(t.level),
                zones=t.zones,
                period_start=t.period_start,
                period_end=t.period_end,
                source=t.source,
                accepted=count,
                met=count >= t.zones,
            )
        )
    phases = [
        PhaseOut.model_validate(p).model_copy(
            update={"zones": [z.code for z in zones if z.phase == p.number]}
        )
        for p in await session.scalars(select(PlanPhase).order_by(PlanPhase.number))
    ]
    return TargetsOut(
        as_of=now,
        targets=target_out,
        phases=phases,
        actual=actual,
        zones=schedules,
        overdue=[s.code for s in schedules if s.schedule_status == OVERDUE],
    )


async def announce_overdue_zones(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Emit `registry.zone.overdue` once for each zone past its planned end and neither
    accepted nor revoked. One guarded Core UPDATE marks them (a concurrent run waits on the
    rows and then finds them marked), and leaves the zone's version (its ETag) alone."""
    now = today()
    async with sessionmaker() as session, session.begin():
        marked = await session.execute(
            update(Zone)
            .where(
                Zone.plan_end < now,
                Zone.stage.not_in((Stage.accepted.value, Stage.revoked.value)),
                Zone.overdue_notified_at.is_(None),
            )
            .values(overdue_notified_at=utcnow())
            .returning(Zone.code, Zone.level, Zone.stage, Zone.phase, Zone.plan_end)
            .execution_options(synchronize_session=False)
        )
        rows = sorted(marked.all())
        for code, level, stage, phase, plan_end in rows:
            assert plan_end is not None  # the WHERE compared it
            await publish(
                session,
                "registry.zone.overdue.v1",
                code,
                ZoneOverdue(
                    code=code,
                    level=level,
                    stage=stage,
                    phase=phase,
                    plan_end=plan_end,
                    days_overdue=(now - plan_end).days,
                ),
            )
    return len(rows)
