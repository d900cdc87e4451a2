"""The leadership group (联席会议): its roster, the meetings its office records, their action
items, the overdue announcement and the owner reporting an item done."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kit.auth import Principal
from kit.problems import Conflict, ProblemError
from services.registry.agencies import service as agencies
from services.registry.agencies.schemas import AgencyIn
from services.registry.programme.leadership import service
from services.registry.programme.leadership.models import ActionItem, GroupMember, Meeting
from services.registry.programme.leadership.schemas import (
    ActionItemDone,
    GroupIn,
    GroupMemberIn,
    GroupRole,
    MeetingIn,
)
from services.registry.programme.shared import today
from tests.integration.conftest import emitted

GROUP = "ninghai"
# commerce hosts the office; ciq and finance are members; market_supervision is outside
AGENCIES = ("commerce", "ciq", "finance", "market_supervision")


def _agency(code: str) -> Principal:
    return Principal(subject=f"{code}-system", scopes=frozenset({"registry:write"}), agency=code)


OFFICE = _agency("commerce")


async def _group(session: AsyncSession) -> None:
    for code in AGENCIES:
        await agencies.create(
            session, agency_in=AgencyIn(code=code, name_zh=f"{code}局", name_en=code.title())
        )
    await service.create_group(
        session,
        group_in=GroupIn.model_validate(
            {
                "code": GROUP,
                "county": "宁海县",
                "name_zh": "宁海县出口产品质量安全示范区建设领导小组",
                "name_en": "Ninghai zone leadership group",
                "members": [
                    {"agency_code": "commerce", "role": "office"},
                    {"agency_code": "ciq", "role": "leader"},
                    {"agency_code": "finance", "role": "member"},
                ],
            }
        ),
    )


def _meeting(held_on: date, *items: dict[str, Any]) -> MeetingIn:
    return MeetingIn.model_validate(
        {
            "group_code": GROUP,
            "title": "2026年第一次联席会议",
            "held_on": held_on,
            "agenda": ["示范区建设推进情况"],
            "attendees": ["commerce", "ciq", "finance"],
            "minutes": "会议纪要：各成员单位按分工推进。",
            "decisions": [{"text": "落实示范区建设任务", "action_items": list(items)}],
        }
    )


def _item(title: str, owner: str, deadline: date) -> dict[str, Any]:
    return {"title": title, "owner_agency": owner, "deadline": deadline}


async def _items(session: AsyncSession, meeting: Meeting) -> list[ActionItem]:
    query = select(ActionItem).where(ActionItem.meeting_id == meeting.id)
    return list((await session.scalars(query.order_by(ActionItem.position))).all())


async def test_the_roster_is_announced_and_keeps_one_leader(session: AsyncSession) -> None:
    await _group(session)
    roster = {
        m.agency_code: m.role
        for m in await session.scalars(select(GroupMember).where(GroupMember.group_code == GROUP))
    }
    assert roster == {"commerce": "office", "ciq": "leader", "finance": "member"}
    group = await service.get_group(session, GROUP)
    with pytest.raises(Conflict) as refused:
        await service.set_member(
            session,
            group,
            "finance",
            member_in=GroupMemberIn(role=GroupRole.leader),
        )
    assert refused.value.extensions == {"rule": "one_leader", "holder": "ciq"}

    await service.set_member(
        session,
        group,
        "market_supervision",
        member_in=GroupMemberIn(role=GroupRole.member),
    )
    changes = [(s, d) for t, s, d in await emitted(session) if t.startswith("registry.leadership")]
    assert [s for s, _ in changes] == [GROUP, GROUP]
    assert changes[-1][1]["members"] == [
        {"agency_code": "ciq", "role": "leader"},
        {"agency_code": "commerce", "role": "office"},
        {"agency_code": "finance", "role": "member"},
        {"agency_code": "market_supervision", "role": "member"},
    ]


async def test_only_the_office_records_a_meeting_and_owners_must_be_members(
    session: AsyncSession,
) -> None:
    await _group(session)
    held = today() - timedelta(days=3)
    task = _item("建立风险预警机制", "ciq", held + timedelta(days=30))
    with pytest.raises(ProblemError) as forbidden:
        await service.hold_meeting(
            session, meeting_in=_meeting(held, task), principal=_agency("ciq")
        )
    assert forbidden.value.slug == "forbidden"
    outsider = _item("开展质量抽查", "market_supervision", held + timedelta(days=30))
    with pytest.raises(Conflict) as refused:
        await service.hold_meeting(
            session, meeting_in=_meeting(held, task, outsider), principal=OFFICE
        )
    assert refused.value.extensions["rule"] == "owner_in_group"
    assert (await session.scalars(select(Meeting))).all() == []

    funds = _item("落实专项资金", "finance", held + timedelta(days=60))
    meeting = await service.hold_meeting(
        session, meeting_in=_meeting(held, task, funds), principal=OFFICE
    )
    items = await _items(session, meeting)
    assert [(i.owner_agency, i.decision_no, i.status) for i in items] == [
        ("ciq", 1, "open"),
        ("finance", 1, "open"),
    ]
    assert meeting.recorded_by == "commerce-system" and len(meeting.minutes_sha256) == 64
    events = await emitted(session)
    held_events = [(s, d) for t, s, d in events if t == "registry.meeting.held.v1"]
    assert [s for s, _ in held_events] == [GROUP]
    assert held_events[0][1]["action_item_ids"] == [str(i.id) for i in items]
    assigned = [(s, d["item_id"]) for t, s, d in events if t == "registry.action_item.assigned.v1"]
    assert assigned == [("ciq", str(items[0].id)), ("finance", str(items[1].id))]


async def test_an_item_past_its_deadline_is_announced_overdue_once(session: AsyncSession) -> None:
    await _group(session)
    held = today() - timedelta(days=10)
    meeting = await service.hold_meeting(
        session,
        meeting_in=_meeting(
            held,
            _item("开展追溯检查", "ciq", today() - timedelta(days=1)),
            _item("建立风险预警机制", "ciq", today() + timedelta(days=5)),
        ),
        principal=OFFICE,
    )
    late, soon = await _items(session, meeting)
    # the periodic job opens its own sessions: here, savepoints on the test's connection
    sessions = async_sessionmaker(
        bind=session.bind, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    assert await service.announce_overdue(sessions) == 1
    assert await service.announce_overdue(sessions) == 0
    overdue = [(s, d) for t, s, d in await emitted(session) if t.endswith(".overdue.v1")]
    assert len(overdue) == 1
    subject, data = overdue[0]
    assert subject == "ciq" and data["item_id"] == str(late.id)
    assert data["status"] == "open" and data["overdue"] is True
    await session.refresh(late)
    await session.refresh(soon)
    assert late.overdue_notified_at is not None and soon.overdue_notified_at is None


async def test_the_owner_reports_an_item_done_once_with_evidence(session: AsyncSession) -> None:
    await _group(session)
    held = today() - timedelta(days=10)
    meeting = await service.hold_meeting(
        session,
        meeting_in=_meeting(held, _item("建立风险预警机制", "ciq", today() + timedelta(days=5))),
        principal=OFFICE,
    )
    (item,) = await _items(session, meeting)
    evidence = ActionItemDone(evidence="风险预警机制已建立并运行", evidence_ref="宁检〔2026〕12号")
    with pytest.raises(ProblemError) as forbidden:
        await service.mark_done(session, item, done_in=evidence, principal=_agency("finance"))
    assert forbidden.value.slug == "forbidden"
    too_early = ActionItemDone(evidence="补报", done_on=held - timedelta(days=1))
    with pytest.raises(ProblemError) as invalid:
        await service.mark_done(session, item, done_in=too_early, principal=_agency("ciq"))
    assert invalid.value.slug == "validation"
    assert [e["field"] for e in invalid.value.extensions["errors"]] == ["done_on"]
    assert item.status == "open"

    await service.mark_done(session, item, done_in=evidence, principal=_agency("ciq"))
    assert (item.status, item.done_on, item.done_by) == ("done", today(), "ciq-system")
    with pytest.raises(ProblemError) as again:
        await service.mark_done(session, item, done_in=evidence, principal=_agency("ciq"))
    assert again.value.slug == "illegal-transition"
    done = [(s, d) for t, s, d in await emitted(session) if t == "registry.action_item.done.v1"]
    assert len(done) == 1
    assert done[0][0] == "ciq"
    assert done[0][1]["item_id"] == str(item.id) and done[0][1]["on_time"] is True
