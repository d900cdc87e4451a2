"""Ninghai demo data from the guidance (宁政办发〔2017〕49号), loaded idempotently.

Agencies of the leadership group (附件1) and the group itself with its first joint meeting,
the zones of the three-phase plan, and a few
hundred realistic enterprises with valid USCCs in region 330226, with surveys, memberships
and commitments. Everything goes through the registry's service layer, so each change also
emits its event, exactly as if an officer had entered it.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import sys
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from deploy.seed_labs import LABS
from kit import commitments, vocabulary
from kit.auth import ALL_SCOPES, Principal
from kit.db import make_engine, make_sessionmaker
from kit.events import AgencyRegistered
from kit.settings import ServiceSettings
from kit.uscc import generate
from kit.validation import CHINA
from services.registry.agencies import service as agencies
from services.registry.agencies.models import Agency
from services.registry.agencies.schemas import AgencyIn
from services.registry.domain import (
    ACCEPTING_AGENCY,
    INDUSTRY_NAMES,
    STAGE_TASKS,
    Industry,
    Stage,
    ZoneLevel,
)
from services.registry.enterprises import service as enterprises
from services.registry.enterprises.models import Enterprise
from services.registry.enterprises.schemas import Certification, EnterpriseIn, Product, SurveyIn
from services.registry.memberships import service as memberships
from services.registry.memberships.schemas import ApplicationIn, CommitmentIn, Decision, DecisionIn
from services.registry.programme.acceptance import service as acceptance
from services.registry.programme.acceptance.schemas import (
    AcceptanceApplicationIn,
    AcceptanceDecisionIn,
)
from services.registry.zones import service as zones
from services.registry.zones.models import Zone
from services.registry.zones.schemas import TaskUpdate, TransitionIn, ZoneIn

SEED = Principal(subject="seed", scopes=frozenset(ALL_SCOPES), agency="commerce")

# Their names are the one vocabulary's (kit/vocabulary.py).
AGENCIES = [
    (code, *vocabulary.AGENCIES[code], role)
    for code, role in [
        ("county_gov_office", "deputy"),
        ("commerce", "office"),
        ("ciq", "deputy"),
        ("econ_it", "member"),
        ("sci_tech", "member"),
        ("finance", "member"),
        ("market_supervision", "member"),
    ]
]

# The accepting authorities (指导意见 四(四)): agencies of their own, outside the county's group.
AUTHORITIES = [(code, *vocabulary.AGENCIES[code]) for code in ("ningbo_ciq", "aqsiq")]

# code, industry, level, phase, plan start, plan end, stage reached by the demo date
ZONES = [
    (
        "stationery-provincial",
        Industry.stationery,
        "provincial",
        None,
        date(2015, 3, 1),
        date(2016, 12, 31),
        Stage.accepted,
    ),
    (
        "stationery-national",
        Industry.stationery,
        "national",
        1,
        date(2017, 3, 1),
        date(2018, 2, 28),
        Stage.accepted,
    ),
    (
        "molds-provincial",
        Industry.molds,
        "provincial",
        1,
        date(2017, 3, 1),
        date(2018, 2, 28),
        Stage.accepted,
    ),
    (
        "furniture-provincial",
        Industry.furniture,
        "provincial",
        1,
        date(2017, 3, 1),
        date(2018, 2, 28),
        Stage.accepted,
    ),
    (
        "outdoor-provincial",
        Industry.outdoor,
        "provincial",
        1,
        date(2017, 3, 1),
        date(2018, 2, 28),
        Stage.accepted,
    ),
    (
        "auto_parts-provincial",
        Industry.auto_parts,
        "provincial",
        2,
        date(2018, 3, 1),
        date(2019, 2, 28),
        Stage.accepted,
    ),
    (
        "lighting-provincial",
        Industry.lighting,
        "provincial",
        2,
        date(2018, 3, 1),
        date(2019, 2, 28),
        Stage.accepted,
    ),
    (
        "hardware-provincial",
        Industry.hardware,
        "provincial",
        3,
        date(2019, 3, 1),
        date(2020, 2, 29),
        Stage.assessing,
    ),
    (
        "electronics-provincial",
        Industry.electronics,
        "provincial",
        3,
        date(2019, 3, 1),
        date(2020, 2, 29),
        Stage.assessing,
    ),
    (
        "auto_parts-national",
        Industry.auto_parts,
        "national",
        3,
        date(2019, 3, 1),
        date(2020, 2, 29),
        Stage.implementing,
    ),
]

PRODUCTS: dict[Industry, list[tuple[str, str]]] = {
    Industry.stationery: [
        ("960810", "圆珠笔"),
        ("960910", "铅笔"),
        ("482010", "笔记本"),
        ("442190", "木制文具"),
    ],
    Industry.molds: [("848071", "注塑模具"), ("848041", "压铸模具"), ("848079", "其他模具")],
    Industry.furniture: [("940360", "木制家具"), ("940161", "木框架软座椅"), ("442199", "木制品")],
    Industry.outdoor: [("950691", "运动杖"), ("950699", "户外运动用品"), ("660200", "手杖")],
    Industry.auto_parts: [("870899", "汽车零部件"), ("870830", "制动器"), ("851220", "汽车灯具")],
    Industry.lighting: [("940542", "LED 灯具"), ("940511", "吊灯"), ("940549", "其他灯具")],
    Industry.hardware: [("820559", "手工具"), ("846729", "电动工具"), ("731815", "螺钉螺栓")],
    Industry.electronics: [("851660", "电烤炉"), ("850940", "食品加工机"), ("851310", "手电筒")],
}
MARKETS = ["US", "DE", "GB", "FR", "JP", "AU", "CA", "NL", "IT", "ES", "KR", "RU", "AE", "BR", "PL"]
NAME_WORDS = [
    "宏达",
    "金鹰",
    "天润",
    "华亿",
    "东方",
    "海天",
    "永盛",
    "恒通",
    "创新",
    "瑞丰",
    "博远",
    "聚力",
    "新时代",
    "明辉",
    "鑫源",
    "德力",
    "嘉禾",
    "力帆",
    "卓越",
    "万利",
    "星光",
    "隆兴",
]
INDUSTRY_WORDS = {
    Industry.stationery: "文具",
    Industry.molds: "模具",
    Industry.furniture: "家具",
    Industry.outdoor: "户外用品",
    Industry.auto_parts: "汽车部件",
    Industry.lighting: "灯饰",
    Industry.hardware: "五金工具",
    Industry.electronics: "电器",
}
TOWNS = [
    "跃龙街道",
    "桃源街道",
    "梅林街道",
    "桥头胡街道",
    "西店镇",
    "深甽镇",
    "长街镇",
    "力洋镇",
    "前童镇",
    "黄坛镇",
]
PER_INDUSTRY = 40
COMMITMENT_TEXT = commitments.TEXTS[commitments.CURRENT_VERSION]  # the county's one text


async def seed(
    database_url: str, *, per_industry: int = PER_INDUSTRY, demo_user: bool = False
) -> dict[str, int]:
    """Load the demo data; running it again adds nothing. `demo_user` (the dev profile's):
    also the enterprise portal's `demo-enterprise` in the gateway's database."""
    engine = make_engine(ServiceSettings(database_url=database_url))
    maker = make_sessionmaker(engine)
    try:
        async with maker() as session, session.begin():
            counts = await _seed(session, per_industry)
    finally:
        await engine.dispose()
    counts["labs"] = await seed_labs(sibling_database(database_url, "inspection"))
    await seed_credit_agencies(sibling_database(database_url, "credit"))
    if demo_user:
        await seed_enterprise_user(database_url)
    return counts


# The enterprise portal's demo user (/portal/), dev profile only (the gateway deletes it at
# start in any other): staff of the first admitted member by USCC.
DEMO_ENTERPRISE_PASSWORD = "ninghai-enterprise-2017"  # noqa: S105 - dev only, printed at start
DEMO_ENTERPRISE_SCOPES = [
    "registry:read",
    "registry:write",
    "credit:read",
    "credit:write",
    "inspection:read",
    "inspection:write",
    "notify:read",
    "notify:write",
]


async def seed_enterprise_user(database_url: str) -> str | None:
    """`demo-enterprise` in the gateway's database, bound to the first admitted member's USCC,
    so the portal can be tried at once; left alone when it exists. Its USCC, or None."""
    from argon2 import PasswordHasher

    from gateway.users.models import User
    from gateway.users.service import DEMO_ENTERPRISE_USER
    from services.registry.memberships.models import Membership

    engine = make_engine(ServiceSettings(database_url=database_url))
    try:
        async with make_sessionmaker(engine)() as session:
            uscc = await session.scalar(
                select(Membership.uscc)
                .where(Membership.status == "admitted")
                .order_by(Membership.uscc)
                .limit(1)
            )
    finally:
        await engine.dispose()
    if uscc is None:
        return None
    engine = make_engine(ServiceSettings(database_url=sibling_database(database_url, "gateway")))
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            if await session.get(User, DEMO_ENTERPRISE_USER) is None:
                password_hash = await asyncio.to_thread(
                    PasswordHasher().hash, DEMO_ENTERPRISE_PASSWORD
                )
                session.add(
                    User(
                        username=DEMO_ENTERPRISE_USER,
                        password_hash=password_hash,
                        name="企业演示用户 (demo)",
                        kind="enterprise",
                        uscc=uscc,
                        scopes=DEMO_ENTERPRISE_SCOPES,
                        active=True,
                    )
                )
    finally:
        await engine.dispose()
    return uscc


def sibling_database(database_url: str, name: str) -> str:
    """Another service's database on the same server (one database per service)."""
    return f"{database_url.rsplit('/', 1)[0]}/{name}"


async def seed_credit_agencies(database_url: str) -> None:
    """Credit learns the member agencies now, as its consumer will from registry's
    announcements (an upsert; both agree): facts submitted the moment the services start
    must not wait on the stream to name their source."""
    from services.credit.agencies import service as credit_agencies

    engine = make_engine(ServiceSettings(database_url=database_url))
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            for code, zh, en, role in AGENCIES:
                announced = AgencyRegistered(code=code, name_zh=zh, name_en=en, group_role=role)
                await credit_agencies.mirror(session, announced)
    finally:
        await engine.dispose()


async def seed_labs(database_url: str) -> int:
    """The demo labs, through inspection's service layer (so their events go out); again,
    nothing."""
    from services.inspection.directory import service as directory
    from services.inspection.labs import service as labs
    from services.inspection.labs.models import Lab
    from services.inspection.labs.schemas import LabIn

    engine = make_engine(ServiceSettings(database_url=database_url))
    created = 0
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            # The seed runs before the services: inspection learns the agencies now, as its
            # consumer will from registry's announcements (an upsert; both agree).
            for code, zh, en, role in AGENCIES:
                announced = AgencyRegistered(code=code, name_zh=zh, name_en=en, group_role=role)
                await directory.mirror_agency(session, announced)
            for code, zh, en in AUTHORITIES:
                authority = AgencyRegistered(
                    code=code, name_zh=zh, name_en=en, group_role="none", kind="external_authority"
                )
                await directory.mirror_agency(session, authority)
            for lab in LABS:
                if await session.scalar(
                    select(Lab.id).where(Lab.cnas_number == lab["cnas_number"])
                ):
                    continue
                await labs.create_lab(session, lab_in=LabIn.model_validate(lab))
                created += 1
    finally:
        await engine.dispose()
    return created


# The county leadership group of 附件1 (宁政办发〔2017〕49号): the county government leads
# (共推共建原则: 示范区建设由县政府牵头), the office sits in the commerce bureau.
GROUP = {
    "code": "ninghai",
    "county": "宁海县",
    "name_zh": "宁海县出口产品质量安全示范区建设领导小组",
    "name_en": "Ninghai County leadership group for export quality safety demonstration zones",
    "basis": "宁政办发〔2017〕49号",
    "established_on": date(2017, 6, 12),
    "members": [
        {
            "agency_code": "county_gov_office",
            "role": "leader",
            "representatives": [
                {"name": "王鸿飞", "position": "head"},
                {"name": "丁恩杰", "position": "deputy_head"},
            ],
            "duties": "县政府牵头，全面负责示范区建设的整体规划和组织实施（地方政府负总责）",
        },
        {
            "agency_code": "commerce",
            "role": "office",
            "representatives": [
                {"name": "张晓桦", "position": "deputy_head"},
                {"name": "张晓桦", "position": "office_director"},
                {"name": "徐敏乐", "position": "member"},
                {"name": "徐敏乐", "position": "office_deputy_director"},
            ],
            "duties": "领导小组办公室：组织实施和部门协调，定期组织联席会议，签署质量诚信承诺书",
        },
        {
            "agency_code": "ciq",
            "role": "member",
            "representatives": [
                {"name": "梁铭明", "position": "deputy_head"},
                {"name": "葛宣宁", "position": "member"},
                {"name": "葛宣宁", "position": "office_deputy_director"},
            ],
            "duties": "出口产品质量安全监管、风险预警与追溯、示范区考核验收申报",
        },
        {
            "agency_code": "econ_it",
            "role": "member",
            "representatives": [{"name": "俞申国", "position": "member"}],
            "duties": "产业规划与质量品牌提升行动",
        },
        {
            "agency_code": "sci_tech",
            "role": "member",
            "representatives": [{"name": "徐兴友", "position": "member"}],
            "duties": "科技创新与企业研发技术服务",
        },
        {
            "agency_code": "finance",
            "role": "member",
            "representatives": [{"name": "胡忍标", "position": "member"}],
            "duties": "提供相关资金保障，支持示范区建设",
        },
        {
            "agency_code": "market_supervision",
            "role": "member",
            "representatives": [{"name": "林晓明", "position": "member"}],
            "duties": "产品质量监督抽查，法律法规与质量诚信培训",
        },
    ],
}
# The first joint meeting (联席会议) of the work plan's first phase; (title, owner, deadline,
# zone, the day it was reported done or None while open) per decision.
MEETING = {
    "group_code": "ninghai",
    "title": "2017年示范区建设第一次联席会议",
    "held_on": date(2017, 7, 20),
    "location": "宁海县人民政府",
    "agenda": [
        "研究制订示范区建设规划",
        "部署第一阶段（2017年3月至2018年2月）工作任务",
        "协调解决示范区建设中存在的问题",
    ],
    "attendees": [code for code, *_ in AGENCIES],
    "minutes": (
        "会议由领导小组办公室（县商务局）组织召开。会议听取了出口文具国家级示范区和模具、家具、"
        "户外休闲用品省级示范区建设进展，研究了第一阶段工作任务和职责分工，明确各成员单位"
        "各司其职、协同推进，相关任务纳入全县目标管理考核。"
    ),
}
ActionItemSeed = tuple[str, str, date, str | None, date | None]
MEETING_DECISIONS: list[tuple[str, list[ActionItemSeed]]] = [
    (
        "制订第一阶段示范区建设工作方案",
        [
            (
                "制订出口文具国家级示范区建设工作方案",
                "commerce",
                date(2017, 8, 31),
                "stationery-national",
                date(2017, 8, 25),
            ),
        ],
    ),
    (
        "落实示范区建设资金保障和扶持政策",
        [
            ("落实示范区建设专项资金", "finance", date(2017, 9, 30), None, date(2017, 10, 20)),
            ("开展质量品牌提升行动", "econ_it", date(2018, 2, 28), None, None),
        ],
    ),
    (
        "开展示范区质量安全监管和风险预警",
        [
            (
                "开展示范区企业产品质量监督抽查",
                "market_supervision",
                date(2017, 12, 31),
                "molds-provincial",
                date(2017, 12, 15),
            ),
            (
                "建立出口产品质量风险预警和追溯机制",
                "ciq",
                date(2017, 12, 31),
                "stationery-national",
                date(2017, 12, 28),
            ),
            ("为示范区企业研发创新提供技术服务", "sci_tech", date(2018, 2, 28), None, None),
        ],
    ),
]
# 地方政府负总责、监管部门各负其责 (county-wide); each enterprise is first responsible by rule.
RESPONSIBILITIES = [
    ("overall", "all", "county_gov_office", "县政府对示范区质量安全负总责"),
    ("supervisory", "export_inspection", "ciq", "出口产品检验检疫监管、风险预警和追溯"),
    ("supervisory", "spot_checks", "market_supervision", "产品质量监督抽查和执法"),
    ("supervisory", "coordination", "commerce", "领导小组办公室的组织协调和督办"),
]


async def _programme(session: AsyncSession) -> int:
    """The leadership group, its responsibilities and its first joint meeting; once."""
    from services.registry.programme.leadership import service as leadership
    from services.registry.programme.leadership.models import LeadershipGroup
    from services.registry.programme.leadership.schemas import ActionItemDone, GroupIn, MeetingIn
    from services.registry.programme.responsibilities import service as responsibilities
    from services.registry.programme.responsibilities.schemas import ResponsibilityIn

    if await session.get(LeadershipGroup, GROUP["code"]) is not None:
        return 0
    await leadership.create_group(session, group_in=GroupIn.model_validate(GROUP))
    for tier, topic, agency, duty in RESPONSIBILITIES:
        await responsibilities.assign_responsibility(
            session,
            responsibility_in=ResponsibilityIn.model_validate(
                {"tier": tier, "topic": topic, "agency_code": agency, "duty": duty}
            ),
            principal=SEED,
        )
    meeting_in = MeetingIn.model_validate(
        {
            **MEETING,
            "decisions": [
                {
                    "text": text,
                    "action_items": [
                        {"title": t, "owner_agency": o, "deadline": d, "zone_code": z}
                        for t, o, d, z, _ in items
                    ],
                }
                for text, items in MEETING_DECISIONS
            ],
        }
    )
    meeting = await leadership.hold_meeting(session, meeting_in=meeting_in, principal=SEED)
    done_on = [done for _, items in MEETING_DECISIONS for *_, done in items]
    out = await leadership.meeting_out(session, meeting)
    for item, day in zip(out.action_items, done_on, strict=True):
        if day is not None:
            await leadership.mark_done(
                session,
                await leadership.get_item(session, item.id, for_update=True),
                done_in=ActionItemDone(evidence="按期报送完成情况（演示数据）", done_on=day),
                principal=SEED,
            )
    return 1


async def _seed(session: AsyncSession, per_industry: int) -> dict[str, int]:
    for code, zh, en, role in AGENCIES:
        if await session.get(Agency, code) is None:
            agency_in = AgencyIn(code=code, name_zh=zh, name_en=en, group_role=role)  # type: ignore[arg-type]
            await agencies.create(session, agency_in=agency_in)
    for code, zh, en in AUTHORITIES:
        if await session.get(Agency, code) is None:
            authority_in = AgencyIn(
                code=code, name_zh=zh, name_en=en, group_role="none", kind="external_authority"
            )
            await agencies.create(session, agency_in=authority_in)
    created_zones = 0
    for code, industry, level, phase, start, end, reached in ZONES:
        if await session.get(Zone, code) is not None:
            continue
        zh, en = INDUSTRY_NAMES[industry]
        level_zh = "国家级" if level == "national" else "省级"
        zone = await zones.create(
            session,
            zone_in=ZoneIn(
                code=code,
                name_zh=f"出口{zh}质量安全示范区（{level_zh}）",
                name_en=f"Export {en.lower()} quality safety demonstration zone ({level})",
                industry=industry,
                level=ZoneLevel(level),
                phase=phase,
                plan_start=start,
                plan_end=end,
            ),
        )
        await _advance(session, zone, reached, start, end)
        created_zones += 1
    await session.flush()
    await _programme(session)

    existing = await session.scalar(select(func.count()).select_from(Enterprise))
    if existing:
        return {"zones": created_zones, "enterprises": 0}
    rng = random.Random(330226)
    created = 0
    for industry in Industry:
        industry_zones = [z for z in ZONES if z[1] is industry]
        for i in range(per_industry):
            enterprise = await _enterprise(session, rng, industry, i)
            created += 1
            for code, _, _, _, start, *_ in industry_zones:
                if rng.random() < 0.8:
                    await _membership(session, rng, code, enterprise.uscc, start)
    await _acceptances(session)
    return {"zones": created_zones, "enterprises": created}


def _on(start: date, end: date, share: float) -> date:
    """The day `share` of the way through a zone's plan window."""
    return start + timedelta(days=int((end - start).days * share))


def _at(day: date) -> datetime:
    """Nine in the morning, China time, of `day`."""
    return datetime.combine(day, time(9), tzinfo=CHINA)


# How far through its plan window a zone reached each stage, applied and was accepted.
STAGE_SHARE = {Stage.launching: 0.05, Stage.implementing: 0.3, Stage.assessing: 0.75}
APPLIED_SHARE, ACCEPTED_SHARE = 0.85, 0.95


async def _advance(
    session: AsyncSession, zone: Zone, reached: Stage, start: date, end: date
) -> None:
    """The zone's stage history, dated inside its plan window. `accepted` is the authority's
    decision (`_acceptances`, once the zone has members): the moves stop at `assessing`; an
    assessing zone of the demo has its application filed and awaiting the decision."""
    order = [Stage.launching, Stage.implementing, Stage.assessing]
    last = Stage.assessing if reached is Stage.accepted else reached
    for stage in order[: order.index(last) + 1]:
        for task in STAGE_TASKS.get(Stage(zone.stage), []):
            await zones.set_task(
                session, zone, task[0], task_update=TaskUpdate(done=True), principal=SEED
            )
        await zones.transition(
            session,
            zone,
            transition_in=TransitionIn(to=stage, reason="按工作方案推进（演示数据）"),
            principal=SEED,
            at=_at(_on(start, end, STAGE_SHARE[stage])),
        )
    if zone.stage == Stage.assessing.value:
        await acceptance.file_application(
            session,
            zone,
            application_in=AcceptanceApplicationIn(
                self_assessment="示范区五大体系建设任务已完成，自查总结报告附后（演示数据）",
                dossier_sha256=hashlib.sha256(f"dossier:{zone.code}".encode()).hexdigest(),
                filed_on=_on(start, end, APPLIED_SHARE),
            ),
            principal=SEED,
        )


async def _acceptances(session: AsyncSession) -> None:
    """The zones the demo shows accepted: their authority's decision on the application,
    dated inside the plan window (an admitted member is required, so after the members)."""
    for number, (code, _, level, _, start, end, reached) in enumerate(ZONES, start=11):
        zone = await session.get(Zone, code)
        if reached is not Stage.accepted or zone is None or zone.stage != Stage.assessing.value:
            continue
        decided_on = _on(start, end, ACCEPTED_SHARE)
        authority = ACCEPTING_AGENCY[ZoneLevel(level)]
        prefix = "甬检验" if level == "provincial" else "国质检验"
        await acceptance.decide(
            session,
            zone,
            decision_in=AcceptanceDecisionIn(
                outcome="accepted",
                document_number=f"{prefix}〔{decided_on.year}〕{number}号",
                decided_on=decided_on,
                inspection_team=["考核验收组组长", "考核验收组成员"],
                findings="五大体系建立并有效运行，同意通过考核验收（演示数据）",
            ),
            principal=Principal(subject="seed", scopes=frozenset(ALL_SCOPES), agency=authority),
            at=_at(decided_on),
        )


SURNAMES = "王李张刘陈杨黄赵周吴徐孙胡朱高林何郭马罗"
GIVEN_NAMES = ["伟", "芳", "敏", "静", "强", "磊", "军", "洋", "勇", "艳"]


async def _enterprise(
    session: AsyncSession, rng: random.Random, industry: Industry, i: int
) -> Enterprise:
    products = rng.sample(PRODUCTS[industry], k=rng.randint(1, len(PRODUCTS[industry])))
    markets = rng.sample(MARKETS, k=rng.randint(1, 5))
    employees = rng.choice([30, 60, 120, 250, 480, 900, 1500])
    export = employees * rng.randint(20_000, 80_000)
    while True:
        uscc = generate(rng)
        if await session.get(Enterprise, uscc) is None:
            break
    contact = random.Random(uscc)  # a stream of its own: the other demo figures stay as they were
    name = f"宁海{rng.choice(NAME_WORDS)}{INDUSTRY_WORDS[industry]}{'有限公司' if i % 3 else '股份有限公司'}"
    name = f"{name[:-4]}{i + 1:02d}{name[-4:]}" if i >= len(NAME_WORDS) else name
    enterprise = await enterprises.register(
        session,
        owner_agency=SEED.agency,  # the office's commerce bureau surveyed them (摸底调查)
        enterprise_in=EnterpriseIn(
            uscc=uscc,
            name=name,
            address=f"浙江省宁波市宁海县{rng.choice(TOWNS)}工业园区{rng.randint(1, 300)}号",
            legal_representative=rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES),
            contact_name=contact.choice(SURNAMES) + contact.choice(GIVEN_NAMES),
            contact_phone=f"13{contact.randint(0, 9)}{contact.randint(0, 99_999_999):08d}",
            industry=industry,
            employees=employees,
            annual_export_usd=export,
            products=[Product(hs_code=hs, name=n) for hs, n in products],
            export_markets=markets,
            certifications=[Certification(kind="ISO9001")]
            + ([Certification(kind="CNAS")] if rng.random() < 0.2 else []),
        ),
    )
    for year in (2017, 2018, 2019):
        await enterprises.add_survey(
            session,
            enterprise,
            survey_in=SurveyIn(
                year=year,
                employees=employees,
                annual_output_cny=export * 7 // 10 * 10,
                annual_export_usd=int(export * (0.8 + 0.1 * (year - 2017))),
                products=[Product(hs_code=hs, name=n) for hs, n in products],
                export_markets=markets,
                quality={
                    "management_system": "ISO9001",
                    "returns": rng.randint(0, 3),
                    "foreign_notifications": rng.choice([0, 0, 0, 1]),
                },
                lab={"has_lab": rng.random() < 0.5},
            ),
            principal=SEED,
        )
    return enterprise


