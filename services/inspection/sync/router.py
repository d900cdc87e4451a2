"""Officer sync (`/v1/sync`): delta pull by an opaque cursor, push of results made offline."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from kit.auth import Principal, require
from kit.db import SessionDep
from kit.pagination import decode_cursor, encode_cursor
from kit.problems import ProblemError
from services.inspection.checklists.models import Checklist
from services.inspection.checklists.schemas import ChecklistOut
from services.inspection.directory.models import DirectoryEntry
from services.inspection.directory.schemas import DirectoryOut
from services.inspection.tasks import service as tasks
from services.inspection.tasks.models import Task
from services.inspection.tasks.schemas import ResultIn, TaskOut

router = APIRouter(prefix="/v1/sync", tags=["officer sync"])
Reader = Annotated[Principal, Depends(require("inspection:read"))]
Writer = Annotated[Principal, Depends(require("inspection:write"))]
BATCH = 500


class SyncPull(BaseModel):
    """What changed since the cursor, for the calling inspector."""

    tasks: list[TaskOut] = Field(description="Created or updated tasks assigned to you")
    deleted: list[uuid.UUID] = Field(description="Tasks withdrawn (campaign cancelled)")
    checklists: list[ChecklistOut] = Field(description="Checklists of those tasks")
    enterprises: list[DirectoryOut] = Field(description="Enterprises of those tasks")
    cursor: str = Field(description="Send it back next time")
    has_more: bool


class OfflineResult(BaseModel):
    """A result made offline, against the task version the device had."""

    task_id: uuid.UUID
    base_version: int = Field(ge=1)
    result: ResultIn


class SyncPush(BaseModel):
    """Results made offline."""

    results: list[OfflineResult] = Field(min_length=1, max_length=200)


class PushOutcome(BaseModel):
    """Per result: applied, or a conflict with the server's task for the officer to resolve."""

    task_id: uuid.UUID
    status: str = Field(description="applied, conflict, or rejected")
    detail: str | None = None
    server_task: TaskOut | None = None


def _inspector(principal: Principal) -> uuid.UUID:
    if principal.inspector_id is None:
        raise ProblemError("forbidden", "officer sync is for inspector tokens")
    return uuid.UUID(principal.inspector_id)


def _position(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(decode_cursor(cursor)["change"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ProblemError("bad-request", "cursor is not one this endpoint issued") from exc


@router.get("", summary="Pull changes since a cursor", response_model=SyncPull)
async def pull(
    session: SessionDep,
    principal: Reader,
    cursor: Annotated[str | None, Query(max_length=200, pattern="^[A-Za-z0-9_-]*$")] = None,
) -> SyncPull:
    """Tasks assigned to you that changed after the cursor (500 at most; `has_more`), with
    their checklists and enterprises; withdrawn tasks are listed under `deleted`."""
    inspector = _inspector(principal)
    after = _position(cursor)
    changed = list(
        await session.scalars(
            select(Task)
            .where(Task.inspector_ids.any_() == inspector, Task.change > after)
            .order_by(Task.change)
            .limit(BATCH + 1)
        )
    )
    has_more = len(changed) > BATCH
    changed = changed[:BATCH]
    live = [t for t in changed if t.status != "cancelled"]
    checklists = await session.scalars(
        select(Checklist).where(Checklist.id.in_({t.checklist_id for t in live}))
    )
    enterprises = await session.scalars(
        select(DirectoryEntry).where(DirectoryEntry.uscc.in_({t.uscc for t in live}))
    )
    position = changed[-1].change if changed else after
    return SyncPull(
        tasks=[TaskOut.model_validate(t) for t in live],
        deleted=[t.id for t in changed if t.status == "cancelled"],
        checklists=[ChecklistOut.model_validate(c) for c in checklists],
        enterprises=[DirectoryOut.model_validate(e) for e in enterprises],
        cursor=encode_cursor({"change": position}),
        has_more=has_more,
    )


@router.post("", summary="Push results made offline", response_model=list[PushOutcome])
async def push(body: SyncPush, session: SessionDep, principal: Writer) -> list[PushOutcome]:
    """Each result applies only to the task version it was made against; a task changed on
    the server meanwhile comes back as a conflict, never overwritten."""
    _inspector(principal)
    outcomes: list[PushOutcome] = []
    for item in body.results:
        task = await session.get(Task, item.task_id, with_for_update=True)
        if task is None:
            outcomes.append(
                PushOutcome(task_id=item.task_id, status="rejected", detail="no such task")
            )
            continue
        if task.version != item.base_version:
            outcomes.append(
                PushOutcome(
                    task_id=task.id,
                    status="conflict",
                    detail=f"the task is at version {task.version}, not {item.base_version}",
                    server_task=TaskOut.model_validate(task),
                )
            )
            continue
        try:
            async with session.begin_nested():
                await tasks.record_result(session, task, item.result, principal)
        except ProblemError as exc:
            outcomes.append(PushOutcome(task_id=task.id, status="rejected", detail=exc.detail))
            continue
        outcomes.append(
            PushOutcome(task_id=task.id, status="applied", server_task=TaskOut.model_validate(task))
        )
    return outcomes
