"""Score endpoints: current level explained, history, distribution, simulation."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from kit.auth import Principal, ensure_own_enterprise, require
from kit.concurrency import set_etag
from kit.db import SessionDep, read_pool
from kit.pagination import Page, PageParams, page_params
from kit.uscc import normalize
from kit.validation import UsccPath
from services.credit.scores import service
from services.credit.scores.schemas import (
    DistributionOut,
    EnterpriseLevel,
    LevelChangeOut,
    ScoreOut,
    SimulateIn,
    SimulationOut,
)

router = APIRouter(prefix="/v1/credit", tags=["scores"])
Reader = Annotated[Principal, Depends(require("credit:read"))]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Enterprise not known"}}
Level = Annotated[str | None, Query(pattern="^[ABCD]$", description="A, B, C or D")]
IndustryQ = Annotated[str | None, Query(max_length=40)]


@router.get("/enterprises", summary="Enterprises by level", response_model=Page[EnterpriseLevel])
async def list_levels(
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    level: Level = None,
    industry: IndustryQ = None,
) -> Page[EnterpriseLevel]:
    """Current score and level of each enterprise, by USCC; an enterprise sees only itself."""
    rows, next_cursor = await service.search(
        session, page=page, level=level, industry=industry, only_uscc=principal.uscc
    )
    return Page(items=[EnterpriseLevel.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/enterprises/{uscc}",
    summary="An enterprise's score, explained",
    response_model=ScoreOut,
    responses=NOT_FOUND,
)
async def get_score(
    uscc: UsccPath, request: Request, principal: Reader, response: Response
) -> ScoreOut:
    """Score, level, each fact's contribution, overrides in force and the level's measures."""
    ensure_own_enterprise(principal, normalize(uscc))
    score, version = await service.score_view(read_pool(request), uscc)
    set_etag(response, version)
    return score


@router.get(
    "/enterprises/{uscc}/history",
    summary="An enterprise's level changes",
    response_model=Page[LevelChangeOut],
    responses=NOT_FOUND,
)
async def get_history(
    uscc: UsccPath,
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[LevelChangeOut]:
    """Newest first, each with its cause (a fact, a repair, a model version, time decay)."""
    ensure_own_enterprise(principal, normalize(uscc))
    rows, next_cursor = await service.history(session, uscc, page)
    return Page(items=[LevelChangeOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/distribution", summary="Enterprises per level", response_model=DistributionOut)
async def get_distribution(
    session: SessionDep, principal: Reader, industry: IndustryQ = None
) -> DistributionOut:
    """For the office dashboard: how many enterprises are at A, B, C and D."""
    counts = await service.distribution(session, industry)
    return DistributionOut(industry=industry, counts=counts, total=sum(counts.values()))  # type: ignore[arg-type]


@router.post(
    "/simulate",
    summary="Simulate a score",
    response_model=SimulationOut,
    responses=NOT_FOUND,
)
async def simulate(body: SimulateIn, session: SessionDep, principal: Reader) -> SimulationOut:
    """The score and level with hypothetical facts added or removed, or under a draft model.
    Nothing is written."""
    ensure_own_enterprise(principal, body.uscc)
    return await service.simulate(session, body)
