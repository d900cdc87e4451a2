"""The demo history's joint meetings and trainings (deploy/history.py loads them with
registry's other records)."""

from __future__ import annotations

import random
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from deploy.history import MARK, Member, admin, at, today
from deploy.seed import AGENCIES, ZONES
from kit.db import clock_at


async def programme_history(
    session: AsyncSession, members: list[Member], rng: random.Random
) -> tuple[int, int]:
    """A joint meeting a year after the first (seed.py holds 2017's) and two trainings a
    year, each attended by a share of the members."""
    from services.registry.programme.leadership import service as leadership
    from services.registry.programme.leadership.schemas import ActionItemDone, MeetingIn
    from services.registry.programme.trainings import service as trainings
    from services.registry.programme.trainings.schemas import TrainingIn

    now = today()
    held = 0
    topics = [
        ("quality_integrity", "market_supervision", "出口企业质量诚信与主体责任培训"),
        ("technical_regulation", "ciq", "出口目标市场技术法规与标准培训"),
    ]
    for year in range(2017, now.year + 1):
        for n, (topic, organiser, title) in enumerate(topics):
            day = date(year, 5 + 5 * n, 18)
            if day >= now:
                continue
            joined = [m.uscc for m in members if m.first_year <= year and rng.random() < 0.3]
            with clock_at(at(day, 14)):
                await trainings.hold_training(
                    session,
                    training_in=TrainingIn.model_validate(
                        {
                            "title": f"{year}年{title}{MARK}",
                            "topic": topic,
                            "held_on": day,
                            "organiser_agency": organiser,
                            "location": "宁海县行政服务中心",
                            "hours": 4,
                            "attendees": joined,
                        }
                    ),
                    principal=admin(organiser),
                )
            held += 1
    meetings = 0
    for year in range(2018, now.year + 1):
        day = date(year, 4, 12)
        if day >= now:
            continue
        zone = ZONES[(year - 2018) % len(ZONES)][0]
        with clock_at(at(day)):
            meeting = await leadership.hold_meeting(
                session,
                meeting_in=MeetingIn.model_validate(
                    {
                        "group_code": "ninghai",
                        "title": f"{year}年示范区建设联席会议{MARK}",
                        "held_on": day,
                        "location": "宁海县人民政府",
                        "agenda": [
                            f"通报{year - 1}年示范区建设和出口产品质量安全情况",
                            f"部署{year}年示范区监督抽查和风险预警工作",
                        ],
                        "attendees": [code for code, *_ in AGENCIES],
                        "minutes": (
                            f"会议通报了{year - 1}年各示范区出口、抽查合格率和风险预警处置情况，"
                            f"部署{year}年联合抽查计划和质量提升任务（演示数据）。"
                        ),
                        "decisions": [
                            {
                                "text": f"开展{year}年示范区出口产品质量联合抽查",
                                "action_items": [
                                    {
                                        "title": f"制订{year}年联合抽查计划",
                                        "owner_agency": "market_supervision",
                                        "deadline": date(year, 5, 31),
                                        "zone_code": zone,
                                    }
                                ],
                            }
                        ],
                    }
                ),
                principal=admin("commerce"),
            )
            out = await leadership.meeting_out(session, meeting)
        done_on = date(year, 5, 20)
        if done_on < now:
            with clock_at(at(done_on)):
                for item in out.action_items:
                    await leadership.mark_done(
                        session,
                        await leadership.get_item(session, item.id, for_update=True),
                        done_in=ActionItemDone(
                            evidence="抽查计划已印发（演示数据）", done_on=done_on
                        ),
                        principal=admin(item.owner_agency),
                    )
        meetings += 1
    return held, meetings
