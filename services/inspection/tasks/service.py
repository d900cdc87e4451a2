"""Tasks: who sees which, and recording a result (which may open a CAPA)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.db import get_or_404, utcnow
from kit.events import TaskCompleted
from kit.pagination import PageParams, keyset_page
from kit.problems import Conflict as ConflictProblem
from kit.problems import ProblemError, invalid
from kit.uscc import normalize
from services.inspection.campaigns.models import Campaign
from services.inspection.capas import service as capas
from services.inspection.capas.models import Capa
from services.inspection.checklists.models import Checklist
from services.inspection.config import settings
from services.inspection.directory.models import DirectoryEntry
from services.inspection.domain import Verdict
from services.inspection.eligibility import of_own_unit
from services.inspection.events import publish
from services.inspection.inspectors.models import Inspector
from services.inspection.inspectors.service import conflicts_today, inspector_uuid
from services.inspection.tasks.models import WRITER_XID, Task
from services.inspection.tasks.schemas import ResultIn


def ensure_can_see(principal: Principal, task: Task) -> None:
    """Inspectors see their own tasks, enterprises the tasks about them, offices all."""
    if principal.inspector_id is not None:
        if inspector_uuid(principal) not in task.inspector_ids:
            raise ProblemError("forbidden", "this task is not assigned to you")
    elif principal.uscc is not None and principal.uscc != task.uscc:
        raise ProblemError("forbidden", "an enterprise sees only tasks about itself")


async def get(session: AsyncSession, task_id: uuid.UUID, *, for_update: bool = False) -> Task:
    """One task, or 404."""
    return await get_or_404(session, Task, task_id, "task", for_update=for_update)


async def search(
    session: AsyncSession,
    *,
    page: PageParams,
    principal: Principal,
    campaign_id: uuid.UUID | None,
    uscc: str | None,
    status: str | None,
) -> tuple[list[Task], str | None]:
    """Tasks the caller may see."""
    query = select(Task)
    if principal.inspector_id is not None:
        query = query.where(Task.inspector_ids.contains([inspector_uuid(principal)]))
    if principal.uscc is not None:
        uscc = principal.uscc
    if campaign_id:
        query = query.where(Task.campaign_id == campaign_id)
    if uscc:
        query = query.where(Task.uscc == normalize(uscc))
    if status:
        query = query.where(Task.status == status)
    return await keyset_page(session, query, keys=[Task.id], page=page)


async def _recording_agency(session: AsyncSession, principal: Principal, task: Task) -> str:
    """The agency whose result this is: the recording inspector's (else the targeted task's
    agency, or the campaign's lead agency when the office records it)."""
    if principal.inspector_id is not None:
        inspector = await session.get(Inspector, inspector_uuid(principal))
        if inspector is not None:
            return inspector.agency
    if task.agency is not None:
        return task.agency
    campaign = await session.get_one(Campaign, task.campaign_id)
    return campaign.agencies[0]


async def record_result(
    session: AsyncSession, task: Task, result_in: ResultIn, principal: Principal
) -> Task:
    """Record a locked task's result; a fail opens a CAPA; emits inspection.task.completed."""
    if principal.inspector_id is not None:
        ensure_can_see(principal, task)
    elif not principal.is_admin:
        raise ProblemError("forbidden", "results are recorded by the task's inspectors")
    if task.status != "open":
        raise ConflictProblem(f"the task is {task.status}", status_now=task.status)
    checklist = await session.get(Checklist, task.checklist_id) if task.checklist_id else None
    known = {item["code"] for item in checklist.items} if checklist else set()
    unknown = sorted({f.item for f in result_in.findings} - known)
    if unknown and checklist is not None:
        raise invalid("findings", f"not items of the checklist: {', '.join(unknown[:10])}")
    if set(result_in.confirmed_by) != set(task.inspector_ids):
        raise invalid("confirmed_by", "every assigned inspector, and only they, must confirm")
    now = utcnow()
    checked_at = min(result_in.checked_at or now, now)
    task.status = "completed"
    task.verdict = result_in.verdict.value
    task.result = result_in.model_dump(mode="json")
    task.completed_at = checked_at
    task.version += 1
    task.change = WRITER_XID
    task.updated_at = now
    failed = result_in.verdict == Verdict.fail
    await publish(
        session,
        "inspection.task.completed.v1",
        task.uscc,
        TaskCompleted(
            task_id=str(task.id),
            campaign_id=str(task.campaign_id) if task.campaign_id else None,
            uscc=task.uscc,
            agency=await _recording_agency(session, principal, task),
            outcome="fail" if failed else "pass",
            severity="minor" if result_in.verdict == Verdict.minor else "general",
            checklist_items=sorted(
                f.item for f in result_in.findings if f.outcome != "not_applicable"
            ),
            completed_at=checked_at,
            evidence_ref=f"task {task.id}",
        ),
    )
    if failed:
        capa = Capa(
            task_id=task.id,
            uscc=task.uscc,
            findings="; ".join(
                f"{f.item}: {f.note or 'fail'}" for f in result_in.findings if f.outcome == "fail"
            ),
            due_at=now + timedelta(days=settings.capa_days),
        )
        session.add(capa)
        await session.flush()
        await capas.announce(session, capa, "open")
    await session.flush()
    await session.refresh(task)
    return task


async def assign(session: AsyncSession, task: Task, inspector_ids: list[uuid.UUID]) -> Task:
    """Set a targeted task's inspectors: active, unconflicted, not of the enterprise's unit."""
    if task.kind != "targeted" or task.status != "open":
        raise ConflictProblem(
            "only an open targeted task is assigned by hand", kind=task.kind, status_now=task.status
        )
    found = {
        i.id: i
        for i in await session.scalars(select(Inspector).where(Inspector.id.in_(inspector_ids)))
    }
    entry = await session.get(DirectoryEntry, task.uscc)
    conflicted = {i for i, _ in await conflicts_today(session, {task.uscc})}
    unit = (entry.unit if entry else None) or None  # an empty unit keeps nobody out, as ever
    for inspector_id in inspector_ids:
        inspector = found.get(inspector_id)
        if inspector is None or not inspector.active:
            raise invalid("inspector_ids", f"{inspector_id} is not an active inspector")
        if inspector_id in conflicted:
            raise invalid("inspector_ids", f"{inspector_id} declared a conflict with {task.uscc}")
        if of_own_unit(inspector.unit, unit):
            raise invalid("inspector_ids", f"{inspector_id} is of the enterprise's own unit")
    task.inspector_ids = list(inspector_ids)
    task.version += 1
    task.change = WRITER_XID
    task.updated_at = utcnow()
    await session.flush()
    await session.refresh(task)
    return task
