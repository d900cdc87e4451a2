"""Public draw lists and results (一公开): no token, no personal data beyond badge numbers."""

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import select

from kit.db import SessionDep
from kit.pagination import Page, PageParams, keyset_page, page_params
from services.inspection.campaigns.models import Campaign
from services.inspection.directory.models import DirectoryEntry
from services.inspection.inspectors.models import Inspector
from services.inspection.tasks.models import Task

router = APIRouter(prefix="/v1/public", tags=["public"])


class PublicTask(BaseModel):
    """A drawn check as published."""

    task_id: uuid.UUID
    campaign_id: uuid.UUID
    campaign: str
    agencies: list[str]
    uscc: str
    enterprise: str
    badge_numbers: list[str] = Field(description="执法证号 of the assigned inspectors")
    drawn_at: datetime | None
    verdict: str | None = Field(description="pass, minor or fail, once completed")
    completed_at: datetime | None


async def _page(
    session: SessionDep, page: PageParams, campaign_id: uuid.UUID | None, completed: bool
) -> Page[PublicTask]:
    # A cancelled campaign's draw is withdrawn, but the checks it completed stand.
    shown = ("drawn", "closed", "cancelled") if completed else ("drawn", "closed")
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
    campaigns = {
        c.id: c
        for c in await session.scalars(
            select(Campaign).where(Campaign.id.in_({t.campaign_id for t in tasks}))
        )
    }
    names = dict(
        (
            await session.execute(
                select(DirectoryEntry.uscc, DirectoryEntry.name).where(
                    DirectoryEntry.uscc.in_({t.uscc for t in tasks})
                )
            )
        ).all()
    )
    badges = dict(
        (
            await session.execute(
                select(Inspector.id, Inspector.badge_number).where(
                    Inspector.id.in_({i for t in tasks for i in t.inspector_ids})
                )
            )
        ).all()
    )
    items = [
        PublicTask(
            task_id=t.id,
            campaign_id=t.campaign_id,
            campaign=campaigns[t.campaign_id].title,
            agencies=campaigns[t.campaign_id].agencies,
            uscc=t.uscc,
            enterprise=names.get(t.uscc, t.uscc),
            badge_numbers=sorted(badges.get(i, "") for i in t.inspector_ids),
            drawn_at=campaigns[t.campaign_id].drawn_at,
            verdict=t.verdict if completed else None,
            completed_at=t.completed_at if completed else None,
        )
        for t in tasks
    ]
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
