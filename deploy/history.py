"""Years of demo history on top of the seed (deploy/seed.py): what each zone did from its
plan start to today, so the overview, a zone's page and an accepted zone's dossier show
real trends.

Per enterprise, yearly surveys with export values from its first zone's plan start to last
year, and export batches with declared values for the last three years (their sum is the
year's surveyed export). Per zone and year, a random spot-check campaign drawn and checked,
pass rates by industry that improve after acceptance, failed checks with their CAPAs. A
few foreign notifications and returns a year naming shipped batches raise alerts (with
targeted checks and CAPAs); recent serious ones put a handful of enterprises at credit C
and D; yearly joint meetings and trainings.

All through the service layer (each change emits its event), dated on the day it happened
(`kit.db.clock_at`), deterministic (one fixed seed). `make run` loads registry's part
right after the seed (the services still starting), inspection's once every consumer has
applied both; an interrupted load resumes on the next `make run`. Test stacks load it only
when a test calls `Stack.load_history`.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deploy.seed import ACCEPTED_SHARE, ZONES, _on
from kit.auth import ALL_SCOPES, Principal
from kit.bulk import Lines
from kit.db import clock_at, make_engine, make_sessionmaker
from kit.settings import ServiceSettings
from kit.validation import CHINA
from services.registry.domain import Industry, Stage

SEED_VALUE = 20170301  # the history's one random seed
Maker = async_sessionmaker[AsyncSession]
T = TypeVar("T")
MARK = "（演示历史）"  # in the titles of what the history adds; its presence means loaded
BATCH_YEARS = 3  # export batches for the last three years; surveys before them

# Spot-check pass rate per industry before acceptance (improving a little each year) and the
# lift acceptance brings; electronics and lighting are the harder ones.
PASS_RATE = {
    Industry.stationery: 0.86,
    Industry.molds: 0.9,
    Industry.furniture: 0.83,
    Industry.outdoor: 0.87,
    Industry.auto_parts: 0.84,
    Industry.lighting: 0.78,
    Industry.hardware: 0.82,
    Industry.electronics: 0.76,
}
ACCEPTED_LIFT = 0.05
YEARLY_GAIN = 0.012  # each year of a zone's work
FIRST_YEAR_GAP = 0.12  # how far below the industry's rate a zone starts
# Exports against the enterprise's registered figure, by year (2020's dip, the recovery).
EXPORT_FACTOR = {
    2014: 0.6,
    2015: 0.66,
    2016: 0.72,
    2020: 0.93,
    2021: 1.1,
    2022: 1.17,
    2023: 1.12,
    2024: 1.22,
    2025: 1.3,
    2026: 1.36,
}
CHECK_ITEMS = [  # code, title, legal basis, criterion, the note when it fails
    (
        "LBL-01",
        "标识标签与说明书",
        "《进出口商品检验法》第五条",
        "标识齐全、与实物一致",
        "警示标识缺失",
    ),
    (
        "SAF-01",
        "产品安全性能",
        "进口国技术法规及对应产品标准",
        "安全项目检测合格",
        "安全项目不符合进口国标准",
    ),
    (
        "CHM-01",
        "有害物质限量",
        "REACH / RoHS 及 GB 相关限量标准",
        "限量项目检测合格",
        "有害物质超出限量",
    ),
    (
        "TRC-01",
        "批次管理与质量追溯",
        "宁政办发〔2017〕49号 附件2",
        "批次记录完整、可追溯",
        "批次记录不完整",
    ),
]
FAILURE_NOTES = {code: note for code, *_, note in CHECK_ITEMS}
INSPECTORS = [
    ("market_supervision", f"{town}市场监管所") for town in ("跃龙", "桃源", "西店", "长街")
]
INSPECTORS += [
    ("ciq", f"宁海办事处{unit}") for unit in ("检验一科", "检验二科", "检验三科", "综合科")
]


def admin(agency: str) -> Principal:
    """The seed acting for `agency` with every scope."""
    return Principal(subject="seed", scopes=frozenset(ALL_SCOPES), agency=agency)


def at(day: date, hour: int = 9) -> datetime:
    """`hour` o'clock, China time, of `day`."""
    return datetime.combine(day, time(hour), tzinfo=CHINA)


