"""Targets and schedule: the guidance's targets and the plan's phases as data, a zone's phase
and planned dates checked against them, the schedule status, and `registry.zone.overdue`
announced once per zone."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kit.industries import Industry
from kit.problems import ProblemError
from services.registry.domain import Stage, ZoneLevel
from services.registry.programme.shared import today
from services.registry.programme.targets import service
from services.registry.zones import service as zones
from services.registry.zones.schemas import TransitionIn, ZoneIn, ZonePatch
from tests.integration.conftest import emitted
from tests.integration.registry.conftest import OFFICE_ADMIN


def _zone(**plan: object) -> ZoneIn:
    return ZoneIn.model_validate(
        {
            "code": f"zone-{uuid.uuid4().hex[:10]}",
            "name_zh": "出口五金示范区",
            "name_en": "Export hardware zone",
            "industry": Industry.hardware,
            "level": ZoneLevel.provincial,
            **plan,
        }
    )


async def test_the_guidance_targets_and_phases_are_data(session: AsyncSession) -> None:
    out = await service.targets(session)
    assert {(t.level, t.zones, t.period_end) for t in out.targets} == {
        (ZoneLevel.national, 2, date(2020, 12, 31)),
        (ZoneLevel.provincial, 6, date(2020, 12, 31)),
    }
    assert [(p.number, p.starts_on, p.ends_on) for p in out.phases] == [
        (1, date(2017, 3, 1), date(2018, 2, 28)),
        (2, date(2018, 3, 1), date(2019, 2, 28)),
        (3, date(2019, 3, 1), date(2020, 2, 29)),
    ]


@pytest.mark.parametrize(
    ("plan", "field"),
    [
        ({"phase": 4}, "phase"),
        ({"phase": 9, "plan_start": "2017-03-01"}, "phase"),
        ({"phase": 2, "plan_start": "2017-03-01"}, "plan_start"),
        ({"phase": 3, "plan_start": "2019-03-01", "plan_end": "2020-03-01"}, "plan_end"),
    ],
)
async def test_a_phase_outside_the_plan_or_dates_outside_its_window_are_refused(
    session: AsyncSession, plan: dict[str, object], field: str
) -> None:
    with pytest.raises(ProblemError) as refused:
        await zones.create(session, zone_in=_zone(**plan))
    assert refused.value.status == 422
    assert refused.value.extensions["errors"][0]["field"] == field


async def test_an_update_keeps_the_dates_inside_the_phase(session: AsyncSession) -> None:
    zone = await zones.create(
        session, zone_in=_zone(phase=2, plan_start="2018-03-01", plan_end="2019-02-28")
    )
    with pytest.raises(ProblemError) as moved:
        await zones.update(session, zone, patch=ZonePatch(phase=3))
    assert moved.value.extensions["errors"][0]["field"] == "plan_start"
    unplanned = await zones.create(session, zone_in=_zone(plan_start="2015-03-01"))
    assert unplanned.phase is None  # a zone outside the plan (the 2016 stationery zone)
    # a zone stored before the rule, its dates outside its phase: other edits still pass
    unplanned.phase = 2
    await session.flush()
    await zones.update(session, unplanned, patch=ZonePatch(description="补充说明"))
    with pytest.raises(ProblemError) as touched:
        await zones.update(session, unplanned, patch=ZonePatch(plan_end=date(2019, 1, 1)))
    assert touched.value.extensions["errors"][0]["field"] == "plan_start"


async def test_an_overdue_zone_is_flagged_and_announced_once(session: AsyncSession) -> None:
    late = await zones.create(
        session, zone_in=_zone(phase=3, plan_start="2019-03-01", plan_end="2020-02-29")
    )
    soon = await zones.create(session, zone_in=_zone(plan_end=str(today() + timedelta(days=30))))
    revoked = await zones.create(session, zone_in=_zone(plan_end="2020-02-29"))
    await zones.transition(
        session, revoked, transition_in=TransitionIn(to=Stage.revoked), principal=OFFICE_ADMIN
    )
    version = late.version
    out = await service.targets(session)
    schedule = {z.code: z for z in out.zones}
    assert schedule[late.code].schedule_status == "overdue"
    assert schedule[late.code].days_overdue == (today() - date(2020, 2, 29)).days
    assert schedule[soon.code].schedule_status == "on_schedule"
    assert schedule[revoked.code].schedule_status == "on_schedule"
    assert out.overdue == [late.code]
    assert out.actual[ZoneLevel.provincial][Stage.planned] == 2
    assert zones.to_out(late).schedule_status == "overdue"

    sessions = async_sessionmaker(
        bind=session.bind, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    assert await service.announce_overdue_zones(sessions) == 1
    assert await service.announce_overdue_zones(sessions) == 0
    overdue = [(s, d) for t, s, d in await emitted(session) if t == "registry.zone.overdue.v1"]
    assert overdue == [
        (
            late.code,
            {
                "code": late.code,
                "level": "provincial",
                "stage": "planned",
                "phase": 3,
                "plan_end": "2020-02-29",
                "days_overdue": (today() - date(2020, 2, 29)).days,
            },
        )
    ]
    await session.refresh(late)
    assert late.overdue_notified_at is not None and late.version == version  # the ETag stays
