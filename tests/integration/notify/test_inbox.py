"""Inbox messages written by routing events (notify's consumer handler): one per owner in its
language, only to those entitled, risk warnings to whom they concern; reading them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.events import AlertRaised, CreditLevelChanged
from kit.problems import NotFound
from kit.vocabulary import china_time
from services.notify.inbox import service as inbox
from services.notify.models import Message
from services.notify.subscriptions import service as subscriptions
from services.notify.subscriptions.schemas import SubscriptionIn
from tests.helpers import new_uscc
from tests.integration.notify.conftest import Deliver, enterprise_user


async def _messages(session: AsyncSession, event_id: str) -> list[Message]:
    query = select(Message).where(Message.event_id == uuid.UUID(event_id))
    return list(await session.scalars(query.order_by(Message.recipient_kind, Message.recipient)))


async def test_an_event_reaches_each_entitled_subscriber_once_in_its_language(
    session: AsyncSession, samr: Principal, office: Principal, deliver: Deliver
) -> None:
    uscc, other = new_uscc(), new_uscc()
    for principal, language in ((samr, "en"), (office, "zh-CN")):
        body = {"event_types": ["credit.level.*"], "language": language}
        await subscriptions.create(session, SubscriptionIn.model_validate(body), principal)
    await subscriptions.create(  # a second pattern of the same owner: still one message
        session, SubscriptionIn(event_types=["credit.>"], language="en"), samr
    )
    for who in (uscc, other):
        await subscriptions.create(
            session, SubscriptionIn(event_types=["credit.>"]), enterprise_user(who)
        )

    change = CreditLevelChanged.model_validate(
        {"uscc": uscc, "from_level": "B", "to_level": "C", "sequence": 2}
    )
    event = await deliver("credit.level.changed.v1", uscc, change)

    messages = await _messages(session, event.id)
    assert [(m.recipient_kind, m.recipient, m.kind) for m in messages] == [
        ("agency", "samr", "event"),
        ("enterprise", uscc, "event"),
        ("office", "office-staff", "event"),
    ]
    by_owner = {m.recipient: m for m in messages}
    assert by_owner["samr"].language == "en" and by_owner["office-staff"].language == "zh-CN"
    assert by_owner["samr"].data == {"type": "credit.level.changed.v1", "subject": uscc}
    # people read China time: the event's UTC time, shown in Asia/Shanghai and said so
    shown = china_time(event.time, seconds=True)
    assert f"北京时间 {shown}" in by_owner["office-staff"].body
    assert f"{shown} China time" in by_owner["samr"].body


async def test_a_risk_alert_warns_the_enterprise_the_office_and_the_raising_agency(
    session: AsyncSession, deliver: Deliver
) -> None:
    uscc = new_uscc()
    ciq = Principal(subject="ciq-system", scopes=frozenset({"notify:read"}), agency="ciq")
    await subscriptions.create(  # the raising agency also subscribed: warned once, in English
        session, SubscriptionIn(event_types=["inspection.alert.*"], language="en"), ciq
    )
    alert = AlertRaised(
        alert_id=str(uuid.uuid4()),
        uscc=uscc,
        signal_kind="foreign_notification",
        severity="serious",
        agency="ciq",
        batch_number="NB-2026-0001",
        reference="RAPEX A12/00123/26",
        summary="LED 灯具 电击危险",
        raised_at=datetime.now(UTC),
    )
    event = await deliver("inspection.alert.raised.v1", uscc, alert)

    messages = await _messages(session, event.id)
    assert [(m.recipient_kind, m.recipient, m.kind, m.language) for m in messages] == [
        ("agency", "ciq", "warning", "en"),
        ("agency", "commerce", "warning", "zh-CN"),
        ("enterprise", uscc, "warning", "zh-CN"),
    ]
    assert all("NB-2026-0001" in m.body and "RAPEX A12/00123/26" in m.body for m in messages)
    assert messages[0].data["alert_id"] == alert.alert_id
    # the signal and severity by their names, never their codes
    assert "国外通报" in messages[1].body and "严重" in messages[1].body
    assert "a foreign notification (severity serious" in messages[0].body
    assert not any("foreign_notification" in m.body for m in messages)
    assert not any("serious" in m.body for m in messages[1:])


async def test_a_message_is_read_once_and_only_by_its_recipient(
    session: AsyncSession, samr: Principal, deliver: Deliver
) -> None:
    await subscriptions.create(session, SubscriptionIn(event_types=["credit.>"]), samr)
    uscc = new_uscc()
    change = CreditLevelChanged.model_validate({"uscc": uscc, "to_level": "A", "sequence": 1})
    event = await deliver("credit.level.changed.v1", uscc, change)
    (message,) = await _messages(session, event.id)

    with pytest.raises(NotFound):
        await inbox.mark_read(session, message.id, ("agency", "customs"))
    assert await inbox.unread_count(session, ("agency", "samr")) == 1
    first = (await inbox.mark_read(session, message.id, ("agency", "samr"))).read_at
    again = (await inbox.mark_read(session, message.id, ("agency", "samr"))).read_at
    assert first is not None and again == first
    assert await inbox.unread_count(session, ("agency", "samr")) == 0
