"""Enterprise endpoints (企业, 摸底调查)."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from kit.auth import Principal, ensure_own_enterprise, require
from kit.concurrency import check_if_match, set_etag
from kit.db import SessionDep, read_pool
from kit.pagination import Page, PageParams, page_params, page_response
from kit.uscc import normalize
from kit.validation import UsccPath
from services.registry.domain import Industry
from services.registry.enterprises import service
from services.registry.enterprises.schemas import (
    EnterpriseIn,
    EnterpriseOut,
    EnterprisePatch,
    SurveyIn,
    SurveyOut,
)
from services.registry.personal import owning_agency
from services.registry.zones.filters import KnownZone

router = APIRouter(prefix="/v1/enterprises", tags=["enterprises"])
Reader = Annotated[Principal, Depends(require("registry:read"))]
Writer = Annotated[Principal, Depends(require("registry:write"))]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Enterprise not found"}}


@router.get("", summary="Search enterprises", response_model=Page[EnterpriseOut])
async def list_enterprises(
    request: Request,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    zone: KnownZone,
    q: Annotated[str | None, Query(max_length=100, description="Text in the name")] = None,
    industry: Annotated[Industry | None, Query()] = None,
    level: Annotated[Literal["A", "B", "C", "D"] | None, Query(description="Credit level")] = None,
    hs_code: Annotated[str | None, Query(pattern=r"^\d{6,10}$")] = None,
    market: Annotated[
        str | None, Query(pattern="^[A-Za-z]{2}$", description="Export market")
    ] = None,
) -> Response:
    """Cursor-paged by USCC; an enterprise token sees only its own enterprise."""
    items, next_cursor = await service.search(
        read_pool(request),
        page=page,
        principal=principal,
        q=q,
        industry=industry,
        zone=zone,
        level=level,
        hs_code=hs_code,
        market=market,
        only_uscc=principal.uscc,
    )
    return page_response(items, next_cursor)


@router.post(
    "",
    status_code=201,
    summary="Register an enterprise",
    response_model=EnterpriseOut,
    responses={
        409: {"description": "USCC already registered"},
        422: {"description": "Invalid USCC"},
    },
)
async def register_enterprise(
    enterprise_in: EnterpriseIn, session: SessionDep, principal: Writer, response: Response
) -> EnterpriseOut:
    """The USCC is validated (GB 32100-2015 check character), trimmed and upper-cased; the
    registering agency owns the record (`owner_agency`)."""
    ensure_own_enterprise(principal, enterprise_in.uscc)
    enterprise = await service.register_one(
        session,
        enterprise_in=enterprise_in,
        owner_agency=owning_agency(principal),
        principal=principal,
    )
    set_etag(response, enterprise.version)
    response.headers["Location"] = f"/v1/enterprises/{enterprise.uscc}"
    return enterprise


@router.get(
    "/{uscc}", summary="Get an enterprise", response_model=EnterpriseOut, responses=NOT_FOUND
)
async def get_enterprise(
    uscc: UsccPath, request: Request, principal: Reader, response: Response
) -> EnterpriseOut:
    """One enterprise; the ETag is its version."""
    ensure_own_enterprise(principal, normalize(uscc))
    enterprise = await service.view(read_pool(request), uscc, principal)
    set_etag(response, enterprise.version)
    return enterprise


@router.patch(
    "/{uscc}",
    summary="Update an enterprise",
    response_model=EnterpriseOut,
    responses={**NOT_FOUND, 412: {"description": "If-Match does not match"}},
)
async def patch_enterprise(
    uscc: UsccPath,
    patch: EnterprisePatch,
    request: Request,
    session: SessionDep,
    principal: Writer,
    response: Response,
) -> EnterpriseOut:
    """Partial update; send `If-Match` with the ETag you read."""
    ensure_own_enterprise(principal, normalize(uscc))
    enterprise = await service.get(session, uscc, for_update=True)
    check_if_match(request, enterprise.version)
    enterprise = await service.update(session, enterprise, patch=patch)
    set_etag(response, enterprise.version)
    return (await service.to_out(session, [enterprise], principal=principal))[0]


@router.get(
    "/{uscc}/surveys",
    summary="An enterprise's surveys",
    response_model=Page[SurveyOut],
    responses=NOT_FOUND,
)
async def list_surveys(
    uscc: UsccPath,
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[SurveyOut]:
    """Newest year first."""
    ensure_own_enterprise(principal, normalize(uscc))
    enterprise = await service.get(session, uscc)
    rows, next_cursor = await service.list_surveys(session, enterprise.uscc, page=page)
    return Page(items=[SurveyOut.model_validate(s) for s in rows], next_cursor=next_cursor)


@router.post(
    "/{uscc}/surveys",
    status_code=201,
    summary="Record a year's survey (摸底调查)",
    response_model=SurveyOut,
    responses={**NOT_FOUND, 409: {"description": "Year already recorded"}},
)
async def add_survey(
    uscc: UsccPath, survey_in: SurveyIn, session: SessionDep, principal: Writer
) -> SurveyOut:
    """One survey per enterprise and year."""
    ensure_own_enterprise(principal, normalize(uscc))
    enterprise = await service.get(session, uscc)
    survey = await service.add_survey(session, enterprise, survey_in=survey_in, principal=principal)
    return SurveyOut.model_validate(survey)


@router.put(
    "/{uscc}/surveys/{year}",
    summary="Create or replace a year's survey",
    response_model=SurveyOut,
    responses=NOT_FOUND,
)
async def put_survey(
    uscc: UsccPath,
    year: Annotated[int, Path(ge=2000, le=2100)],
    survey_in: SurveyIn,
    session: SessionDep,
    principal: Writer,
) -> SurveyOut:
    """The path year wins over the body's."""
    ensure_own_enterprise(principal, normalize(uscc))
    enterprise = await service.get(session, uscc)
    survey_in.year = year
    survey = await service.put_survey(session, enterprise, survey_in=survey_in, principal=principal)
    return SurveyOut.model_validate(survey)
