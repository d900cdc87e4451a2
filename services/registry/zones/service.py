"""Zones: planning, lifecycle transitions with the work plan's stage tasks."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import TypeAdapter
from sqlalchemy import String, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import raiseload

from kit.auth import Principal
from kit.db import Prepared, get_or_404, utcnow
from kit.events import ZoneRegistered, ZoneTransitioned
from kit.pagination import PageParams, keyset_page
from kit.problems import Conflict, NotFound, ProblemError, invalid
from kit.validation import CHINA
from kit.vocabulary import STAGES, name
from services.registry.domain import (
    ACCEPTANCE_AUTHORITY,
    ACCEPTING_AGENCY,
    STAGE_TASKS,
    Industry,
    Stage,
    ZoneLevel,
    manual_transitions,
    schedule_status,
)
from services.registry.events import publish
from services.registry.programme.targets.models import PlanPhase
from services.registry.zones.models import Zone, ZoneTask, ZoneTransition
from services.registry.zones.revocation import end_zone
from services.registry.zones.schemas import (
    PublicZoneOut,
    TaskUpdate,
    TransitionIn,
    ZoneIn,
    ZoneOut,
    ZonePatch,
    ZoneTaskOut,
)


def to_out(zone: Zone, tasks: list[ZoneTaskOut] | None = None) -> ZoneOut:
    """API view of a zone, with its tasks (loaded with it unless given)."""
    zh, en = ACCEPTANCE_AUTHORITY[ZoneLevel(zone.level)]
    return ZoneOut(
        code=zone.code,
        name_zh=zone.name_zh,
        name_en=zone.name_en,
        industry=Industry(zone.industry),
        level=ZoneLevel(zone.level),
        stage=Stage(zone.stage),
        phase=zone.phase,
        plan_start=zone.plan_start,
        plan_end=zone.plan_end,
        description=zone.description,
        acceptance_authority={
            "zh": zh,
            "en": en,
            "agency": ACCEPTING_AGENCY[ZoneLevel(zone.level)],
        },
        allowed_transitions=manual_transitions(Stage(zone.stage)),
        schedule_status=schedule_status(
            Stage(zone.stage), zone.plan_end, utcnow().astimezone(CHINA).date()
        ),
        tasks=[ZoneTaskOut.model_validate(t) for t in zone.tasks] if tasks is None else tasks,
        version=zone.version,
        created_at=zone.created_at,
        updated_at=zone.updated_at,
    )


def to_public(zone: Zone, tasks: list[ZoneTaskOut] | None = None) -> PublicZoneOut:
    """The public view of a zone: the internal view's public fields only."""
    return PublicZoneOut.model_validate(to_out(zone, tasks).model_dump())


async def list_zones(
    session: AsyncSession,
    *,
    page: PageParams,
    industry: str | None = None,
    level: str | None = None,
    stage: str | None = None,
) -> tuple[list[Zone], str | None]:
    """Zones by code, optionally filtered; their tasks are not loaded (`tasks_of` reads
    them; reaching for `zone.tasks` raises)."""
    query = select(Zone).options(raiseload(Zone.tasks))
    if industry:
        query = query.where(Zone.industry == industry)
    if level:
        query = query.where(Zone.level == level)
    if stage:
        query = query.where(Zone.stage == stage)
    return await keyset_page(session, query, keys=[Zone.code], page=page)


_TASK_COLUMNS = [getattr(ZoneTask, name) for name in ZoneTaskOut.model_fields]


# Each zone's tasks in work-plan order: a page of ten zones holds a hundred or more, so plain
# rows through a statement compiled once (kit.db.Prepared), validated in one call.
_TASKS = Prepared(
    select(ZoneTask.zone_code, *_TASK_COLUMNS)
    .where(ZoneTask.zone_code == any_(bindparam("codes", type_=ARRAY(String))))
    .order_by(ZoneTask.zone_code, ZoneTask.position)
)
_TASK_LIST = TypeAdapter(list[ZoneTaskOut])