def today() -> date:
    """Today in China."""
    return datetime.now(CHINA).date()


@dataclass(frozen=True)
class Member:
    """An enterprise of the demo as the history needs it."""

    uscc: str
    industry: Industry
    export_usd: int
    employees: int
    products: list[dict[str, Any]]
    markets: list[str]
    zones: tuple[str, ...]
    first_year: int


# ---------------------------------------------------------------- registry


async def _members(session: AsyncSession) -> list[Member]:
    from services.registry.enterprises.models import Enterprise
    from services.registry.memberships.models import Membership

    starts = {code: start for code, _, _, _, start, *_ in ZONES}
    zones: dict[str, list[str]] = defaultdict(list)
    for uscc, zone in await session.execute(
        select(Membership.uscc, Membership.zone_code)
        .where(Membership.status == "admitted")
        .order_by(Membership.uscc, Membership.zone_code)
    ):
        zones[uscc].append(zone)
    out = []
    for e in await session.scalars(select(Enterprise).order_by(Enterprise.uscc)):
        mine = tuple(zones.get(e.uscc, []))
        first = min((starts[z].year for z in mine if z in starts), default=2017)
        out.append(
            Member(
                uscc=e.uscc,
                industry=Industry(e.industry or Industry.stationery),
                export_usd=int(e.annual_export_usd or 1_000_000),
                employees=int(e.employees or 50),
                products=list(e.products or []),
                markets=list(e.export_markets or ["US"]),
                zones=mine,
                first_year=first,
            )
        )
    return out


def exports_of(member: Member, year: int, rng: random.Random) -> int:
    """The enterprise's surveyed export for `year` (the seed's own 2017–2019 figures aside)."""
    factor = EXPORT_FACTOR.get(year, 0.8 + 0.1 * (year - 2017))
    return int(member.export_usd * factor * rng.uniform(0.9, 1.1))


async def registry_history(session: AsyncSession) -> dict[str, int]:
    """Surveys, export batches, trainings and joint meetings through registry's services."""
    from services.registry.batches import service as batches
    from services.registry.batches.schemas import BatchIn
    from services.registry.enterprises import service as enterprises
    from services.registry.enterprises.models import Survey
    from services.registry.enterprises.schemas import SurveyIn
    from services.registry.programme.trainings.models import Training

    if await session.scalar(select(func.count()).where(Training.title.contains(MARK))):
        return {}
    rng = random.Random(SEED_VALUE)
    members = await _members(session)
    now = today()
    last_year = now.year - 1
    surveyed = set(await session.execute(select(Survey.uscc, Survey.year)))
    office = admin("commerce")
    yearly: dict[tuple[str, int], int] = {}
    for member in members:
        for year in range(member.first_year, last_year + 1):
            yearly[(member.uscc, year)] = exports_of(member, year, rng)
    surveys = []
    for member in members:
        for year in range(member.first_year, last_year + 1):
            if (member.uscc, year) in surveyed:
                continue
            usd = yearly[(member.uscc, year)]
            surveys.append(
                (
                    year,
                    member.uscc,
                    SurveyIn(
                        year=year,
                        employees=member.employees,
                        annual_output_cny=usd * 7 // 10 * 10,
                        annual_export_usd=usd,
                        products=member.products,  # type: ignore[arg-type]
                        export_markets=member.markets,
                        quality={
                            "management_system": "ISO9001",
                            "returns": rng.choice([0, 0, 0, 1, 2]),
                            "foreign_notifications": rng.choice([0, 0, 0, 0, 1]),
                        },
                        lab={"has_lab": rng.random() < 0.5},
                    ),
                )
            )
    for year in sorted({y for y, _, _ in surveys}):
        # a year's survey is filed in the spring after it
        with clock_at(at(date(year + 1, 3, 15))):
            await enterprises.add_surveys(
                session, [(u, s) for y, u, s in surveys if y == year], principal=office
            )

    lots: dict[date, list[BatchIn]] = defaultdict(list)
    rounds = [(3, 10), (7, 15), (11, 5)]  # three shipments a year: spring, summer, autumn
    for member in members:
        for year in range(now.year - BATCH_YEARS + 1, now.year + 1):
            annual = yearly.get((member.uscc, year)) or exports_of(member, year, rng)
            for n, (month, day) in enumerate(rounds, start=1):
                ship = date(year, month, day) + timedelta(days=rng.randint(0, 20))
                if ship >= now:
                    continue
                product = rng.choice(member.products) if member.products else {}
                number = f"NH{year}-{member.uscc[-6:]}-{n}"
                lots[ship].append(
                    BatchIn.model_validate(
                        {
                            "uscc": member.uscc,
                            "number": number,
                            "kind": "export",
                            "product": product.get("name") or "出口产品",
                            "hs_code": product.get("hs_code"),
                            "quantity": float(rng.randint(2, 40) * 100),
                            "unit": "件",
                            "destination": rng.choice(member.markets),
                            "declaration_no": f"3102{year}{member.uscc[-8:]}{n}",
                            "ship_date": ship,
                            "brand": f"NH-{member.uscc[10:14]}",
                            "model": f"M{member.uscc[-4:]}-{n}",
                            "export_value_usd": annual // len(rounds),
                        }
                    )
                )
    recorded = 0
    for ship in sorted(lots):
        with clock_at(at(ship, 16)):
            lines: Lines[BatchIn] = Lines(single=False, good=list(enumerate(lots[ship], 1)))
            result, _ = await batches.record(session, lines, office)
            recorded += result.accepted

    from deploy.history_programme import programme_history

    trainings, meetings = await programme_history(session, members, rng)
    return {
        "surveys": len(surveys),
        "batches": recorded,
        "trainings": trainings,
        "meetings": meetings,
    }


