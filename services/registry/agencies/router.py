"""Agency endpoints."""

from typing import Annotated

from fastapi import APIRouter, Depends

from kit.auth import Principal, require
from kit.db import SessionDep
from services.registry.agencies import service
from services.registry.agencies.schemas import AgencyIn, AgencyOut

router = APIRouter(prefix="/v1/agencies", tags=["agencies"])


@router.get("", summary="List member agencies (成员单位)", response_model=list[AgencyOut])
async def list_agencies(
    session: SessionDep, _: Annotated[Principal, Depends(require("registry:read"))]
) -> list[AgencyOut]:
    """The leadership group's member agencies."""
    return [AgencyOut.model_validate(a) for a in await service.list_all(session)]


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
