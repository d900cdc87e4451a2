"""Officer sync: what changed for an inspector since a cursor; results and confirmations
made offline."""

from __future__ import annotations

import uuid
from typing import Literal

from sqlalchemy import ColumnElement, literal, literal_column, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.pagination import decode_cursor, encode_cursor
from kit.problems import ProblemError
from services.inspection.checklists.models import Checklist
from services.inspection.checklists.schemas import ChecklistOut
from services.inspection.directory.models import DirectoryEntry
from services.inspection.directory.schemas import DirectoryOut
from services.inspection.inspectors.service import inspector_uuid
from services.inspection.sync.schemas import (
    OfflineConfirmation,
    OfflineResult,
    PushOutcome,
    SyncPull,
    SyncPush,
)
from services.inspection.tasks import service as tasks
from services.inspection.tasks.models import Task
from services.inspection.tasks.schemas import TaskOut

BATCH = 500


def inspector_of(principal: Principal) -> uuid.UUID:
    """The calling inspector; 403 for other tokens."""
    if principal.inspector_id is None:
        raise ProblemError(
            "forbidden",
            "officer sync is for inspector tokens",
            detail_zh="执法同步只对检查员令牌开放",
        )
    return inspector_uuid(principal)


def _position(cursor: str | None) -> tuple[int, uuid.UUID]:
    if not cursor:
        return 0, uuid.UUID(int=0)
    try:
        key = decode_cursor(cursor)
        return int(key["change"]), uuid.UUID(key["id"])
    except (KeyError, TypeError, ValueError, ProblemError) as exc:
        raise ProblemError(
            "bad-request",
            "cursor is not one this endpoint issued",
            detail_zh="同步游标不是本接口签发的",
        ) from exc


# Transactions below this id have all ended: their changes can be handed out for good.
SETTLED: ColumnElement[int] = literal_column(
    "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
)


async def pull(session: AsyncSession, inspector: uuid.UUID, cursor: str | None) -> SyncPull:
    """Tasks of the inspector changed after the cursor, with their checklists and enterprises."""
    after = _position(cursor)
    changed = list(
        await session.scalars(
            select(Task)
            .where(
                Task.inspector_ids.contains([inspector]),
                tuple_(Task.change, Task.id) > tuple_(literal(after[0]), literal(after[1])),
                Task.change < SETTLED,
            )
            .order_by(Task.change, Task.id)
            .limit(BATCH + 1)
        )
    )
    has_more = len(changed) > BATCH
    changed = changed[:BATCH]
    live = [t for t in changed if t.status != "cancelled"]
    checklists = await session.scalars(
        select(Checklist).where(Checklist.id.in_({t.checklist_id for t in live if t.checklist_id}))
    )
    enterprises = await session.scalars(
        select(DirectoryEntry).where(DirectoryEntry.uscc.in_({t.uscc for t in live}))
    )
    position = (changed[-1].change, changed[-1].id) if changed else after
    return SyncPull(
        tasks=[TaskOut.model_validate(t) for t in live],
        deleted=[t.id for t in changed if t.status == "cancelled"],
        checklists=[ChecklistOut.model_validate(c) for c in checklists],
        enterprises=[DirectoryOut.model_validate(e) for e in enterprises],
        cursor=encode_cursor({"change": position[0], "id": str(position[1])}),
        has_more=has_more,
    )


async def push(session: AsyncSession, body: SyncPush, principal: Principal) -> list[PushOutcome]:
    """Apply each result, then each confirmation, to the task version it was made on; report
    conflicts, never overwrite. Each is applied in a savepoint: one refused leaves the others.
    The rules are the HTTP endpoints' (`/result`, `/confirm`): the inspector's own, on a task
    assigned to them; a confirmation the server already holds is applied again as a no-op."""
    outcomes = [await _apply(session, op, principal) for op in body.results]
    outcomes += [await _apply(session, op, principal) for op in body.confirmations]
    return outcomes


async def _apply(
    session: AsyncSession, op: OfflineResult | OfflineConfirmation, principal: Principal
) -> PushOutcome:
    kind: Literal["result", "confirmation"] = (
        "result" if isinstance(op, OfflineResult) else "confirmation"
    )
    task = await session.get(Task, op.task_id, with_for_update=True)
    if task is None:
        return PushOutcome(kind=kind, task_id=op.task_id, status="rejected", detail="no such task")
    try:
        tasks.ensure_can_see(principal, task)
        if isinstance(op, OfflineConfirmation) and tasks.has_confirmed(principal, task):
            return PushOutcome(
                kind=kind,
                task_id=task.id,
                status="applied",
                server_task=TaskOut.model_validate(task),
            )
    except ProblemError as exc:
        return PushOutcome(kind=kind, task_id=task.id, status="rejected", detail=exc.detail)
    if task.version != op.base_version:
        return PushOutcome(
            kind=kind,
            task_id=task.id,
            status="conflict",
            detail=f"the task is at version {task.version}, not {op.base_version}",
            server_task=TaskOut.model_validate(task),
        )
    try:
        async with session.begin_nested():
            if isinstance(op, OfflineResult):
                await tasks.record_result(session, task, op.result, principal)
            else:
                await tasks.confirm(session, task, principal)
    except ProblemError as exc:
        return PushOutcome(kind=kind, task_id=task.id, status="rejected", detail=exc.detail)
    return PushOutcome(
        kind=kind, task_id=task.id, status="applied", server_task=TaskOut.model_validate(task)
    )