# ---------------------------------------------------------------- inspection


def accepted_on(code: str) -> date | None:
    """The day the demo's zone was accepted (seed.py's decision), or None."""
    for zone, _, _, _, start, end, reached in ZONES:
        if zone == code and reached is Stage.accepted:
            return _on(start, end, ACCEPTED_SHARE)
    return None


def pass_rate(industry: Industry, zone: str, start: date, year: int) -> float:
    """The chance a random check passes: the industry's, a little better each year of the
    zone's work, and lifted once the zone is accepted."""
    rate = PASS_RATE[industry] - FIRST_YEAR_GAP + YEARLY_GAIN * max(0, year - start.year)
    accepted = accepted_on(zone)
    if accepted is not None and year > accepted.year:
        rate += ACCEPTED_LIFT
    return min(rate, 0.97)


def _findings(rng: random.Random, failed: bool, items: Any = None) -> list[dict[str, Any]]:
    """A result over `items` (a checklist's; the demo's own by default), one failing."""
    codes = [i["code"] for i in items] if items else [code for code, *_ in CHECK_ITEMS]
    bad = rng.choice(codes) if failed else None
    note = FAILURE_NOTES.get(bad or "", "不符合检查要求（演示数据）")
    return [
        {"item": c, "outcome": "fail" if c == bad else "pass", "note": note if c == bad else None}
        for c in codes
    ]


