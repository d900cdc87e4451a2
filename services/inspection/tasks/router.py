"""Task endpoints."""

import uuid
from typing import Annotated, Any, Literal

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
    status: Annotated[Literal["open", "completed", "cancelled"] | None, Query()] = None,
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
        403: {"description": "Not an inspector assigned to the task"},
        409: {"description": "Already completed or cancelled"},
        412: {"description": "If-Match does not match"},
        422: {"description": "Unknown checklist items, a verdict the findings contradict …"},
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
    """Findings per item, samples, verdict, location and evidence hashes, recorded by one
    assigned inspector (their confirmation); the task stays open with `result_status`
    awaiting_confirmation until each other assigned inspector confirms. Recording again
    before then replaces the result and its confirmations."""
    task = await service.get(session, task_id, for_update=True)
    check_if_match(request, task.version)
    task = await service.record_result(session, task, body, principal)
    set_etag(response, task.version)
    return TaskOut.model_validate(task)


@router.post(
    "/{task_id}/confirm",
    summary="Confirm a task's recorded result, as one of its inspectors",
    response_model=TaskOut,
    responses={
        **NOT_FOUND,
        403: {"description": "Not an inspector assigned to the task"},
        409: {"description": "No result recorded yet, or the task was cancelled"},
        412: {"description": "If-Match does not match (the result may have been re-recorded)"},
    },
)
async def confirm(
    task_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: Writer,
    response: Response,
) -> TaskOut:
    """Each assigned inspector confirms with their own token (send the ETag you read as
    `If-Match` to confirm exactly that result); with every one's (two at least) the result
    is final: the task completes, `inspection.task.completed` goes out (credit records it)
    and a fail opens a CAPA. Confirming again is a no-op answered 200."""
    task = await service.get(session, task_id, for_update=True)
    if not service.has_confirmed(principal, task):  # a retry is answered as things stand
        check_if_match(request, task.version)
    task = await service.confirm(session, task, principal)
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
