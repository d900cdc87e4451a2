"""Directory endpoints: the enterprises inspection draws from."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from kit.auth import Principal, ensure_office, require
from kit.db import SessionDep
from kit.industries import Industry
from kit.pagination import Page, PageParams, page_params
from kit.validation import UsccPath
from services.inspection.directory import service
from services.inspection.directory.filters import KnownZone
from services.inspection.directory.schemas import DirectoryOut, DirectoryPatch

router = APIRouter(prefix="/v1/directory", tags=["directory"])
Reader = Annotated[Principal, Depends(require("inspection:read"))]
Office = Annotated[Principal, Depends(require("admin"))]


@router.get("", summary="The enterprise directory", response_model=Page[DirectoryOut])
async def list_directory(
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    zone: KnownZone,
    industry: Annotated[Industry | None, Query()] = None,
    level: Annotated[Literal["A", "B", "C", "D"] | None, Query()] = None,
) -> Page[DirectoryOut]:
    """As registry and credit announced them: industry, zones, level, supervising unit."""
    ensure_office(principal)
    rows, next_cursor = await service.search(
        session, page=page, industry=industry, zone=zone, level=level
    )
    return Page(items=[DirectoryOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.patch(
    "/{uscc}",
    summary="Set an enterprise's supervising unit",
    response_model=DirectoryOut,
    responses={404: {"description": "Enterprise not announced"}},
)
async def patch_directory(
    uscc: UsccPath, body: DirectoryPatch, session: SessionDep, principal: Office
) -> DirectoryOut:
    """The zone office (admin) sets it; inspectors of this unit are never drawn for this
    enterprise."""
    entry = await service.get(session, uscc, for_update=True)
    entry.unit = body.unit
    return DirectoryOut.model_validate(entry)
