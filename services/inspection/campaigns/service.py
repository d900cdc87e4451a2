"""Campaigns: commit a seed, draw targets and inspectors, record and verify the draw."""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import uuid
from typing import Any

from sqlalchemy import String, and_, any_, bindparam, or_, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.db import get_or_404, utcnow
from kit.events import DrawPublished
from kit.ids import uuid7
from kit.pagination import PageParams, keyset_page
from kit.problems import Conflict as ConflictProblem
from kit.problems import NotFound, ProblemError, invalid
from kit.vocabulary import STATUSES, name
from services.inspection import draw as drawing
from services.inspection.campaigns.models import Campaign, DrawRecord
from services.inspection.campaigns.schemas import CampaignIn, CampaignOut, DrawIn, VerifyOut
from services.inspection.checklists.models import Checklist
from services.inspection.config import settings
from services.inspection.directory import service as directory
from services.inspection.directory.models import DirectoryEntry
from services.inspection.domain import LEVEL_RANK, CampaignLevel
from services.inspection.events import publish
from services.inspection.inspectors.models import Conflict, Inspector
from services.inspection.tasks.models import WRITER_XID, Task

# One statement for every drawn task (tens of thousands in a county-wide campaign).
INSERT_TASKS = text(
    """
    INSERT INTO tasks (id, campaign_id, checklist_id, uscc, level, inspector_ids, status,
                       version, updated_at)
    SELECT t.id, :campaign, :checklist, t.uscc, t.level,
           ARRAY(SELECT jsonb_array_elements_text(t.inspectors)::uuid), 'open', 1, :now
    FROM unnest(CAST(:ids AS uuid[]), CAST(:usccs AS text[]), CAST(:levels AS text[]),
                CAST(:inspectors AS jsonb[])) AS t(id, uscc, level, inspectors)
    """
)


def sha256(text: str) -> str:
    """Hex SHA-256 of a text."""
    return hashlib.sha256(text.encode()).hexdigest()


def to_out(campaign: Campaign) -> CampaignOut:
    """The API view: the seed stays hidden until the draw."""
    out = CampaignOut.model_validate(
        {
            **{c: getattr(campaign, c) for c in CampaignOut.model_fields if hasattr(campaign, c)},
            "joint": len(campaign.agencies) > 1,
        }
    )
    if campaign.status == "planned":
        out.seed = None
    return out


def ensure_taking_part(principal: Principal, agencies: list[str]) -> None:
    """Only an agency of the campaign (or the office) plans, draws or cancels it."""
    if not principal.is_admin and principal.agency not in agencies:
        raise ProblemError(
            "forbidden",
            "only the campaign's agencies (or the office) may do this",
            detail_zh="只有该抽查计划的部门（或示范区办公室）可以执行此操作",
        )


async def create(session: AsyncSession, campaign_in: CampaignIn, principal: Principal) -> Campaign:
    """A planned campaign with its seed committed (its SHA-256 published now); each of its
    agencies a member agency (404 naming the first that is not)."""
    ensure_taking_part(principal, campaign_in.agencies)
    await directory.ensure_agencies(session, campaign_in.agencies)
    checklist = await session.get(Checklist, campaign_in.checklist_id)
    if checklist is None:  # an unknown object named in the body: 404, as elsewhere
        raise NotFound("checklist", str(campaign_in.checklist_id))
    if campaign_in.industries and checklist.industry not in campaign_in.industries:
        raise invalid(
            "checklist_id",
            f"the checklist is for {checklist.industry}",
            f"该检查表适用于 {checklist.industry} 行业",
        )
    seed = None if campaign_in.seed_sha256 else secrets.token_hex(32)
    campaign = Campaign(
        **campaign_in.model_dump(exclude={"seed_sha256"}),
        seed_sha256=campaign_in.seed_sha256 or sha256(seed or ""),
        seed=seed,
        created_by=principal.subject,
    )
    session.add(campaign)
    await session.flush()
    return campaign


