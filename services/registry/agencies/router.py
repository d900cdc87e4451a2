"""Agency endpoints."""

from typing import Annotated

from fastapi import APIRouter, Depends

from kit.auth import Principal, require
from kit.db import SessionDep
from kit.pagination import Page, PageParams, page_params
from kit.validation import AgencyCodePath
from services.registry.agencies import service
from services.registry.agencies.schemas import AgencyIn, AgencyOut

router = APIRouter(prefix="/v1/agencies", tags=["agencies"])


@router.get("", summary="List member agencies (部门)", response_model=Page[AgencyOut])
async def list_agencies(
    session: SessionDep,
    _: Annotated[Principal, Depends(require("registry:read"))],
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[AgencyOut]:
    """The leadership group's member agencies, by code."""
    rows, next_cursor = await service.list_page(session, page=page)
    return Page(items=[AgencyOut.model_validate(a) for a in rows], next_cursor=next_cursor)


@router.get(
    "/{code}",
    summary="A member agency",
    response_model=AgencyOut,
    responses={404: {"description": "No member agency has this code"}},
)
async def get_agency(
    code: AgencyCodePath,
    session: SessionDep,
    _: Annotated[Principal, Depends(require("registry:read"))],
) -> AgencyOut:
    """One member agency by code (the gateway asks before a client or user carries it)."""
    return AgencyOut.model_validate(await service.get(session, code))


@router.post(
    "",
    status_code=201,
    summary="Add a member agency",
    response_model=AgencyOut,
    responses={409: {"description": "Code already exists"}},
)
async def create_agency(
    agency_in: AgencyIn,
    session: SessionDep,
    _: Annotated[Principal, Depends(require("admin"))],
) -> AgencyOut:
    """Admin only."""
    return AgencyOut.model_validate(await service.create(session, agency_in=agency_in))
