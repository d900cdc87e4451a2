"""CAPAs: the enterprise responds, an inspector verifies; overdue ones are announced once."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kit.auth import Principal
from kit.db import get_or_404, utcnow
from kit.events import CapaChanged
from kit.pagination import PageParams, keyset_page
from kit.problems import Conflict as ConflictProblem
from kit.problems import ProblemError
from kit.uscc import normalize
from services.inspection.capas.models import Capa
from services.inspection.capas.schemas import CapaOut, ResponseIn, VerificationIn
from services.inspection.events import publish
from services.inspection.evidence import service as evidence
from services.inspection.inspectors.service import inspector_uuid
from services.inspection.tasks.models import Task

log = logging.getLogger("inspection.capas")
EVENT_VERBS = {"open": "opened", "overdue": "overdue", "closed": "closed"}


def to_out(capa: Capa) -> CapaOut:
    """The API view, with `overdue` computed."""
    out = CapaOut.model_validate(capa)
    out.overdue = capa.status != "closed" and capa.due_at < utcnow()
    return out


async def announce(session: AsyncSession, capa: Capa, status: str) -> None:
    await publish(
        session,
        f"inspection.capa.{EVENT_VERBS[status]}.v1",
        capa.uscc,
        CapaChanged(
            capa_id=str(capa.id),
            task_id=str(capa.task_id),
            uscc=capa.uscc,
            status=status,  # type: ignore[arg-type]
            due_at=capa.due_at,
        ),
    )


async def get(session: AsyncSession, capa_id: uuid.UUID, *, for_update: bool = False) -> Capa:
    """One CAPA, or 404."""
    return await get_or_404(session, Capa, capa_id, "capa", for_update=for_update)


async def ensure_can_see(session: AsyncSession, principal: Principal, capa: Capa) -> Task:
    """The enterprise concerned, the task's inspectors, offices."""
    task = await session.get_one(Task, capa.task_id)
    if principal.uscc is not None and principal.uscc != capa.uscc:
        raise ProblemError(
            "forbidden",
            "an enterprise sees only its own corrective actions",
            detail_zh="企业只能查看本企业的整改",
        )
    if principal.inspector_id is not None and inspector_uuid(principal) not in task.inspector_ids:
        raise ProblemError(
            "forbidden",
            "this corrective action is not from your task",
            detail_zh="此整改不是来自你的任务",
        )
    return task


async def search(
    session: AsyncSession,
    *,
    page: PageParams,
    principal: Principal,
    uscc: str | None,
    status: str | None,
    overdue: bool | None,
) -> tuple[list[Capa], str | None]:
    """CAPAs the caller may see."""
    query = select(Capa)
    if principal.uscc is not None:
        uscc = principal.uscc
    if principal.inspector_id is not None:
        mine = select(Task.id).where(Task.inspector_ids.contains([inspector_uuid(principal)]))
        query = query.where(Capa.task_id.in_(mine))
    if uscc:
        query = query.where(Capa.uscc == normalize(uscc))
    if status:
        query = query.where(Capa.status == status)
    if overdue is not None:
        late = (Capa.status != "closed") & (Capa.due_at < utcnow())
        query = query.where(late if overdue else ~late)
    return await keyset_page(session, query, keys=[Capa.id], page=page)


async def respond(
    session: AsyncSession, capa: Capa, body: ResponseIn, principal: Principal
) -> Capa:
    """The enterprise (or the office for it) gives root cause and actions."""
    if principal.inspector_id is not None or (principal.uscc is None and not principal.is_admin):
        raise ProblemError(
            "forbidden",
            "the enterprise responds to its corrective action",
            detail_zh="整改由企业本身答复",
        )
    if capa.status == "closed":
        raise ConflictProblem("the corrective action is closed", detail_zh="该整改已关闭")
    await evidence.check_references(
        session, principal, "evidence", (e.sha256 for e in body.evidence)
    )
    capa.root_cause, capa.actions = body.root_cause, body.actions
    capa.evidence = [e.model_dump() for e in body.evidence]
    capa.status, capa.responded_at = "responded", utcnow()
    capa.version += 1
    return capa


async def verify(
    session: AsyncSession, capa: Capa, body: VerificationIn, principal: Principal
) -> Capa:
    """An inspector of the task (or an admin) checks effectiveness before it closes."""
    if principal.inspector_id is None and not principal.is_admin:
        raise ProblemError(
            "forbidden",
            "an inspector of the task verifies effectiveness",
            detail_zh="整改效果由该任务的检查员验证",
        )
    if capa.status != "responded":
        raise ConflictProblem(
            "only a responded corrective action can be verified",
            detail_zh="只有已答复的整改才能验证",
            status_now=capa.status,
        )
    capa.verified_by = principal.subject
    capa.verification_note = body.note
    capa.version += 1
    if body.effective:
        capa.status, capa.closed_at = "closed", utcnow()
        await announce(session, capa, "closed")
    else:
        capa.status = "open"
    return capa


async def announce_overdue(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Emit inspection.capa.overdue once for each CAPA past its deadline."""
    async with sessionmaker() as session, session.begin():
        late = list(
            await session.scalars(
                select(Capa)
                .where(
                    Capa.status != "closed",
                    Capa.due_at < utcnow(),
                    Capa.overdue_notified_at.is_(None),
                )
                .limit(500)
                .with_for_update(skip_locked=True)
            )
        )
        for capa in late:
            capa.overdue_notified_at = utcnow()
            await announce(session, capa, "overdue")
    return len(late)