async def get(
    session: AsyncSession, campaign_id: uuid.UUID, *, for_update: bool = False
) -> Campaign:
    """One campaign, or 404."""
    return await get_or_404(session, Campaign, campaign_id, "campaign", for_update=for_update)


async def search(
    session: AsyncSession, *, page: PageParams, status: str | None, agency: str | None
) -> tuple[list[Campaign], str | None]:
    """Campaigns, newest first."""
    query = select(Campaign)
    if status:
        query = query.where(Campaign.status == status)
    if agency:
        query = query.where(Campaign.agencies.any_() == agency)
    return await keyset_page(session, query, keys=[Campaign.id], page=page, descending=True)


async def _population(session: AsyncSession, campaign: Campaign) -> list[Any]:
    """(uscc, level, unit, industry, model_version) rows, not ORM objects: a county's worth."""
    query = select(
        DirectoryEntry.uscc,
        DirectoryEntry.level,
        DirectoryEntry.unit,
        DirectoryEntry.industry,
        DirectoryEntry.model_version,
    ).order_by(DirectoryEntry.uscc)
    if campaign.industries:
        query = query.where(DirectoryEntry.industry.in_(campaign.industries))
    if campaign.zones:
        query = query.where(DirectoryEntry.zones.overlap(campaign.zones))
    rows = list(await session.execute(query.limit(settings.max_population + 1)))
    if len(rows) > settings.max_population:
        raise ProblemError(
            "validation",
            f"the population exceeds {settings.max_population:,} enterprises; narrow it",
            detail_zh=f"抽查对象超过 {settings.max_population:,} 家企业；请缩小范围",
        )
    return rows


async def _checked_higher(session: AsyncSession, campaign: Campaign, usccs: list[str]) -> set[str]:
    """Enterprises a higher-level campaign already checks in an overlapping window."""
    higher = [
        lv.value
        for lv in CampaignLevel
        if LEVEL_RANK[lv] > LEVEL_RANK[CampaignLevel(campaign.level)]
    ]
    if not higher:
        return set()
    rows = await session.scalars(
        select(Task.uscc)
        .join(Campaign, Campaign.id == Task.campaign_id)
        .where(
            Campaign.level.in_(higher),
            Campaign.status.in_(("drawn", "closed")),
            Campaign.window_start <= campaign.window_end,
            Campaign.window_end >= campaign.window_start,
            Task.status != "cancelled",
            # one array parameter: a county's population exceeds a query's 32,767 arguments
            Task.uscc == any_(bindparam("usccs", usccs, type_=ARRAY(String))),
        )
    )
    return set(rows)


async def _pool(session: AsyncSession, campaign: Campaign) -> list[drawing.Inspector]:
    inspectors = list(
        await session.scalars(
            select(Inspector)
            .where(Inspector.active, Inspector.agency.in_(campaign.agencies))
            .order_by(Inspector.id)
        )
    )
    conflicts: dict[uuid.UUID, set[str]] = {}
    rows = await session.execute(
        select(Conflict.inspector_id, Conflict.uscc).where(
            Conflict.inspector_id.in_([i.id for i in inspectors]),
            Conflict.valid_from <= campaign.window_end,
            or_(Conflict.valid_to.is_(None), Conflict.valid_to >= campaign.window_start),
        )
    )
    for inspector_id, uscc in rows:
        conflicts.setdefault(inspector_id, set()).add(uscc)
    return [
        drawing.Inspector(str(i.id), i.agency, i.unit, frozenset(conflicts.get(i.id, ())))
        for i in inspectors
    ]


