"""Quality analysis endpoints (质量分析评价和权威发布): preview a quarter, approve a release;
published releases are public."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from kit.auth import Principal, ensure_office, require
from kit.db import SessionDep
from kit.industries import Industry
from kit.pagination import Page, PageParams, page_params
from kit.problems import NotFound, invalid
from services.inspection.analysis import service
from services.inspection.analysis.quarters import (
    ANALYSABLE,
    FIRST,
    PATTERN,
    Quarter,
    ensure_analysable,
)
from services.inspection.analysis.schemas import (
    AnalysisPreview,
    PublicQuarter,
    PublicRelease,
    ReleaseIn,
    ReleaseOut,
)

router = APIRouter(prefix="/v1/analysis", tags=["analysis"])
public_router = APIRouter(prefix="/v1/public/analysis", tags=["public"])
Admin = Annotated[Principal, Depends(require("admin"))]
Reader = Annotated[Principal, Depends(require("inspection:read"))]
QuarterPath = Annotated[
    str, Path(pattern=PATTERN, description="Calendar quarter in China time, e.g. 2026Q3")
]
AnalysableQuarter = Annotated[
    str,
    Path(pattern=ANALYSABLE, description="Calendar quarter in China time, 2015Q1 on, e.g. 2026Q3"),
]
QuarterQuery = Annotated[
    str | None, Query(pattern=PATTERN, description="Calendar quarter, e.g. 2026Q3")
]
IndustryQuery = Annotated[
    Industry | None, Query(description="Only this industry (auto_parts, stationery, …)")
]
RELEASE_404: dict[int | str, dict[str, Any]] = {404: {"description": "No such release"}}


BEFORE_FIRST = f"Invalid, or a `quarter` before {FIRST}, the programme's first quarter"


@router.get(
    "/quarters/{quarter}",
    summary="Preview a quarter's figures per industry",
    response_model=AnalysisPreview,
    responses={422: {"description": BEFORE_FIRST}},
)
async def preview(
    quarter: AnalysableQuarter,
    session: SessionDep,
    principal: Reader,
    industry: IndustryQuery = None,
) -> AnalysisPreview:
    """Live figures for the office and the member agencies (行业主管部门), per industry:
    spot-check pass rate (random checks completed in the quarter), matched foreign
    notifications and returns per US$100M of exports shipped in the quarter, credit levels
    (today's), CAPA closure rate (CAPAs opened in the quarter). Days are China time. Not
    for a quarter before 2015Q1, the programme's first (422 naming `quarter`)."""
    ensure_office(principal)
    try:
        parsed = ensure_analysable(Quarter.parse(quarter))
    except ValueError as exc:
        raise invalid("quarter", str(exc), getattr(exc, "zh", None)) from exc
    items = await service.compute(session, quarter=parsed, industry=industry)
    return AnalysisPreview(
        quarter=str(parsed),
        ended=service.ended(parsed),
        items=items,
        published=await service.published_industries(session, parsed),  # type: ignore[arg-type]
    )


@router.post(
    "/releases",
    status_code=201,
    summary="Approve and publish a quarter's figures for an industry (admin)",
    response_model=ReleaseOut,
    responses={
        409: {"description": "Already published, or the quarter is not over"},
        422: {"description": BEFORE_FIRST},
    },
)
async def publish_release(
    body: ReleaseIn, session: SessionDep, principal: Admin, response: Response
) -> ReleaseOut:
    """Freezes the figures the preview shows into a release, readable by anyone at
    `/v1/public/analysis`. Once per industry and quarter (409 again), and only for a quarter
    that is over (409 before), not before 2015Q1 (422 naming `quarter`). Emits
    `inspection.analysis.published`."""
    release = await service.publish_release(
        session,
        quarter=Quarter.parse(body.quarter),
        industry=body.industry,
        note=body.note,
        actor=principal.subject,
    )
    response.headers["Location"] = f"/v1/analysis/releases/{release.id}"
    return ReleaseOut.model_validate(release)


@router.get("/releases", summary="Published releases", response_model=Page[ReleaseOut])
async def list_releases(
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    industry: IndustryQuery = None,
    quarter: QuarterQuery = None,
) -> Page[ReleaseOut]:
    """In the order published, with who approved each."""
    ensure_office(principal)
    rows, next_cursor = await service.search_releases(
        session, page=page, industry=industry, quarter=quarter
    )
    return Page(items=[ReleaseOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/releases/{release_id}",
    summary="One release",
    response_model=ReleaseOut,
    responses=RELEASE_404,
)
async def get_release(release_id: uuid.UUID, session: SessionDep, principal: Reader) -> ReleaseOut:
    """The frozen figures and who approved them."""
    ensure_office(principal)
    return ReleaseOut.model_validate(await service.get_release(session, release_id))


@public_router.get(
    "", summary="Published quality analysis (no token)", response_model=Page[PublicRelease]
)
async def public_releases(
    session: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
    industry: IndustryQuery = None,
    quarter: QuarterQuery = None,
) -> Page[PublicRelease]:
    """权威发布: every approved release, in the order published; filter by industry or quarter."""
    rows, next_cursor = await service.search_releases(
        session, page=page, industry=industry, quarter=quarter
    )
    return Page(items=[PublicRelease.model_validate(r) for r in rows], next_cursor=next_cursor)


@public_router.get(
    "/{quarter}",
    summary="A quarter's published figures (no token)",
    response_model=PublicQuarter,
    responses={404: {"description": "Nothing published for the quarter"}},
)
async def public_quarter(
    quarter: QuarterPath, session: SessionDep, industry: IndustryQuery = None
) -> PublicQuarter:
    """Each industry's release for the quarter (at most one per industry)."""
    parsed = str(Quarter.parse(quarter))
    rows, _ = await service.search_releases(
        session,
        page=PageParams(cursor=None, limit=len(Industry)),
        industry=industry,
        quarter=parsed,
    )
    if not rows:
        raise NotFound("analysis release", parsed)
    return PublicQuarter(quarter=parsed, items=[PublicRelease.model_validate(r) for r in rows])