async def inspection_history(maker: Maker) -> dict[str, int]:
    """Checklists, inspectors, a campaign a zone a year, its results and CAPAs, and the
    signals that raise alerts, through inspection's services: a transaction for each (the
    running services' consumers take some of the same locks)."""
    from services.inspection.campaigns import service as campaigns
    from services.inspection.campaigns.models import Campaign
    from services.inspection.campaigns.schemas import CampaignIn, DrawIn
    from services.inspection.checklists import service as checklists
    from services.inspection.checklists.models import Checklist
    from services.inspection.checklists.schemas import ChecklistIn
    from services.inspection.inspectors import service as inspectors
    from services.inspection.inspectors.models import Inspector
    from services.inspection.inspectors.schemas import InspectorIn
    from services.inspection.tasks.models import Task

    rng = random.Random(SEED_VALUE + 1)
    office = admin("commerce")
    first_day = at(date(min(start for *_, start, _, _ in ZONES).year, 1, 5))
    lists: dict[Industry, uuid.UUID] = {}
    pool: dict[str, str] = {}

    async def setup(session: AsyncSession) -> dict[str, int]:
        # A load before this one (interrupted, or whole) left its checklists and inspectors:
        # take them as they are (publishing or hiring them again would be refused).
        for checklist_id, industry in await session.execute(
            select(Checklist.id, Checklist.industry).where(Checklist.code.endswith("-export-demo"))
        ):
            lists[Industry(industry)] = checklist_id
        badges = {f"3302262017{n:04d}": n for n in range(len(INSPECTORS))}
        for officer_id, agency in await session.execute(
            select(Inspector.id, Inspector.agency).where(Inspector.badge_number.in_(badges))
        ):
            pool[str(officer_id)] = agency
        if len(lists) == len(Industry) and len(pool) == len(INSPECTORS):
            return {}
        if lists or pool:
            raise RuntimeError(
                "demo history: a partial set-up is in the way; start from a clean data folder"
            )
        with clock_at(first_day):
            for industry in Industry:
                checklist = await checklists.publish(
                    session,
                    ChecklistIn.model_validate(
                        {
                            "code": f"{industry.value.replace('_', '-')}-export-demo",
                            "industry": industry,
                            "title": f"出口产品质量安全监督抽查检查表（{industry.value}）{MARK}",
                            "items": [
                                {"code": c, "title": t, "legal_basis": b, "criterion": k}
                                for c, t, b, k, _ in CHECK_ITEMS
                            ],
                        }
                    ),
                    office,
                )
                lists[industry] = checklist.id
            for n, (agency, unit) in enumerate(INSPECTORS):
                officer = await inspectors.create(
                    session,
                    InspectorIn(
                        agency=agency,
                        badge_number=f"3302262017{n:04d}",
                        name=f"{'王李张刘陈杨黄赵'[n]}{'明华强军'[n % 4]}",
                        unit=unit,
                        specialties=[i.value for i in Industry],
                    ),
                )
                pool[str(officer.id)] = agency
        return {"inspectors": len(pool)}

    counts = await _unit(maker, rng, setup)
    principals = {
        i: Principal(
            subject=f"inspector:{i}", scopes=frozenset(ALL_SCOPES), agency=a, inspector_id=i
        )
        for i, a in pool.items()
    }

    now = today()
    # Year by year: the year's campaigns created and drawn one after another in ZONES order
    # (a draw sees the campaigns drawn before it: a higher level's checks are left out of a
    # lower one's), then their checks recorded side by side, a transaction per campaign,
    # each campaign with its own random state (the same whatever order they finish in).
    years = sorted({y for *_, start, _, _ in ZONES for y in range(start.year, now.year + 1)})

    async def year_of(year: int) -> None:
        window = (date(year, 4, 1), date(year, 10, 31))
        if window[1] >= now:
            return
        drawn: list[tuple[str, Industry, date, uuid.UUID]] = []
        for code, industry, _, _, start, _, _ in ZONES:
            if year < start.year:
                continue

            async def draw_of(
                session: AsyncSession, code: str = code, industry: Industry = industry
            ) -> tuple[uuid.UUID, int]:
                title = f"{year}年{code}示范区出口产品质量联合抽查{MARK}"
                drawn_before = await session.scalar(
                    select(Campaign.id).where(Campaign.title == title)
                )
                if drawn_before is not None:  # by a load before this one
                    return drawn_before, 0
                draw_seed = f"{MARK}{code}:{year}:{SEED_VALUE}"  # committed: a replayable draw
                with clock_at(at(date(year, 3, 20))):
                    campaign = await campaigns.create(
                        session,
                        CampaignIn.model_validate(
                            {
                                "title": title,
                                "agencies": ["market_supervision", "ciq"],
                                "zones": [code],
                                "industries": [industry],
                                "checklist_id": lists[industry],
                                "ratios": {"A": 0.1, "B": 0.2, "C": 0.5, "D": 1.0},
                                "window_start": window[0],
                                "window_end": window[1],
                                "seed_sha256": campaigns.sha256(draw_seed),
                            }
                        ),
                        office,
                    )
                    await campaigns.draw(session, campaign, DrawIn(seed=draw_seed), office)
                return campaign.id, 1

            campaign_id, new = await _unit(maker, None, draw_of)
            drawn.append((code, industry, start, campaign_id))
            counts["campaigns"] = counts.get("campaigns", 0) + new

        async with maker() as session:
            sizes = {
                campaign_id: int(n)
                for campaign_id, n in await session.execute(
                    select(Task.campaign_id, func.count())
                    .where(Task.campaign_id.in_([d[3] for d in drawn]))
                    .group_by(Task.campaign_id)
                )
            }
        # How many of each campaign's checks fail: its expected share, rounded with the
        # remainder carried to the year's next campaign (in ZONES order), so each year's pass
        # rate is the rates' (a trend, not a coin's noise on a few dozen checks).
        carry = 0.0
        plans: list[tuple[uuid.UUID, int]] = []
        for code, industry, start, campaign_id in drawn:
            checks = sizes.get(campaign_id, 0)
            expected = checks * (1 - pass_rate(industry, code, start, year)) + carry
            fails = min(checks, max(0, round(expected)))
            carry = expected - fails
            plans.append((campaign_id, fails))

        async def results_of(
            session: AsyncSession, rng: random.Random, campaign_id: uuid.UUID, fails: int
        ) -> dict[str, int]:
            made = {"checks": 0, "failed": 0, "capas": 0}
            checked_before = select(Task.id).where(
                Task.campaign_id == campaign_id, Task.result.is_not(None)
            )
            if await session.scalar(checked_before.limit(1)):
                return made  # by a load before this one (a campaign's checks: one transaction)
            tasks = list(
                await session.scalars(
                    select(Task).where(Task.campaign_id == campaign_id).order_by(Task.uscc)
                )
            )
            failing = set(rng.sample(range(len(tasks)), fails))
            for n, task in enumerate(tasks):
                days = (window[1] - window[0]).days
                checked = window[0] + timedelta(days=rng.randint(0, days))
                failed = n in failing
                verdict = "fail" if failed else ("minor" if rng.random() < 0.25 else "pass")
                await _check(session, task, principals, checked, rng, failed, verdict)
                made["checks"] += 1
                if failed:
                    made["failed"] += 1
                    made["capas"] += await _close_capa(session, task, principals, checked)
            return made

        async def checked(code: str, campaign_id: uuid.UUID, fails: int) -> dict[str, int]:
            own = random.Random(f"{SEED_VALUE}:{code}:{year}")
            return await _unit(
                maker, own, lambda session: results_of(session, own, campaign_id, fails)
            )

        for made in await asyncio.gather(
            *(checked(d[0], c, f) for d, (c, f) in zip(drawn, plans, strict=True))
        ):
            _add(counts, made)

    for year in years:
        await year_of(year)
    from deploy.history_signals import signals_history

    _add(counts, await signals_history(maker, principals, rng))
    return {key: n for key, n in counts.items() if n}


