"""Tasks: who sees which, a result recorded by one assigned inspector and confirmed by each
of the others with their own token, final (announced, maybe opening a CAPA) with all."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.db import get_or_404, utcnow
from kit.events import TaskCompleted
from kit.pagination import PageParams, keyset_page
from kit.problems import Conflict as ConflictProblem
from kit.problems import ProblemError, invalid
from kit.uscc import normalize
from kit.vocabulary import STATUSES, name
from services.inspection.campaigns.models import Campaign
from services.inspection.capas import service as capas
from services.inspection.capas.models import Capa
from services.inspection.checklists.models import Checklist
from services.inspection.config import settings
from services.inspection.directory.models import DirectoryEntry
from services.inspection.domain import Verdict
from services.inspection.eligibility import of_own_unit
from services.inspection.events import publish
from services.inspection.evidence import service as evidence
from services.inspection.inspectors.models import Inspector
from services.inspection.inspectors.service import conflicts_today, inspector_uuid
from services.inspection.tasks.models import WRITER_XID, Task
from services.inspection.tasks.schemas import ResultIn


def ensure_can_see(principal: Principal, task: Task) -> None:
    """Inspectors see their own tasks, enterprises the tasks about them, offices all."""
    if principal.inspector_id is not None:
        if inspector_uuid(principal) not in task.inspector_ids:
            raise ProblemError(
                "forbidden", "this task is not assigned to you", detail_zh="此任务未分配给你"
            )
    elif principal.uscc is not None and principal.uscc != task.uscc:
        raise ProblemError(
            "forbidden",
            "an enterprise sees only tasks about itself",
            detail_zh="企业只能查看与本企业有关的任务",
        )


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


# 双随机: a check is made by two inspectors at least, each answerable for the result.
MIN_CONFIRMATIONS = 2


def ensure_assigned(principal: Principal, task: Task) -> uuid.UUID:
    """The calling inspector, when assigned to the task (403 otherwise): a result is
    recorded and confirmed only by the task's own inspectors, each with their own token. An
    office or agency token is no inspector, so it neither records nor confirms for one."""
    if principal.inspector_id is None:
        raise ProblemError(
            "forbidden",
            "a result is recorded and confirmed only by the task's assigned inspectors, "
            "each with their own token",
            detail_zh="检查结果只能由任务指派的检查员用各自的令牌记录和确认",
        )
    inspector = inspector_uuid(principal)
    if inspector not in task.inspector_ids:
        raise ProblemError(
            "forbidden", "this task is not assigned to you", detail_zh="此任务未分配给你"
        )
    return inspector


def _touch(task: Task, now: datetime) -> None:
    task.version += 1
    task.change = WRITER_XID
    task.updated_at = now


async def record_result(
    session: AsyncSession, task: Task, result_in: ResultIn, principal: Principal
) -> Task:
    """Record a locked open task's result by one of its inspectors, whose recording is their
    confirmation; the result awaits the others' (`confirm`). Recording again before it is
    final replaces it and starts the confirmations afresh: the others confirmed the old one."""
    inspector = ensure_assigned(principal, task)
    if task.status != "open":
        raise ConflictProblem(
            f"the task is {task.status}",
            detail_zh=f"该任务当前为“{name(STATUSES, task.status)}”",
            status_now=task.status,
        )
    checklist = await session.get(Checklist, task.checklist_id) if task.checklist_id else None
    known = {item["code"] for item in checklist.items} if checklist else set()
    unknown = sorted({f.item for f in result_in.findings} - known)
    if unknown and checklist is not None:
        raise invalid(
            "findings",
            f"not items of the checklist: {', '.join(unknown[:10])}",
            f"不是检查表中的项目：{'、'.join(unknown[:10])}",
        )
    await evidence.check_references(
        session, principal, "evidence", (e.sha256 for e in result_in.evidence)
    )
    now = utcnow()
    result = result_in.model_dump(mode="json")
    result["checked_at"] = min(result_in.checked_at or now, now).isoformat()
    task.result = result
    task.recorded_by = inspector
    task.confirmations = [{"inspector_id": str(inspector), "at": now.isoformat()}]
    _touch(task, now)
    await session.flush()
    await session.refresh(task)
    return task


async def confirm(session: AsyncSession, task: Task, principal: Principal) -> Task:
    """An assigned inspector confirms the locked task's recorded result with their own
    token; with every assigned inspector's (two at least) it is final. A confirmation
    already given is a no-op (a retry after the one that made it final included)."""
    inspector = ensure_assigned(principal, task)
    if has_confirmed(principal, task):
        return task
    if task.status != "open":
        raise ConflictProblem(
            f"the task is {task.status}",
            detail_zh=f"该任务当前为“{name(STATUSES, task.status)}”",
            status_now=task.status,
        )
    if task.result is None:
        raise ConflictProblem(
            "no result has been recorded to confirm",
            detail_zh="尚未记录可供确认的检查结果",
            status_now=task.status,
        )
    now = utcnow()
    task.confirmations = [
        *task.confirmations,
        {"inspector_id": str(inspector), "at": now.isoformat()},
    ]
    confirmed = _confirmed(task)
    if len(confirmed) >= MIN_CONFIRMATIONS and {str(i) for i in task.inspector_ids} <= confirmed:
        await _finalize(session, task, now)
    _touch(task, now)
    await session.flush()
    await session.refresh(task)
    return task


def _confirmed(task: Task) -> set[str]:
    return {c["inspector_id"] for c in task.confirmations}


def has_confirmed(principal: Principal, task: Task) -> bool:
    """True when the calling assigned inspector (403 for anyone else) already confirmed the
    task's recorded result."""
    inspector = ensure_assigned(principal, task)
    return task.result is not None and str(inspector) in _confirmed(task)


