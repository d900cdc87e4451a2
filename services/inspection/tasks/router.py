"""Task endpoints."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from kit.auth import Principal, ensure_office, require
from kit.concurrency import check_if_match, set_etag
from kit.db import SessionDep
from kit.pagination import Page, PageParams, page_params
from services.inspection.tasks import service
from services.inspection.tasks.schemas import AssignIn, ResultIn, TaskOut

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])
Reader = Annotated[Principal, Depends(require("inspection:read"))]
Writer = Annotated[Principal, Depends(require("inspection:write"))]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such task"}}


@router.get("", summary="Tasks", response_model=Page[TaskOut])
async def list_tasks(
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    campaign_id: uuid.UUID | None = None,
    uscc: Annotated[str | None, Query(max_length=18)] = None,
    status: Annotated[str | None, Query(pattern="^(open|completed|cancelled)$")] = None,
) -> Page[TaskOut]:
    """An inspector sees only the tasks assigned to them; an enterprise only its own."""
    rows, next_cursor = await service.search(
        session, page=page, principal=principal, campaign_id=campaign_id, uscc=uscc, status=status
    )
    return Page(items=[TaskOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/{task_id}", summary="One task", response_model=TaskOut, responses=NOT_FOUND)
async def get_task(
    task_id: uuid.UUID, session: SessionDep, principal: Reader, response: Response
) -> TaskOut:
    """The ETag is its version (send it as `If-Match` with the result)."""
    task = await service.get(session, task_id)
    service.ensure_can_see(principal, task)
    set_etag(response, task.version)
    return TaskOut.model_validate(task)


@router.post(
    "/{task_id}/result",
    summary="Record a task's result",
    response_model=TaskOut,
    responses={
        **NOT_FOUND,
        403: {"description": "Not assigned to you"},
        409: {"description": "Already completed or cancelled"},
        412: {"description": "If-Match does not match"},
        422: {"description": "Unknown checklist items, missing confirmations …"},
    },
)
async def record_result(
    task_id: uuid.UUID,
    body: ResultIn,
    request: Request,
    session: SessionDep,
    principal: Writer,
    response: Response,
) -> TaskOut:
    """Findings per item, samples, verdict, location, evidence hashes and every assigned
    inspector's confirmation. Emits `inspection.task.completed` (credit records it as a fact);
    a fail opens a CAPA for the enterprise."""
    task = await service.get(session, task_id, for_update=True)
    check_if_match(request, task.version)
    task = await service.record_result(session, task, body, principal)
    set_etag(response, task.version)
    return TaskOut.model_validate(task)


@router.post(
    "/{task_id}/assign",
    summary="Assign inspectors to a targeted task",
    response_model=TaskOut,
    responses={
        **NOT_FOUND,
        409: {"description": "Not an open targeted task (a drawn task's inspectors are drawn)"},
        412: {"description": "If-Match does not match"},
        422: {"description": "Unknown, inactive or conflicted inspectors"},
    },
)
async def assign(
    task_id: uuid.UUID,
    body: AssignIn,
    request: Request,
    session: SessionDep,
    principal: Writer,
    response: Response,
) -> TaskOut:
    """A risk alert opens its targeted task with two inspectors when the pool has them;
    the office assigns (or replaces) them here: active, without a declared conflict, not of
    the enterprise's own supervising unit."""
    ensure_office(principal)
    task = await service.get(session, task_id, for_update=True)
    check_if_match(request, task.version)
    task = await service.assign(session, task, body.inspector_ids)
    set_etag(response, task.version)
    return TaskOut.model_validate(task)