async def ratios_at_draw(
    session: AsyncSession, campaign: Campaign
) -> tuple[int | None, dict[str, float], dict[str, str]]:
    """(measures version, ratio per level, its source): the campaign's own ratio where it
    names one (an override), else the `inspection_ratio` of credit's measures in force now."""
    version, in_force = await directory.measures_in_force(session)
    ratios: dict[str, float] = {}
    sources: dict[str, str] = {}
    for level, effects in in_force.items():
        if level in campaign.ratios:
            ratios[level], sources[level] = campaign.ratios[level], "override"
        else:
            ratios[level] = effects.inspection_ratio
            sources[level] = "measures" if version is not None else "default"
    return version, ratios, sources


def _seed_for(campaign: Campaign, draw_in: DrawIn) -> str:
    if campaign.seed is not None:
        if draw_in.seed is not None and draw_in.seed != campaign.seed:
            raise invalid(
                "seed",
                "this campaign's seed was committed by the service",
                "本抽查计划的随机种子由系统承诺",
            )
        return campaign.seed
    if draw_in.seed is None:
        raise invalid(
            "seed",
            "reveal the seed whose SHA-256 you committed",
            "请公开你承诺了 SHA-256 的随机种子",
        )
    if sha256(draw_in.seed) != campaign.seed_sha256:
        raise invalid(
            "seed",
            "its SHA-256 is not the one committed with the campaign",
            "其 SHA-256 与抽查计划承诺的不符",
        )
    return draw_in.seed


async def draw(
    session: AsyncSession, campaign: Campaign, draw_in: DrawIn, principal: Principal
) -> DrawRecord:
    """Draw once (409 after that): targets per level, then inspectors; all or nothing."""
    if campaign.status != "planned":
        raise ConflictProblem(
            f"the campaign is already {campaign.status}",
            detail_zh=f"该抽查计划已是“{name(STATUSES, campaign.status)}”状态",
            status_now=campaign.status,
        )
    seed = _seed_for(campaign, draw_in)
    checklist = await session.get_one(Checklist, campaign.checklist_id)
    entries = await _population(session, campaign)
    usccs = [e.uscc for e in entries]
    excluded = await _checked_higher(
        session, campaign, usccs
    ) | await directory.covered_by_recognition(
        session,
        agencies=campaign.agencies,
        usccs=usccs,
        industries={e.uscc: e.industry for e in entries},
        items={item["code"] for item in checklist.items},
        window=(campaign.window_start, campaign.window_end),
    )
    candidates = [drawing.Candidate(e.uscc, e.level, e.unit) for e in entries]
    pool = await _pool(session, campaign)
    measures_version, ratios, sources = await ratios_at_draw(session, campaign)
    result = await asyncio.to_thread(
        drawing.draw,
        seed=seed,
        candidates=candidates,
        ratios=ratios,
        inspectors=pool,
        per_task=campaign.inspectors_per_task,
        excluded=frozenset(excluded),
    )
    if result.unstaffable:
        raise ConflictProblem(
            f"{len(result.unstaffable)} drawn targets cannot be staffed with "
            f"{campaign.inspectors_per_task} eligible inspectors (conflicts, same unit or the "
            f"per-inspector cap of {result.cap}); add inspectors or agencies and draw again",
            detail_zh=f"{len(result.unstaffable)} 个抽中对象无法配齐 {campaign.inspectors_per_task} "
            f"名合格检查员（回避、同单位或每人上限 {result.cap}）；请增加检查员或部门后重新抽取",
            unstaffable=result.unstaffable[:50],
            pool=len(pool),
        )
    now = utcnow()
    if result.tasks:
        await session.execute(
            INSERT_TASKS,
            {
                "ids": [uuid7() for _ in result.tasks],
                "campaign": campaign.id,
                "checklist": campaign.checklist_id,
                "usccs": [t.uscc for t in result.tasks],
                "levels": [t.level for t in result.tasks],
                "inspectors": [json.dumps(t.inspectors) for t in result.tasks],
                "now": now,
            },
        )
    record = DrawRecord(
        campaign_id=campaign.id,
        seed=seed,
        snapshot_sha256=drawing.snapshot_hash(candidates, excluded),
        pool_sha256=drawing.pool_hash(pool),
        model_version=max((e.model_version or 0 for e in entries), default=0) or None,
        ratios=ratios,
        ratio_sources=sources,
        measures_version=measures_version,
        inputs={
            "candidates": [[c.uscc, c.level, c.unit] for c in candidates],
            "excluded": sorted(excluded),
            "inspectors": [[i.id, i.agency, i.unit, sorted(i.conflicts)] for i in pool],
        },
        stats={
            "population": result.population,
            "sampled": result.sampled,
            "excluded": len(excluded),
            "cap": result.cap,
            "tasks": len(result.tasks),
        },
        drawn_by=principal.subject,
        drawn_at=now,
    )
    session.add(record)
    campaign.status, campaign.seed, campaign.drawn_at = "drawn", seed, now
    campaign.version += 1
    await publish(
        session,
        "inspection.draw.published.v1",
        str(campaign.id),
        DrawPublished(
            campaign_id=str(campaign.id),
            title=campaign.title,
            agencies=campaign.agencies,
            tasks=len(result.tasks),
            seed_sha256=campaign.seed_sha256,
            snapshot_sha256=record.snapshot_sha256,
        ),
    )
    return record


