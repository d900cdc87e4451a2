"""Campaigns (双随机): a committed seed, a draw of the zone's members by credit level staffed
from the pool, recorded for replay and published once; what a draw refuses or spares."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.events import CreditFactRecorded, ModelPublished, RecognitionChanged
from kit.measures import DEFAULTS
from kit.problems import Conflict, NotFound, ProblemError
from services.inspection import consumers
from services.inspection.campaigns import service
from services.inspection.campaigns.models import Campaign, DrawRecord
from services.inspection.campaigns.schemas import CampaignIn, DrawIn
from services.inspection.checklists.models import Checklist
from services.inspection.inspectors import service as inspectors
from services.inspection.inspectors.models import Inspector
from services.inspection.inspectors.schemas import InspectorIn
from services.inspection.tasks.models import Task
from tests.integration.conftest import emitted
from tests.integration.inspection.conftest import Listed, event

Pool = Callable[..., Awaitable[list[Inspector]]]
WINDOW = {"window_start": date(2026, 9, 1), "window_end": date(2026, 9, 30)}


def _campaign(checklist: Checklist, zone: str, **fields: object) -> CampaignIn:
    return CampaignIn.model_validate(
        {
            "title": "2026年出口灯具双随机抽查",
            "agencies": ["samr"],
            "zones": [zone],
            "checklist_id": checklist.id,
            "ratios": {"A": 0, "B": 0, "C": 0.5, "D": 1.0},
            **WINDOW,
            **fields,
        }
    )


async def _tasks(session: AsyncSession, campaign: Campaign) -> list[Task]:
    query = select(Task).where(Task.campaign_id == campaign.id).order_by(Task.uscc)
    return list(await session.scalars(query))


async def test_a_draw_takes_each_level_s_share_staffs_it_and_is_published_once(
    session: AsyncSession, office: Principal, checklist: Checklist, listed: Listed, pool: Pool
) -> None:
    zone = f"zone-{uuid.uuid4().hex[:8]}"
    d_level = [await listed(zone=zone, level="D") for _ in range(2)]
    c_level = [await listed(zone=zone, level="C") for _ in range(4)]
    await listed(zone=zone)  # level B (credit has not spoken): ratio 0
    await listed(zone="another-zone", level="D")  # not of the population
    staff = await pool("samr", 4)

    campaign = await service.create(session, _campaign(checklist, zone), office)
    assert campaign.status == "planned" and campaign.seed is not None
    assert campaign.seed_sha256 == hashlib.sha256(campaign.seed.encode()).hexdigest()
    assert service.to_out(campaign).seed is None  # hidden until the draw

    record = await service.draw(session, campaign, DrawIn(), office)
    await session.flush()  # what the request's commit would write

    tasks = await _tasks(session, campaign)
    drawn = {t.uscc: t.level for t in tasks}
    assert {u for u, level in drawn.items() if level == "D"} == set(d_level)
    assert sorted(level for level in drawn.values() if level == "C") == ["C", "C"]
    assert set(drawn) <= set(d_level) | set(c_level)
    ids = {i.id for i in staff}
    assert all(len(set(t.inspector_ids)) == 2 and set(t.inspector_ids) <= ids for t in tasks)
    assert all((t.status, t.checklist_id) == ("open", checklist.id) for t in tasks)
    stored = await session.get_one(DrawRecord, campaign.id)
    assert stored.stats["population"] == {"B": 1, "C": 4, "D": 2}
    assert stored.stats["sampled"] == {"B": 0, "C": 2, "D": 2} and stored.drawn_by == "office-staff"
    assert (campaign.status, campaign.seed, stored.seed) == ("drawn", record.seed, record.seed)
    assert (await service.verify(session, campaign)).matches
    assert await emitted(session) == [
        (
            "inspection.draw.published.v1",
            str(campaign.id),
            {
                "campaign_id": str(campaign.id),
                "title": "2026年出口灯具双随机抽查",
                "agencies": ["samr"],
                "tasks": 4,
                "seed_sha256": campaign.seed_sha256,
                "snapshot_sha256": stored.snapshot_sha256,
            },
        )
    ]

    with pytest.raises(Conflict):
        await service.draw(session, campaign, DrawIn(), office)
    assert len(await _tasks(session, campaign)) == 4


async def test_an_own_seed_must_be_the_one_committed(
    session: AsyncSession, office: Principal, checklist: Checklist, listed: Listed, pool: Pool
) -> None:
    zone = f"zone-{uuid.uuid4().hex[:8]}"
    await listed(zone=zone, level="D")
    await pool("samr", 2)
    seed = "县局党组会议公开摇号-2026-09"
    committed = hashlib.sha256(seed.encode()).hexdigest()
    campaign = await service.create(
        session, _campaign(checklist, zone, seed_sha256=committed), office
    )
    assert campaign.seed is None

    with pytest.raises(ProblemError) as wrong:
        await service.draw(session, campaign, DrawIn(seed="another-seed-of-16+"), office)
    assert wrong.value.slug == "validation"
    assert campaign.status == "planned" and await _tasks(session, campaign) == []
    record = await service.draw(session, campaign, DrawIn(seed=seed), office)
    assert record.seed == seed and len(await _tasks(session, campaign)) == 1


async def test_a_draw_spares_recognised_results_and_refuses_an_understaffed_pool(
    session: AsyncSession, office: Principal, checklist: Checklist, listed: Listed, pool: Pool
) -> None:
    zone = f"zone-{uuid.uuid4().hex[:8]}"
    spared, checked = await listed(zone=zone, level="D"), await listed(zone=zone, level="D")
    recognition = RecognitionChanged(  # samr accepts customs' inspection results
        recognition_id=str(uuid.uuid4()),
        recognising_agency="samr",
        recognised_agency="customs",
        result_kind="inspection_result",
        valid_from=date(2026, 1, 1),
        valid_to=date(2026, 12, 31),
        status="active",
    )
    await consumers.on_recognition(
        session,
        recognition,
        event("credit", "credit.recognition.granted.v1", "customs", recognition),
    )
    result = CreditFactRecorded(  # customs checked `spared` on every item, this month
        fact_id=str(uuid.uuid4()),
        uscc=spared,
        kind="spot_check_pass",
        severity="general",
        source_agency="customs",
        occurred_at=datetime(2026, 9, 2, tzinfo=UTC) - timedelta(days=60),
    )
    await consumers.on_fact(
        session, result, event("credit", "credit.fact.recorded.v1", spared, result)
    )

    await pool("samr", 1)  # a task needs two
    campaign = await service.create(session, _campaign(checklist, zone), office)
    with pytest.raises(Conflict) as understaffed:
        await service.draw(session, campaign, DrawIn(), office)
    assert understaffed.value.extensions["unstaffable"] == [checked]
    assert campaign.status == "planned" and await emitted(session) == []

    await pool("samr", 1)
    await service.draw(session, campaign, DrawIn(), office)
    await session.flush()
    assert [t.uscc for t in await _tasks(session, campaign)] == [checked]
    assert (await session.get_one(DrawRecord, campaign.id)).stats["excluded"] == 1


async def test_a_campaign_is_planned_by_its_agencies_on_their_industry_s_checklist(
    session: AsyncSession, checklist: Checklist
) -> None:
    samr = Principal(subject="samr-staff", scopes=frozenset({"inspection:write"}), agency="samr")
    customs = Principal(subject="c-staff", scopes=frozenset({"inspection:write"}), agency="customs")
    with pytest.raises(ProblemError) as outsider:
        await service.create(session, _campaign(checklist, "z"), customs)
    assert outsider.value.slug == "forbidden"
    with pytest.raises(ProblemError) as other_industry:
        await service.create(session, _campaign(checklist, "z", industries=["furniture"]), samr)
    assert other_industry.value.slug == "validation"
    with pytest.raises(NotFound):
        await service.create(session, _campaign(checklist, "z", checklist_id=uuid.uuid4()), samr)
    campaign = await service.create(session, _campaign(checklist, "z"), samr)
    assert (campaign.created_by, campaign.agencies) == ("samr-staff", ["samr"])


async def test_campaigns_and_inspectors_belong_to_member_agencies_only(
    session: AsyncSession, office: Principal, checklist: Checklist
) -> None:
    with pytest.raises(NotFound) as campaign:
        await service.create(
            session, _campaign(checklist, "z", agencies=["samr", "ghost_bureau"]), office
        )
    assert "ghost_bureau" in campaign.value.detail
    with pytest.raises(NotFound) as inspector:
        await inspectors.create(
            session,
            InspectorIn(agency="ghost_bureau", badge_number="B-ghost", name="幽灵", unit="u"),
        )
    assert "ghost_bureau" in inspector.value.detail


async def _measures_published(session: AsyncSession, version: int, a_ratio: float) -> None:
    published = ModelPublished(
        version=version,
        job_id=str(uuid.uuid4()),
        measures={
            **DEFAULTS,
            "A": DEFAULTS["A"].model_copy(update={"inspection_ratio": a_ratio}),
        },
    )
    await consumers.on_model(
        session, published, event("credit", "credit.model.published.v1", str(version), published)
    )


async def test_strata_default_to_the_measures_in_force_at_the_draw(
    session: AsyncSession, office: Principal, checklist: Checklist, listed: Listed, pool: Pool
) -> None:
    """联合奖惩 as data: the campaign is planned, then credit changes A's ratio to 1.0 (an
    older version arriving late changes nothing): the draw takes every A enterprise, records
    model version 8 as the source, keeps the campaign's own B ratio as an override, and
    replays identically."""
    zone = f"zone-{uuid.uuid4().hex[:8]}"
    a_level = [await listed(zone=zone, level="A") for _ in range(3)]
    [await listed(zone=zone, level="B") for _ in range(2)]
    await pool("samr", 4)
    campaign = await service.create(session, _campaign(checklist, zone, ratios={"B": 0.0}), office)
    assert service.to_out(campaign).ratios == {"B": 0.0}

    await _measures_published(session, 8, a_ratio=1.0)
    await _measures_published(session, 7, a_ratio=0.2)  # late and older: not in force
    await service.draw(session, campaign, DrawIn(), office)
    await session.flush()

    assert sorted(t.uscc for t in await _tasks(session, campaign)) == sorted(a_level)
    stored = await session.get_one(DrawRecord, campaign.id)
    assert stored.measures_version == 8
    assert stored.ratios == {"A": 1.0, "B": 0.0, "C": 0.3, "D": 1.0}
    assert stored.ratio_sources == {
        "A": "measures",
        "B": "override",
        "C": "measures",
        "D": "measures",
    }
    assert stored.stats["sampled"] == {"A": 3, "B": 0}
    await _measures_published(session, 9, a_ratio=0.05)  # after the draw: the replay holds
    assert (await service.verify(session, campaign)).matches


async def test_before_credit_announces_measures_the_defaults_apply_and_say_so(
    session: AsyncSession, office: Principal, checklist: Checklist, listed: Listed, pool: Pool
) -> None:
    zone = f"zone-{uuid.uuid4().hex[:8]}"
    await listed(zone=zone, level="D")
    await pool("samr", 2)
    campaign = await service.create(session, _campaign(checklist, zone, ratios={}), office)
    await service.draw(session, campaign, DrawIn(), office)
    await session.flush()
    stored = await session.get_one(DrawRecord, campaign.id)
    assert stored.measures_version is None
    assert stored.ratios == {lv: e.inspection_ratio for lv, e in DEFAULTS.items()}
    assert set((stored.ratio_sources or {}).values()) == {"default"}
