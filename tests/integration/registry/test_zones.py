"""Planning zones and moving them along their lifecycle: the stage checklists, the
transitions recorded with the tasks left open, the moves refused."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.industries import Industry
from kit.pagination import Page, PageParams, decode_cursor, page_json
from kit.problems import Conflict, ProblemError
from services.registry.domain import STAGE_TASKS, Stage, ZoneLevel
from services.registry.zones import service
from services.registry.zones.models import ZoneTransition
from services.registry.zones.schemas import (
    PublicZoneOut,
    TaskUpdate,
    TransitionIn,
    ZoneIn,
    ZoneOut,
    ZonePatch,
)
from tests.integration.conftest import emitted


async def _move(session: AsyncSession, code: str, to: Stage, principal: Principal) -> None:
    zone = await service.get(session, code)
    await service.transition(
        session, zone, transition_in=TransitionIn(to=to, reason=f"to {to}"), principal=principal
    )


async def test_a_planned_zone_carries_every_stage_task_and_its_code_once(
    session: AsyncSession, zone: str
) -> None:
    row = await service.get(session, zone)
    assert row.stage == "planned"
    assert [(t.stage, t.task_code) for t in row.tasks] == [
        (stage.value, code) for stage, tasks in STAGE_TASKS.items() for code, _, _ in tasks
    ]
    assert all(t.done_at is None for t in row.tasks)
    with pytest.raises(Conflict):
        await service.create(
            session,
            zone_in=ZoneIn(
                code=zone,
                name_zh="重复",
                name_en="Duplicate",
                industry=Industry.molds,
                level=ZoneLevel.national,
            ),
        )
    # planning is announced once (inspection's zone filters learn the code), a refusal never
    assert [(t, s, d["name_zh"]) for t, s, d in await emitted(session)] == [
        ("registry.zone.registered.v1", zone, "出口灯具质量安全示范区")
    ]


async def test_a_transition_records_the_left_stage_s_open_tasks_and_is_announced(
    session: AsyncSession, office: Principal, zone: str
) -> None:
    await _move(session, zone, Stage.launching, office)
    row = await service.get(session, zone)
    for code in ("survey", "kickoff_meeting"):
        done = TaskUpdate(done=True, note="已完成")
        await service.set_task(session, row, code, task_update=done, principal=office)
    await _move(session, zone, Stage.implementing, office)

    transitions = list(
        await session.scalars(
            select(ZoneTransition)
            .where(ZoneTransition.zone_code == zone)
            .order_by(ZoneTransition.at)
        )
    )
    assert [(t.from_stage, t.to_stage, t.open_tasks) for t in transitions] == [
        ("planned", "launching", []),
        ("launching", "implementing", ["apply_upward"]),
    ]
    assert transitions[1].actor == "office-staff" and transitions[1].agency == "commerce"
    survey = next(t for t in row.tasks if t.task_code == "survey")
    assert survey.done_by == "office-staff" and survey.done_at is not None
    moves = [e for e in await emitted(session) if e[0] != "registry.zone.registered.v1"]
    assert [(t, s, d["from_stage"], d["to_stage"]) for t, s, d in moves] == [
        ("registry.zone.transitioned.v1", zone, "planned", "launching"),
        ("registry.zone.transitioned.v1", zone, "launching", "implementing"),
    ]


async def test_stages_are_not_skipped_and_revoked_is_final(
    session: AsyncSession, office: Principal, zone: str
) -> None:
    with pytest.raises(ProblemError) as skipped:
        await _move(session, zone, Stage.accepted, office)
    assert skipped.value.slug == "illegal-transition"
    assert skipped.value.extensions["allowed"] == ["launching", "revoked"]
    assert skipped.value.detail_zh is not None
    assert "当前处于“规划”阶段；可转入：启动建设、撤销" in skipped.value.detail_zh

    await _move(session, zone, Stage.revoked, office)
    with pytest.raises(ProblemError) as final:
        await _move(session, zone, Stage.launching, office)
    assert final.value.extensions["allowed"] == []
    assert (await service.get(session, zone)).stage == "revoked"
    moves = [d for t, _, d in await emitted(session) if t == "registry.zone.transitioned.v1"]
    assert [d["to_stage"] for d in moves] == ["revoked"]


async def test_an_update_keeps_the_plan_in_order(session: AsyncSession, zone: str) -> None:
    """The end is checked against the start already stored, not only the one sent."""
    row = await service.get(session, zone)
    await service.update(session, row, patch=ZonePatch(plan_start=date(2026, 1, 1)))
    with pytest.raises(ProblemError) as backwards:
        await service.update(session, row, patch=ZonePatch(plan_end=date(2025, 12, 31)))
    assert backwards.value.slug == "validation"


async def test_the_zone_list_shows_each_zone_as_its_own_page_does(
    session: AsyncSession, office: Principal, zone: str
) -> None:
    """The list reads plain rows through prepared statements (on the read pool in the app),
    already in the API's shape: each zone and its tasks as `to_out` shows the zone read on
    its own (the same JSON, byte for byte), filters and the cursor as before, and the public
    view (`to_public`) without task notes or who did them."""
    other = f"{zone}-b"
    await service.create(
        session,
        zone_in=ZoneIn(
            code=other,
            name_zh="出口模具质量安全示范区",
            name_en="Export molds quality zone",
            industry=Industry.molds,
            level=ZoneLevel.national,
        ),
    )
    row = await service.get(session, zone)
    await service.set_task(
        session, row, "survey", task_update=TaskUpdate(done=True, note="内部备注"), principal=office
    )
    await session.flush()
    everything, _ = await service.list_zones(
        session, page=PageParams(cursor=None, limit=500), view=ZoneOut
    )
    listed = {z["code"]: z for z in everything}
    for code in (zone, other):
        single = service.to_out(await service.get(session, code))
        as_model = Page[ZoneOut](items=[single]).model_dump_json().encode()
        assert page_json([listed[code]], None) == as_model
    assert [t["note"] for t in listed[zone]["tasks"] if t["task_code"] == "survey"] == ["内部备注"]

    molds, _ = await service.list_zones(
        session, page=PageParams(cursor=None, limit=500), view=ZoneOut, industry="molds"
    )
    assert other in {z["code"] for z in molds} and zone not in {z["code"] for z in molds}

    seen: list[str] = []
    cursor = None
    while True:  # one at a time, in code order, each zone once
        page, next_cursor = await service.list_zones(
            session,
            page=PageParams(cursor=None if cursor is None else decode_cursor(cursor), limit=1),
            view=PublicZoneOut,
        )
        seen += [z["code"] for z in page]
        if next_cursor is None:
            break
        cursor = next_cursor
    assert seen == sorted(listed) and len(seen) == len(everything)
    public = {
        z["code"]: z
        for z in (
            await service.list_zones(
                session, page=PageParams(cursor=None, limit=500), view=PublicZoneOut
            )
        )[0]
    }
    assert "note" not in public[zone]["tasks"][0] and "done_by" not in public[zone]["tasks"][0]
    assert [
        t["done_at"] is not None for t in public[zone]["tasks"] if t["task_code"] == "survey"
    ] == [True]
    as_public = service.to_public(await service.get(session, zone))
    assert (
        page_json([public[zone]], None)
        == Page[PublicZoneOut](items=[as_public]).model_dump_json().encode()
    )

    with pytest.raises(ProblemError):
        await service.list_zones(
            session, page=PageParams(cursor={"uscc": "x"}, limit=5), view=ZoneOut
        )