async def _membership(
    session: AsyncSession, rng: random.Random, zone_code: str, uscc: str, start: date
) -> None:
    """Applied and decided when the zone set out (its plan start, from the programme's
    records), so a past period's figures count the zone's members of then."""
    membership = await memberships.apply(
        session,
        zone_code,
        application=ApplicationIn(uscc=uscc, note="申请加入示范区"),
        principal=SEED,
    )
    await memberships.decide(
        session, membership, decision_in=DecisionIn(decision=Decision.assess), principal=SEED
    )
    if rng.random() < 0.9:
        await memberships.decide(
            session,
            membership,
            decision_in=DecisionIn(decision=Decision.admit, reason="考核合格", effective_on=start),
            principal=SEED,
        )
        # one commitment per enterprise and zone, countersigned by the zone office (the seed
        # acts as commerce): only a countersigned commitment counts for credit
        commitment = await memberships.sign_commitment(
            session,
            uscc,
            commitment_in=CommitmentIn(
                zone_code=zone_code,
                signatory="法定代表人",
                signed_on=date(2018, 6, 1),
                text_version=commitments.CURRENT_VERSION,
                text=COMMITMENT_TEXT,
            ),
            principal=SEED,
        )
        await memberships.countersign_commitment(session, uscc, commitment.id, principal=SEED)
    else:
        await memberships.decide(
            session,
            membership,
            decision_in=DecisionIn(decision=Decision.reject, reason="质量管理体系不健全"),
            principal=SEED,
        )


if __name__ == "__main__":
    print(asyncio.run(seed(sys.argv[1])))