async def tasks_of(session: AsyncSession, codes: list[str]) -> dict[str, list[ZoneTaskOut]]:
    """Each of `codes`' tasks in work-plan order."""
    rows = await _TASKS.all(session, codes=codes)
    tasks: dict[str, list[ZoneTaskOut]] = {code: [] for code in codes}
    for row, task in zip(rows, _TASK_LIST.validate_python(rows), strict=True):
        tasks[row["zone_code"]].append(task)
    return tasks


async def get(session: AsyncSession, code: str, *, for_update: bool = False) -> Zone:
    """A zone by code, or 404; `for_update` locks the row for the rest of the transaction."""
    return await get_or_404(session, Zone, code, "zone", for_update=for_update)


async def check_plan(
    session: AsyncSession, phase: int | None, plan_start: date | None, plan_end: date | None
) -> None:
    """422 naming the field unless `phase` is one of the work plan's phases and the planned
    dates given fall inside its window (a zone outside the plan has no phase)."""
    if phase is None:
        return
    window = await session.get(PlanPhase, phase)
    if window is None:
        numbers = list(await session.scalars(select(PlanPhase.number).order_by(PlanPhase.number)))
        raise invalid(
            "phase",
            f"must be one of the work plan's phases: {numbers}",
            f"应为工作方案中的阶段之一：{numbers}",
        )
    for field, value in (("plan_start", plan_start), ("plan_end", plan_end)):
        if value is not None and not window.starts_on <= value <= window.ends_on:
            raise invalid(
                field,
                f"must fall inside phase {phase}'s window, {window.starts_on} to {window.ends_on}",
                f"应在第 {phase} 阶段的时间范围内：{window.starts_on} 至 {window.ends_on}",
            )


async def create(session: AsyncSession, *, zone_in: ZoneIn) -> Zone:
    """Plan a zone with every stage's task checklist and announce it
    (`registry.zone.registered`); 409 if the code exists, 422 if its phase is not one of the
    plan's or its dates fall outside the phase's window."""
    if await session.get(Zone, zone_in.code) is not None:
        raise Conflict(
            f"zone '{zone_in.code}' already exists", detail_zh=f"示范区“{zone_in.code}”已存在"
        )
    await check_plan(session, zone_in.phase, zone_in.plan_start, zone_in.plan_end)
    zone = Zone(**zone_in.model_dump(), stage=Stage.planned.value, tasks=[])
    position = 0
    for stage, tasks in STAGE_TASKS.items():
        for code, zh, en in tasks:
            position += 1
            zone.tasks.append(
                ZoneTask(
                    stage=stage.value,
                    task_code=code,
                    position=position,
                    title_zh=zh,
                    title_en=en,
                )
            )
    session.add(zone)
    await session.flush()
    await publish(
        session,
        "registry.zone.registered.v1",
        zone.code,
        ZoneRegistered(
            code=zone.code,
            level=zone.level,
            industry=zone.industry,
            name_zh=zone.name_zh,
            name_en=zone.name_en,
        ),
    )
    return zone


async def update(session: AsyncSession, zone: Zone, *, patch: ZonePatch) -> Zone:
    """Apply a partial update (the caller has checked If-Match)."""
    changes = patch.model_dump(exclude_unset=True)
    for field, value in changes.items():
        setattr(zone, field, value)
    start, end = zone.plan_start, zone.plan_end
    if start and end and end < start:
        raise ProblemError(
            "validation",
            "plan_end must not be before plan_start",
            detail_zh="计划结束日期（plan_end）不能早于计划开始日期（plan_start）",
        )
    if changes.keys() & {"phase", "plan_start", "plan_end"}:  # an older zone's other edits pass
        await check_plan(session, zone.phase, start, end)
    await session.flush()
    return zone


