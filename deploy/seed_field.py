"""The field app's demo inspectors (dev profile only): two officers of the economy and IT
bureau's field group, each with a user (`demo-inspector`, `demo-inspector-2`), and an open
campaign in the outdoor products zone drawn to them, so /field/ can be tried right after
`make run` (the second user confirms what the first records, from another browser).

Loaded once the services run and have applied the seed (inspection's directory must know
the zone's members), through inspection's service layer; running it again adds nothing.
Their agency takes part in no other campaign of the demo or the tests, so they are drawn
for this one only."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from deploy.history import admin, today
from kit.db import make_engine, make_sessionmaker
from kit.settings import ServiceSettings

DEMO_INSPECTOR_PASSWORD = "ninghai-inspector-2017"  # noqa: S105 - dev only, printed at start
DEMO_INSPECTOR_SCOPES = ["inspection:read", "inspection:write"]
AGENCY = "econ_it"
OFFICERS = [  # badge, name, unit (two units: a task's inspectors come from different ones)
    ("33022620990001", "周海", "县经信局现场检查一组"),
    ("33022620990002", "吴宁", "县经信局现场检查二组"),
]
ZONE = "outdoor-provincial"
CHECKLIST = "outdoor-field-demo"
TITLE = "户外用品示范区出口产品现场检查（演示）"
ITEMS = [
    ("OUT-01", "产品标识与警示说明", "GB 5296.1", "中文标识、警示说明齐全"),
    ("OUT-02", "出厂检验记录", "宁政办发〔2017〕49号 附件2", "逐批检验并留存记录"),
    ("OUT-03", "原材料进货查验", "宁政办发〔2017〕49号 附件2", "供应商资质与进货台账完整"),
]


async def seed_field(inspection_url: str, gateway_url: str) -> list[str]:
    """The demo inspectors, their campaign's draw and their users; the users' names."""
    from services.inspection.campaigns import service as campaigns
    from services.inspection.campaigns.models import Campaign
    from services.inspection.campaigns.schemas import CampaignIn, DrawIn
    from services.inspection.checklists import service as checklists
    from services.inspection.checklists.models import Checklist
    from services.inspection.checklists.schemas import ChecklistIn
    from services.inspection.inspectors import service as inspectors
    from services.inspection.inspectors.models import Inspector
    from services.inspection.inspectors.schemas import InspectorIn

    office = admin("commerce")
    engine = make_engine(ServiceSettings(database_url=inspection_url))
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            ids = []
            for badge, name, unit in OFFICERS:
                officer = await session.scalar(
                    select(Inspector).where(Inspector.badge_number == badge)
                )
                if officer is None:
                    officer = await inspectors.create(
                        session,
                        InspectorIn(
                            agency=AGENCY,
                            badge_number=badge,
                            name=name,
                            unit=unit,
                            specialties=["outdoor"],
                        ),
                    )
                ids.append(str(officer.id))
            if await session.scalar(select(Campaign.id).where(Campaign.title == TITLE)) is None:
                checklist = await session.scalar(
                    select(Checklist).where(Checklist.code == CHECKLIST)
                ) or await checklists.publish(
                    session,
                    ChecklistIn.model_validate(
                        {
                            "code": CHECKLIST,
                            "industry": "outdoor",
                            "title": "户外用品出口现场检查表",
                            "items": [
                                {"code": c, "title": t, "legal_basis": b, "criterion": k}
                                for c, t, b, k in ITEMS
                            ],
                        }
                    ),
                    office,
                )
                start = today()
                campaign = await campaigns.create(
                    session,
                    CampaignIn.model_validate(
                        {
                            "title": TITLE,
                            "agencies": [AGENCY],
                            "zones": [ZONE],
                            "industries": ["outdoor"],
                            "checklist_id": checklist.id,
                            "ratios": {"A": 0.1, "B": 0.2, "C": 0.5, "D": 1.0},
                            "window_start": start,
                            "window_end": start + timedelta(days=90),
                        }
                    ),
                    office,
                )
                await campaigns.draw(session, campaign, DrawIn(), office)
    finally:
        await engine.dispose()
    await _users(gateway_url, ids)
    from gateway.users.service import DEMO_INSPECTOR_USERS

    return list(DEMO_INSPECTOR_USERS)


async def _users(gateway_url: str, inspector_ids: list[str]) -> None:
    from argon2 import PasswordHasher

    from gateway.users.models import User
    from gateway.users.service import DEMO_INSPECTOR_USERS

    engine = make_engine(ServiceSettings(database_url=gateway_url))
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            for username, inspector_id in zip(DEMO_INSPECTOR_USERS, inspector_ids, strict=True):
                if await session.get(User, username) is not None:
                    continue
                password_hash = await asyncio.to_thread(
                    PasswordHasher().hash, DEMO_INSPECTOR_PASSWORD
                )
                session.add(
                    User(
                        username=username,
                        password_hash=password_hash,
                        name="检查员演示用户 (demo)",
                        kind="inspector",
                        inspector_id=inspector_id,
                        scopes=DEMO_INSPECTOR_SCOPES,
                        active=True,
                    )
                )
    finally:
        await engine.dispose()