async def _recording_agency(session: AsyncSession, task: Task) -> str:
    """The agency whose result this is: the recording inspector's (else the targeted task's
    agency, or the campaign's lead agency)."""
    inspector = await session.get(Inspector, task.recorded_by) if task.recorded_by else None
    if inspector is not None:
        return inspector.agency
    if task.agency is not None:
        return task.agency
    campaign = await session.get_one(Campaign, task.campaign_id)
    return campaign.agencies[0]


async def _finalize(session: AsyncSession, task: Task, now: datetime) -> None:
    """Complete a task whose result every assigned inspector confirmed: emits
    inspection.task.completed (credit records it as a fact); a fail opens a CAPA."""
    assert task.result is not None
    findings = task.result["findings"]
    verdict = Verdict(task.result["verdict"])
    checked_at = datetime.fromisoformat(task.result["checked_at"])
    task.status = "completed"
    task.verdict = verdict.value
    task.completed_at = checked_at
    failed = verdict == Verdict.fail
    await publish(
        session,
        "inspection.task.completed.v1",
        task.uscc,
        TaskCompleted(
            task_id=str(task.id),
            campaign_id=str(task.campaign_id) if task.campaign_id else None,
            uscc=task.uscc,
            agency=await _recording_agency(session, task),
            outcome="fail" if failed else "pass",
            severity="minor" if verdict == Verdict.minor else "general",
            checklist_items=sorted(f["item"] for f in findings if f["outcome"] != "not_applicable"),
            completed_at=checked_at,
            evidence_ref=f"task {task.id}",
        ),
    )
    if failed:
        capa = Capa(
            task_id=task.id,
            uscc=task.uscc,
            findings="; ".join(
                f"{f['item']}: {f['note'] or 'fail'}" for f in findings if f["outcome"] == "fail"
            ),
            due_at=now + timedelta(days=settings.capa_days),
        )
        session.add(capa)
        await session.flush()
        await capas.announce(session, capa, "open")


async def assign(session: AsyncSession, task: Task, inspector_ids: list[uuid.UUID]) -> Task:
    """Set a targeted task's inspectors: active, unconflicted, not of the enterprise's unit;
    a result still awaiting confirmation is discarded with the old assignment."""
    if task.kind != "targeted" or task.status != "open":
        raise ConflictProblem(
            "only an open targeted task is assigned by hand",
            detail_zh="只有未完成的定向任务可以人工指派",
            kind=task.kind,
            status_now=task.status,
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
            raise invalid(
                "inspector_ids",
                f"{inspector_id} is not an active inspector",
                f"{inspector_id} 不是在岗的检查员",
            )
        if inspector_id in conflicted:
            raise invalid(
                "inspector_ids",
                f"{inspector_id} declared a conflict with {task.uscc}",
                f"{inspector_id} 已声明与 {task.uscc} 存在回避关系",
            )
        if of_own_unit(inspector.unit, unit):
            raise invalid(
                "inspector_ids",
                f"{inspector_id} is of the enterprise's own unit",
                f"{inspector_id} 与该企业属于同一单位",
            )
    if task.result is not None:
        # the result awaiting confirmation was the former inspectors': the new ones record
        # their own rather than confirm a check they did not make
        task.result, task.recorded_by, task.confirmations = None, None, []
    task.inspector_ids = list(inspector_ids)
    _touch(task, utcnow())
    await session.flush()
    await session.refresh(task)
    return task