async def transition(
    session: AsyncSession,
    zone: Zone,
    *,
    transition_in: TransitionIn,
    principal: Principal,
    at: datetime | None = None,
) -> ZoneTransition:
    """Move a zone along its lifecycle; 409 listing the allowed stages when illegal, and 409
    (`rule: acceptance_decision`) for `accepted`, which only the accepting authority's
    decision reaches. Revoking ends the zone's memberships and commitments. `at` dates the
    move (the demo seed's history); by default now."""
    current = Stage(zone.stage)
    allowed = manual_transitions(current)
    if transition_in.to is Stage.accepted and current is Stage.assessing:
        raise ProblemError(
            "illegal-transition",
            f"zone '{zone.code}' is accepted only by the decision of its accepting authority "
            f"({ACCEPTING_AGENCY[ZoneLevel(zone.level)]}) on a filed acceptance application",
            detail_zh=f"示范区“{zone.code}”只能由验收单位"
            f"（{ACCEPTING_AGENCY[ZoneLevel(zone.level)]}）根据已提交的验收申请作出决定后通过验收",
            rule="acceptance_decision",
            current=current.value,
            requested=transition_in.to.value,
            allowed=[s.value for s in allowed],
        )
    if transition_in.to not in allowed:
        raise ProblemError(
            "illegal-transition",
            f"zone '{zone.code}' is {current.value}; it can move to: "
            + (", ".join(s.value for s in allowed) or "nothing (final state)"),
            detail_zh=f"示范区“{zone.code}”当前处于“{name(STAGES, current)}”阶段；可转入："
            + ("、".join(name(STAGES, s) for s in allowed) or "无（终止状态）"),
            current=current.value,
            requested=transition_in.to.value,
            allowed=[s.value for s in allowed],
        )
    record = await move(
        session,
        zone,
        to=transition_in.to,
        reason=transition_in.reason,
        actor=principal.subject,
        agency=principal.agency,
        at=at,
    )
    if transition_in.to is Stage.revoked:
        await end_zone(session, zone.code, actor=principal.subject)
    return record


async def move(
    session: AsyncSession,
    zone: Zone,
    *,
    to: Stage,
    reason: str | None,
    actor: str,
    agency: str | None,
    at: datetime | None = None,
) -> ZoneTransition:
    """Record a stage move the caller has checked, with the tasks it leaves open, and
    announce it (`registry.zone.transitioned`)."""
    current = Stage(zone.stage)
    open_tasks = [t.task_code for t in zone.tasks if t.stage == current.value and t.done_at is None]
    record = ZoneTransition(
        zone_code=zone.code,
        from_stage=current.value,
        to_stage=to.value,
        reason=reason,
        actor=actor,
        agency=agency,
        open_tasks=open_tasks,
        at=at or utcnow(),
    )
    zone.stage = to.value
    session.add(record)
    await session.flush()
    await publish(
        session,
        "registry.zone.transitioned.v1",
        zone.code,
        ZoneTransitioned(
            code=zone.code, from_stage=current.value, to_stage=to.value, reason=reason, actor=actor
        ),
    )
    return record


async def list_transitions(
    session: AsyncSession, code: str, *, page: PageParams
) -> tuple[list[ZoneTransition], str | None]:
    """A zone's transition history, oldest first."""
    await get(session, code)
    query = select(ZoneTransition).where(ZoneTransition.zone_code == code)
    keys = [ZoneTransition.at, ZoneTransition.id]
    return await keyset_page(session, query, keys=keys, page=page)


async def set_task(
    session: AsyncSession,
    zone: Zone,
    task_code: str,
    *,
    task_update: TaskUpdate,
    principal: Principal,
) -> ZoneTask:
    """Mark a stage task done (with who and when) or reopen it."""
    task = next((t for t in zone.tasks if t.task_code == task_code), None)
    if task is None:
        raise NotFound("zone task", task_code)
    task.done_at = utcnow() if task_update.done else None
    task.done_by = principal.subject if task_update.done else None
    task.note = task_update.note
    zone.updated_at = utcnow()
    await session.flush()
    return task
