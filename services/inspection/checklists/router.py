"""Checklist endpoints (一单)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from kit.auth import Principal, ensure_office, require
from kit.db import SessionDep
from kit.industries import Industry
from kit.pagination import Page, PageParams, page_params
from services.inspection.checklists import service
from services.inspection.checklists.schemas import ChecklistIn, ChecklistOut

router = APIRouter(prefix="/v1/checklists", tags=["checklists"])
Reader = Annotated[Principal, Depends(require("inspection:read"))]
Writer = Annotated[Principal, Depends(require("inspection:write"))]


@router.post(
    "",
    status_code=201,
    summary="Publish a checklist (or its next version)",
    response_model=ChecklistOut,
    responses={422: {"description": "Unknown industry, duplicate item codes …"}},
)
async def publish_checklist(
    body: ChecklistIn, session: SessionDep, principal: Writer, response: Response
) -> ChecklistOut:
    """Items with legal basis and pass criterion; campaigns refer to one version."""
    ensure_office(principal)
    checklist = await service.publish(session, body, principal)
    response.headers["Location"] = f"/v1/checklists/{checklist.id}"
    return ChecklistOut.model_validate(checklist)


@router.get("", summary="Checklists", response_model=Page[ChecklistOut])
async def list_checklists(
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    industry: Annotated[Industry | None, Query()] = None,
    code: Annotated[str | None, Query(max_length=60)] = None,
) -> Page[ChecklistOut]:
    """Newest first."""
    rows, next_cursor = await service.search(session, page=page, industry=industry, code=code)
    return Page(items=[ChecklistOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/{checklist_id}",
    summary="One checklist version",
    response_model=ChecklistOut,
    responses={404: {"description": "No such checklist"}},
)
async def get_checklist(
    checklist_id: uuid.UUID, session: SessionDep, principal: Reader
) -> ChecklistOut:
    """Items, legal basis, criteria."""
    return ChecklistOut.model_validate(await service.get(session, checklist_id))