def _add(counts: dict[str, int], more: dict[str, int]) -> None:
    for key, value in more.items():
        counts[key] = counts.get(key, 0) + value


async def _unit(
    maker: Maker, rng: random.Random | None, work: Callable[[AsyncSession], Awaitable[T]]
) -> T:
    """`work` in a transaction of its own, tried again from the same random state when
    PostgreSQL chose it as a deadlock's victim (a running consumer took the same locks)."""
    state = rng.getstate() if rng is not None else None
    for attempt in range(1, 6):
        try:
            async with maker() as session, session.begin():
                return await work(session)
        except DBAPIError as exc:
            if "deadlock" not in str(exc) or attempt == 5:
                raise
            if rng is not None and state is not None:
                rng.setstate(state)
            await asyncio.sleep(0.2 * attempt)
    raise AssertionError("unreachable")


async def _check(
    session: AsyncSession,
    task: Any,
    principals: dict[str, Principal],
    day: date,
    rng: random.Random,
    failed: bool,
    verdict: str,
) -> None:
    """A result over the task's checklist (an alert's: its industry's newest), confirmed."""
    from services.inspection.checklists.models import Checklist
    from services.inspection.tasks import service as tasks
    from services.inspection.tasks.schemas import ResultIn

    listed = await session.get(Checklist, task.checklist_id) if task.checklist_id else None
    findings = _findings(rng, failed, listed.items if listed else None)

    first, *others = [str(i) for i in task.inspector_ids]
    with clock_at(at(day, 15)):
        await tasks.record_result(
            session,
            task,
            ResultIn.model_validate(
                {"findings": findings, "verdict": verdict, "checked_at": at(day, 10)}
            ),
            principals[first],
        )
        for other in others:
            await tasks.confirm(session, task, principals[other])


