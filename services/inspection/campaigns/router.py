"""Campaign and draw endpoints (双随机、一公开)."""

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response

from kit.auth import Principal, ensure_office, require
from kit.concurrency import set_etag
from kit.db import SessionDep
from kit.pagination import Page, PageParams, page_params
from services.inspection.campaigns import service
from services.inspection.campaigns.models import Campaign, DrawRecord
from services.inspection.campaigns.schemas import (
    CampaignIn,
    CampaignOut,
    DrawIn,
    DrawOut,
    VerifyOut,
)

router = APIRouter(prefix="/v1/campaigns", tags=["campaigns"])
Reader = Annotated[Principal, Depends(require("inspection:read"))]
Writer = Annotated[Principal, Depends(require("inspection:write"))]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such campaign"}}


def _draw_out(campaign: Campaign, record: DrawRecord) -> DrawOut:
    return DrawOut(
        campaign_id=campaign.id,
        seed=record.seed,
        seed_sha256=campaign.seed_sha256,
        snapshot_sha256=record.snapshot_sha256,
        pool_sha256=record.pool_sha256,
        model_version=record.model_version,
        ratios=record.ratios if record.ratios is not None else campaign.ratios,
        # drawn before #17: every ratio was the campaign's own
        ratio_sources=record.ratio_sources or dict.fromkeys(campaign.ratios, "override"),  # type: ignore[arg-type]
        measures_version=record.measures_version,
        population=record.stats["population"],
        sampled=record.stats["sampled"],
        excluded=record.stats["excluded"],
        tasks=record.stats["tasks"],
        cap_per_inspector=record.stats["cap"],
        drawn_at=record.drawn_at,
    )


@router.post(
    "",
    status_code=201,
    summary="Plan a campaign (its seed committed)",
    response_model=CampaignOut,
    responses={
        404: {"description": "No such checklist, or an agency registry never announced"},
        422: {"description": "Ratios outside [0,1], window backwards, < 2 inspectors …"},
    },
)
async def create_campaign(
    body: CampaignIn, session: SessionDep, principal: Writer, response: Response
) -> CampaignOut:
    """The seed's SHA-256 is published with the campaign, before any draw: yours when you
    give `seed_sha256`, else one the service draws and reveals at the draw."""
    ensure_office(principal)
    campaign = await service.create(session, body, principal)
    set_etag(response, campaign.version)
    response.headers["Location"] = f"/v1/campaigns/{campaign.id}"
    return service.to_out(campaign)


@router.get("", summary="Campaigns", response_model=Page[CampaignOut])
async def list_campaigns(
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    status: Annotated[Literal["planned", "drawn", "closed", "cancelled"] | None, Query()] = None,
    agency: Annotated[str | None, Query(max_length=40)] = None,
) -> Page[CampaignOut]:
    """Newest first."""
    rows, next_cursor = await service.search(session, page=page, status=status, agency=agency)
    return Page(items=[service.to_out(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/{campaign_id}", summary="One campaign", response_model=CampaignOut, responses=NOT_FOUND
)
async def get_campaign(
    campaign_id: uuid.UUID, session: SessionDep, principal: Reader, response: Response
) -> CampaignOut:
    """With the seed's SHA-256 (and the seed once drawn)."""
    campaign = await service.get(session, campaign_id)
    set_etag(response, campaign.version)
    return service.to_out(campaign)


@router.post(
    "/{campaign_id}/draw",
    summary="Draw targets and inspectors",
    response_model=DrawOut,
    responses={
        **NOT_FOUND,
        409: {"description": "Already drawn, or some drawn targets cannot be staffed"},
        422: {"description": "The revealed seed does not match the commitment"},
    },
)
async def draw(
    campaign_id: uuid.UUID, session: SessionDep, principal: Writer, body: DrawIn | None = None
) -> DrawOut:
    """Draws per credit level by the campaign's ratios (at least one where any), sparing
    enterprises covered by a recognised result or a higher-level check in the window, then
    staffs each task with inspectors who have no conflict and are not of its unit; all or
    nothing. The tasks are at `/v1/tasks?campaign_id=`, the public list at
    `/v1/public/draws`; emits `inspection.draw.published`."""
    ensure_office(principal)
    campaign = await service.get(session, campaign_id, for_update=True)
    service.ensure_taking_part(principal, campaign.agencies)
    record = await service.draw(session, campaign, body or DrawIn(), principal)
    return _draw_out(campaign, record)


@router.get(
    "/{campaign_id}/draw",
    summary="The recorded draw",
    response_model=DrawOut,
    responses={404: {"description": "No such campaign, or not drawn yet"}},
)
async def get_draw(campaign_id: uuid.UUID, session: SessionDep, principal: Reader) -> DrawOut:
    """Seed, input hashes and figures."""
    campaign = await service.get(session, campaign_id)
    return _draw_out(campaign, await service.draw_record(session, campaign))


@router.get(
    "/{campaign_id}/draw/verify",
    summary="Replay and verify the draw",
    response_model=VerifyOut,
    responses={404: {"description": "No such campaign, or not drawn yet"}},
)
async def verify_draw(campaign_id: uuid.UUID, session: SessionDep, principal: Reader) -> VerifyOut:
    """Recomputes the draw from the stored seed, population and pool, checks the seed
    against its commitment and the inputs against their hashes, and compares the tasks."""
    campaign = await service.get(session, campaign_id)
    return await service.verify(session, campaign)


@router.post(
    "/{campaign_id}/cancel",
    summary="Cancel a campaign",
    response_model=CampaignOut,
    responses={**NOT_FOUND, 409: {"description": "Already closed or cancelled"}},
)
async def cancel_campaign(
    campaign_id: uuid.UUID, session: SessionDep, principal: Writer
) -> CampaignOut:
    """Open tasks are withdrawn (officers' devices see them as deleted at the next sync)."""
    ensure_office(principal)
    campaign = await service.get(session, campaign_id, for_update=True)
    service.ensure_taking_part(principal, campaign.agencies)
    return service.to_out(await service.cancel(session, campaign))
