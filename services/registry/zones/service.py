"""Zones: planning, lifecycle transitions with the work plan's stage tasks."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import Integer, String, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.db import Prepared, Reads, get_or_404, utcnow
from kit.events import ZoneRegistered, ZoneTransitioned
from kit.pagination import PageParams, cursor_values, keyset_page, page_of
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
    PublicZoneTask,
    TaskUpdate,
    TransitionIn,
    ZoneIn,
    ZoneOut,
    ZonePatch,
    ZoneTaskOut,
)


def _derived(level: str, stage: str, plan_end: date | None) -> dict[str, Any]:
    """What a zone's view adds to its row: who accepts it, where it may move, its schedule."""
    zh, en = ACCEPTANCE_AUTHORITY[ZoneLevel(level)]
    return {
        "acceptance_authority": {"zh": zh, "en": en, "agency": ACCEPTING_AGENCY[ZoneLevel(level)]},
        "allowed_transitions": manual_transitions(Stage(stage)),
        "schedule_status": schedule_status(
            Stage(stage), plan_end, utcnow().astimezone(CHINA).date()
        ),
    }


def to_out(zone: Zone, tasks: list[ZoneTaskOut] | None = None) -> ZoneOut:
    """API view of a zone, with its tasks (loaded with it unless given)."""
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
        **_derived(zone.level, zone.stage, zone.plan_end),
        tasks=[ZoneTaskOut.model_validate(t) for t in zone.tasks] if tasks is None else tasks,
        version=zone.version,
        created_at=zone.created_at,
        updated_at=zone.updated_at,
    )


def to_public(zone: Zone, tasks: list[ZoneTaskOut] | None = None) -> PublicZoneOut:
    """The public view of a zone: the internal view's public fields only."""
    return PublicZoneOut.model_validate(to_out(zone, tasks).model_dump())


_ZONE_COLUMNS = [
    getattr(Zone, name)
    for name in ZoneOut.model_fields
    if name not in ("acceptance_authority", "allowed_transitions", "schedule_status", "tasks")
]
# the list's statement for each set of filters given, built and compiled once
_LISTINGS: dict[frozenset[str], Prepared] = {}
View = TypeVar("View", ZoneOut, PublicZoneOut)


def _listing(given: frozenset[str]) -> Prepared:
    prepared = _LISTINGS.get(given)
    if prepared is None:
        query = select(*_ZONE_COLUMNS)
        for name in given:
            column = Zone.code if name == "after" else getattr(Zone, name)
            value = bindparam(name, type_=String)
            query = query.where(column > value if name == "after" else column == value)
        query = query.order_by(Zone.code).limit(bindparam("limit", type_=Integer))
        prepared = _LISTINGS[given] = Prepared(query)
    return prepared


# A page's tasks as each view shows them (its task model's fields, in order), with their zone
_VIEW_TASKS: dict[type[BaseModel], Prepared] = {
    view: Prepared(
        select(*(getattr(ZoneTask, name) for name in task.model_fields), ZoneTask.zone_code)
        .where(ZoneTask.zone_code == any_(bindparam("codes", type_=ARRAY(String))))
        .order_by(ZoneTask.zone_code, ZoneTask.position)
    )
    for view, task in ((ZoneOut, ZoneTaskOut), (PublicZoneOut, PublicZoneTask))
}


@cache
def _derived_of(level: str, stage: str) -> tuple[dict[str, str], list[Stage]]:
    """What a zone's view adds that depends on its level and stage only (read, not changed)."""
    zh, en = ACCEPTANCE_AUTHORITY[ZoneLevel(level)]
    authority = {"zh": zh, "en": en, "agency": ACCEPTING_AGENCY[ZoneLevel(level)]}
    return authority, manual_transitions(Stage(stage))


async def list_zones(
    on: Reads,
    *,
    page: PageParams,
    view: type[View],
    industry: str | None = None,
    level: str | None = None,
    stage: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Zones by code, optionally filtered, each with its tasks, as `view` shows them: two
    statements compiled once (the page, then its tasks) on a session or the read pool. Each
    zone is a dict of `view`'s fields in its order with JSON-ready values
    (`kit.pagination.page_json`): no model is built for a page of zones and their tasks."""
    after = cursor_values(page, [Zone.code])
    params = {
        "industry": industry,
        "level": level,
        "stage": stage,
        "after": after[0] if after is not None else None,
    }
    given = {k: v for k, v in params.items() if v is not None}
    rows = await _listing(frozenset(given)).all(on, **given, limit=page.limit + 1)
    rows, next_cursor = page_of(rows, page, ["code"])
    tasks: dict[str, list[dict[str, Any]]] = {row["code"]: [] for row in rows}
    if rows:
        for task in await _VIEW_TASKS[view].all(on, codes=list(tasks)):
            tasks[task.pop("zone_code")].append(task)
    today = utcnow().astimezone(CHINA).date()
    fields = view.model_fields
    items = []
    for row in rows:
        authority, allowed = _derived_of(row["level"], row["stage"])
        row["acceptance_authority"] = authority
        row["allowed_transitions"] = allowed
        row["schedule_status"] = schedule_status(Stage(row["stage"]), row["plan_end"], today)
        row["tasks"] = tasks[row["code"]]
        items.append({name: row[name] for name in fields})
    return items, next_cursor


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