async def _close_capa(
    session: AsyncSession,
    task: Any,
    principals: dict[str, Principal],
    day: date,
    *,
    close: bool = True,
) -> int:
    """The failed task's CAPA answered by the enterprise and, when `close`, verified
    effective by its inspector a month later (both before today)."""
    from services.inspection.capas import service as capas
    from services.inspection.capas.models import Capa
    from services.inspection.capas.schemas import ResponseIn, VerificationIn

    capa = await session.scalar(select(Capa).where(Capa.task_id == task.id))
    if capa is None:
        return 0
    answered, verified = day + timedelta(days=12), day + timedelta(days=35)
    if answered >= today():
        return 1
    with clock_at(at(answered)):
        await capas.respond(
            session,
            capa,
            ResponseIn(
                root_cause="原材料进货查验不严（演示数据）", actions="更换供应商，加严进货检验"
            ),
            Principal(subject="seed", scopes=frozenset(ALL_SCOPES), uscc=task.uscc),
        )
    if close and verified < today():
        with clock_at(at(verified)):
            await capas.verify(
                session,
                capa,
                VerificationIn(effective=True, note="复查合格"),
                principals[str(task.inspector_ids[0])],
            )
    return 1


# ---------------------------------------------------------------- the step


async def outbox_drained(database_url: str, *, timeout_s: float = 120) -> bool:
    """Wait until the service's relay has published every event in its outbox."""
    engine = make_engine(ServiceSettings(database_url=database_url))
    try:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while asyncio.get_running_loop().time() < deadline:
            async with engine.connect() as conn:
                left = await conn.scalar(text("SELECT count(*) FROM outbox WHERE sent_at IS NULL"))
            if not left:
                return True
            await asyncio.sleep(0.5)
        return False
    finally:
        await engine.dispose()


async def load_registry(db_url: Callable[[str], str]) -> dict[str, int]:
    """Registry's part of the history in one transaction (again from the start should a
    consumer's lock deadlock it): it needs registry's own records only, so it may load while
    the services are still starting. Empty when it was loaded before (a marked training)."""
    engine = make_engine(ServiceSettings(database_url=db_url("registry")))
    try:
        return await _unit(make_sessionmaker(engine), random.Random(), registry_history)
    finally:
        await engine.dispose()


async def load_inspection(
    db_url: Callable[[str], str], timings: dict[str, float]
) -> dict[str, int]:
    """Inspection's part, once its consumers have applied registry's history (the batches it
    matches signals against); resumable after an interruption (each campaign's draw, each
    campaign's checks and each signal a transaction, passed over when found made). Empty
    when nothing was left to make."""
    clock = asyncio.get_running_loop().time
    started = clock()
    # a year's ten campaigns connect at once, maybe on a busy machine: more than 3 s to connect
    settings = ServiceSettings(database_url=db_url("inspection"), db_connect_timeout_s=30)
    engine = make_engine(settings)
    try:
        made = await inspection_history(make_sessionmaker(engine))
    finally:
        await engine.dispose()
    timings["inspection"], started = clock() - started, clock()
    if made:
        await outbox_drained(db_url("inspection"))
    timings["inspection sent"] = clock() - started
    return made


async def load(
    db_url: Callable[[str], str],
    caught_up: Callable[[], Awaitable[bool]],
    timings: dict[str, float],
) -> dict[str, int]:
    """The history, phase by phase: registry's records, then (once every consumer has
    applied their events) inspection's. `db_url` names a service's database; `caught_up`
    waits until every consumer has applied every event; `timings` gets each phase's
    seconds. Empty when it was loaded before."""
    clock = asyncio.get_running_loop().time
    started = clock()
    counts = await load_registry(db_url)
    timings["registry"], started = clock() - started, clock()
    if counts:
        await outbox_drained(db_url("registry"))
        await caught_up()
    timings["registry applied"] = clock() - started
    return counts | await load_inspection(db_url, timings)