async def draw_record(session: AsyncSession, campaign: Campaign) -> DrawRecord:
    """The stored draw, or 404 before the draw."""
    return await get_or_404(session, DrawRecord, campaign.id, "draw of campaign")


async def verify(session: AsyncSession, campaign: Campaign) -> VerifyOut:
    """Replay the draw from its stored inputs and compare with the stored tasks."""
    record = await draw_record(session, campaign)
    inputs: dict[str, Any] = record.inputs
    candidates = [drawing.Candidate(u, lv, unit) for u, lv, unit in inputs["candidates"]]
    pool = [drawing.Inspector(i, a, unit, frozenset(c)) for i, a, unit, c in inputs["inspectors"]]
    excluded = frozenset(inputs["excluded"])
    replay = await asyncio.to_thread(
        drawing.draw,
        seed=record.seed,
        candidates=candidates,
        ratios=record.ratios if record.ratios is not None else campaign.ratios,
        inspectors=pool,
        per_task=campaign.inspectors_per_task,
        excluded=excluded,
    )
    stored = {
        (uscc, tuple(sorted(str(i) for i in inspectors)))
        for uscc, inspectors in await session.execute(
            select(Task.uscc, Task.inspector_ids).where(Task.campaign_id == campaign.id)
        )
    }
    replayed = {(t.uscc, t.inspectors) for t in replay.tasks}
    checks = {
        "seed_matches_commitment": sha256(record.seed) == campaign.seed_sha256,
        "snapshot_matches": drawing.snapshot_hash(candidates, excluded) == record.snapshot_sha256,
        "pool_matches": drawing.pool_hash(pool) == record.pool_sha256,
        "tasks_match": stored == replayed,
    }
    failed = [name for name, ok in checks.items() if not ok]
    return VerifyOut(
        campaign_id=campaign.id,
        matches=not failed,
        detail="the replay gives the stored draw"
        if not failed
        else "mismatch: " + ", ".join(failed),
        **checks,
    )


async def cancel(session: AsyncSession, campaign: Campaign) -> Campaign:
    """Cancel a campaign; its open tasks are withdrawn from officers' devices."""
    if campaign.status in ("closed", "cancelled"):
        raise ConflictProblem(
            f"the campaign is already {campaign.status}",
            detail_zh=f"该抽查计划已是“{name(STATUSES, campaign.status)}”状态",
        )
    campaign.status = "cancelled"
    campaign.version += 1
    await session.execute(
        update(Task)
        .where(and_(Task.campaign_id == campaign.id, Task.status == "open"))
        .values(
            status="cancelled",
            version=Task.version + 1,
            change=WRITER_XID,
            updated_at=utcnow(),
        )
    )
    return campaign
