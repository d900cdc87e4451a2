"""Public draw lists, draws and results (一公开): no token, no personal data beyond badge
numbers; anyone may replay a draw."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy import select

from kit.db import SessionDep
from kit.pagination import Page, PageParams, keyset_page, page_params
from services.inspection.campaigns.models import Campaign
from services.inspection.campaigns.schemas import VerifyOut
from services.inspection.public import service
from services.inspection.public.schemas import PublicDraw, PublicTask
from services.inspection.tasks.models import Task

router = APIRouter(prefix="/v1/public", tags=["public"])


async def _page(
    session: SessionDep, page: PageParams, campaign_id: uuid.UUID | None, completed: bool
) -> Page[PublicTask]:
    # A cancelled campaign's draw is withdrawn, but the checks it completed stand.
    shown = (*service.PUBLISHED, "cancelled") if completed else service.PUBLISHED
    query = (
        select(Task)
        .join(Campaign, Campaign.id == Task.campaign_id)
        .where(Campaign.status.in_(shown))
    )
    if campaign_id:
        query = query.where(Task.campaign_id == campaign_id)
    if completed:
        query = query.where(Task.status == "completed")
    tasks, next_cursor = await keyset_page(session, query, keys=[Task.id], page=page)
    items = await service.public_tasks(session, tasks, completed=completed)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/draws", summary="Published draw lists", response_model=Page[PublicTask])
async def public_draws(
    session: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
    campaign_id: uuid.UUID | None = None,
) -> Page[PublicTask]:
    """Every drawn check: campaign, enterprise, inspectors' badge numbers."""
    return await _page(session, page, campaign_id, completed=False)


@router.get("/results", summary="Published results", response_model=Page[PublicTask])
async def public_results(
    session: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
    campaign_id: uuid.UUID | None = None,
) -> Page[PublicTask]:
    """Completed checks and their verdicts."""
    return await _page(session, page, campaign_id, completed=True)


DRAW_404: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such campaign, not drawn yet, or its draw withdrawn"}
}


@router.get(
    "/draws/{campaign_id}",
    summary="One draw, to check (no token)",
    response_model=PublicDraw,
    responses=DRAW_404,
)
async def public_draw(campaign_id: uuid.UUID, session: SessionDep) -> PublicDraw:
    """Once the draw is made: the seed, the commitment (its SHA-256, published with the
    campaign before the draw), the hashes of the population and inspector pool drawn from,
    the figures per credit level and the drawn checks."""
    return await service.draw(session, campaign_id)


@router.post(
    "/draws/{campaign_id}/verify",
    summary="Replay a draw (no token)",
    response_model=VerifyOut,
    responses=DRAW_404,
)
async def public_verify(campaign_id: uuid.UUID, session: SessionDep) -> VerifyOut:
    """Anyone replays the draw from its stored seed and inputs, as the office's
    `/v1/campaigns/{id}/draw/verify` does: `matches` when the seed fits its commitment, the
    inputs their hashes and the replay the drawn checks."""
    return await service.verify(session, campaign_id)
