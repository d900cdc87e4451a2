"""What the public reads of draws (一公开): the published list, and one draw with its seed,
commitment, inputs' hashes and result, which anyone may replay."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.problems import NotFound
from services.inspection.campaigns import service as campaigns
from services.inspection.campaigns.models import Campaign, DrawRecord
from services.inspection.campaigns.schemas import VerifyOut
from services.inspection.directory.models import DirectoryEntry
from services.inspection.inspectors.models import Inspector
from services.inspection.public.schemas import PublicDraw, PublicTask
from services.inspection.tasks.models import Task

# A cancelled campaign's draw is withdrawn from the public list; its completed checks stand.
PUBLISHED = ("drawn", "closed")


async def public_tasks(
    session: AsyncSession, tasks: Sequence[Task], *, completed: bool
) -> list[PublicTask]:
    """Tasks as published: campaign, enterprise, inspectors' badge numbers (and the verdict
    when `completed`)."""
    found = await session.scalars(
        select(Campaign).where(Campaign.id.in_({t.campaign_id for t in tasks}))
    )
    by_id: dict[uuid.UUID | None, Campaign] = {c.id: c for c in found}
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
    return [
        PublicTask(
            task_id=t.id,
            campaign_id=c.id,
            campaign=c.title,
            agencies=c.agencies,
            uscc=t.uscc,
            enterprise=names.get(t.uscc, t.uscc),
            badge_numbers=sorted(badges.get(i, "") for i in t.inspector_ids),
            drawn_at=c.drawn_at,
            verdict=t.verdict if completed else None,
            completed_at=t.completed_at if completed else None,
        )
        for t in tasks
        for c in [by_id[t.campaign_id]]
    ]


async def published(session: AsyncSession, campaign_id: uuid.UUID) -> tuple[Campaign, DrawRecord]:
    """A campaign whose draw is published and its record; 404 for no such campaign, one not
    drawn yet, or one whose draw was withdrawn (cancelled)."""
    campaign = await session.get(Campaign, campaign_id)
    record = await session.get(DrawRecord, campaign_id) if campaign else None
    if campaign is None or record is None or campaign.status not in PUBLISHED:
        raise NotFound("published draw", str(campaign_id))
    return campaign, record


async def draw(session: AsyncSession, campaign_id: uuid.UUID) -> PublicDraw:
    """The draw as anyone reads it: the seed and its commitment, the inputs' hashes, the
    figures and the drawn checks."""
    campaign, record = await published(session, campaign_id)
    tasks = list(
        await session.scalars(
            select(Task).where(Task.campaign_id == campaign.id).order_by(Task.uscc)
        )
    )
    return PublicDraw(
        campaign_id=campaign.id,
        campaign=campaign.title,
        agencies=campaign.agencies,
        status=campaign.status,
        seed_sha256=campaign.seed_sha256,
        seed=record.seed,
        snapshot_sha256=record.snapshot_sha256,
        pool_sha256=record.pool_sha256,
        model_version=record.model_version,
        population=record.stats["population"],
        sampled=record.stats["sampled"],
        excluded=record.stats["excluded"],
        drawn_at=record.drawn_at,
        tasks=await public_tasks(session, tasks, completed=False),
    )


async def verify(session: AsyncSession, campaign_id: uuid.UUID) -> VerifyOut:
    """Replay a published draw (the office's own verification, unchanged)."""
    campaign, _ = await published(session, campaign_id)
    return await campaigns.verify(session, campaign)
