"""Officer sync (`/v1/sync`): delta pull by an opaque cursor, push of results and
confirmations made offline."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from kit.auth import Principal, require
from kit.db import SessionDep
from services.inspection.sync import service
from services.inspection.sync.schemas import PushOutcome, SyncPull, SyncPush

router = APIRouter(prefix="/v1/sync", tags=["officer sync"])
Reader = Annotated[Principal, Depends(require("inspection:read"))]
Writer = Annotated[Principal, Depends(require("inspection:write"))]


@router.get("", summary="Pull changes since a cursor", response_model=SyncPull)
async def pull(
    session: SessionDep,
    principal: Reader,
    cursor: Annotated[str | None, Query(max_length=200, pattern="^[A-Za-z0-9_-]*$")] = None,
) -> SyncPull:
    """Tasks assigned to you that changed after the cursor (500 at most; `has_more`), with
    their checklists and enterprises; withdrawn tasks are listed under `deleted`."""
    return await service.pull(session, service.inspector_of(principal), cursor)


@router.post(
    "", summary="Push results and confirmations made offline", response_model=list[PushOutcome]
)
async def push(body: SyncPush, session: SessionDep, principal: Writer) -> list[PushOutcome]:
    """Each result, then each confirmation (the pushing inspector's own: the recorder's
    result awaits every other assigned inspector's), applies only to the task version it
    was made against; a task changed on the server meanwhile comes back as a conflict, never
    overwritten. One outcome per operation, results first."""
    service.inspector_of(principal)
    return await service.push(session, body, principal)
