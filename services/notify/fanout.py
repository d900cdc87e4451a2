"""Every domain event, routed: recipients mirror, risk warnings and precautionary notices,
then each subscription it reaches (a delivery per webhook, a message per inbox)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kit.db import utcnow
from kit.events import (
    AlertRaised,
    BatchTraced,
    CloudEvent,
    EnterpriseRegistered,
    MembershipChanged,
)
from kit.ids import uuid7
from kit.outbox import asyncpg_dsn
from kit.vocabulary import SEVERITIES, china_time, name
from services.notify.bulletins.models import Recipient
from services.notify.config import settings
from services.notify.deliveries.models import Delivery
from services.notify.inbox.service import Recipient as To
from services.notify.inbox.service import send
from services.notify.subscriptions import matching
from services.notify.subscriptions.index import SubscriptionIndex
from services.notify.subscriptions.models import Subscription
from services.notify.templates import service as templates

log = logging.getLogger("notify.fanout")

INSERT_ROWS = 1_000  # deliveries per INSERT (asyncpg takes at most 32,767 parameters)

MEMBER_EVENTS = {
    "registry.membership.admitted.v1": True,
    "registry.membership.reinstated.v1": True,
    "registry.membership.suspended.v1": False,
    "registry.membership.removed.v1": False,
}
# The types fan-out acts on whatever the subscriptions: the recipients mirror and warnings.
ROUTED = frozenset(
    {
        "registry.enterprise.registered.v1",
        *MEMBER_EVENTS,
        "inspection.alert.raised.v1",
        "registry.batch.traced.v1",
    }
)
SUBSCRIBED = SubscriptionIndex(asyncpg_dsn(settings.database_url))


def wanted(event: CloudEvent) -> bool:
    """Whether fan-out could do anything with the event, decided without the database: a
    mirrored or warned type, or one some subscription's pattern may match. The consumers
    ack the rest without a transaction (`kit.inbox.Consumer.wanted`)."""
    return event.type in ROUTED or SUBSCRIBED.may_match(event.type)


# One prebuilt statement (compiled and prepared once, not built per event).
MIRROR = text(
    """
    INSERT INTO recipients (uscc, name, industry, hs_codes, export_markets, zones)
    VALUES (:uscc, :name, :industry, CAST(:hs_codes AS varchar[]),
            CAST(:export_markets AS varchar[]), '{}')
    ON CONFLICT (uscc) DO UPDATE SET name = excluded.name, industry = excluded.industry,
        hs_codes = excluded.hs_codes, export_markets = excluded.export_markets
    """
)


async def _mirror(session: AsyncSession, data: BaseModel, event: CloudEvent) -> None:
    """Enterprises (HS codes, markets, zones) for bulletins and filters."""
    if isinstance(e := data, EnterpriseRegistered):
        await session.execute(
            MIRROR,
            {
                "uscc": e.uscc,
                "name": e.name,
                "industry": e.industry,
                "hs_codes": e.hs_codes,
                "export_markets": e.export_markets,
            },
        )
    elif event.type in MEMBER_EVENTS and isinstance(m := data, MembershipChanged):
        row = await session.get(Recipient, m.uscc, with_for_update=True)
        if row is not None:
            zones = set(row.zones) - {m.zone_code}
            if MEMBER_EVENTS[event.type]:
                zones.add(m.zone_code)
            row.zones = sorted(zones)


def mid_sentence(text: str, lang: str) -> str:
    """A name as it reads inside an English sentence (lower case); Chinese unchanged."""
    return text.lower() if lang == "en" else text


def _warning_values(alert: AlertRaised) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    common = {
        "summary": alert.summary,
        "batch": alert.batch_number,
        "reference": alert.reference,
        "uscc": alert.uscc,
        "alert_id": alert.alert_id,
    }
    per_language = {
        lang: {
            "signal": templates.SIGNAL_NAMES[lang][alert.signal_kind],
            "severity": mid_sentence(name(SEVERITIES, alert.severity, lang), lang),
            "action": templates.ACTIONS[lang],
        }
        for lang in templates.LANGUAGES
    }
    return common, per_language


def warned_directly(alert: BaseModel) -> list[tuple[str, str]]:
    """Who gets a risk warning whatever they subscribed to."""
    if not isinstance(alert, AlertRaised):
        return []
    to = [("agency", settings.office_agency), ("agency", alert.agency)]
    return to + ([("enterprise", alert.uscc)] if alert.uscc else [])


async def _languages(
    session: AsyncSession, owners: list[tuple[str, str]], event: CloudEvent
) -> dict[tuple[str, str], str]:
    """The language of each owner's inbox subscription to this event, where there is one."""
    rows = await session.scalars(
        select(Subscription).where(
            Subscription.status == "active",
            Subscription.channel == "inbox",
            Subscription.owner.in_([who for _, who in owners]),
        )
    )
    chosen: dict[tuple[str, str], str] = {}
    for s in rows:
        if any(matching.pattern_matches(p, event.type) for p in s.event_types):
            chosen.setdefault((s.owner_kind, s.owner), s.language)
    return chosen


async def _warnings(session: AsyncSession, data: BaseModel, event: CloudEvent) -> None:
    """风险预警: the enterprise, the zone office and the raising agency are warned; the
    enterprises that received the same supplier lots get a precautionary notice."""
    if isinstance(alert := data, AlertRaised):
        common, per_language = _warning_values(alert)
        owners = list(dict.fromkeys(warned_directly(alert)))
        languages = await _languages(session, owners, event)
        to = [To(kind, who, languages.get((kind, who), "zh-CN")) for kind, who in owners]
        await send(
            session,
            "risk.warning",
            "warning",
            to,
            common,
            per_language=per_language,
            event_id=uuid.UUID(event.id),
            data={"alert_id": alert.alert_id, "batch_id": alert.batch_id, "uscc": alert.uscc},
        )
    elif isinstance(traced := data, BatchTraced):
        for affected in traced.affected:
            await send(
                session,
                "risk.precaution",
                "precaution",
                [To("enterprise", affected.uscc)],
                {
                    "supplier_lot": affected.supplier_lot,
                    "supplier": affected.supplier_key,
                    "uscc": affected.uscc,
                },
                event_id=uuid.UUID(event.id),
                data={"supplier_lot": affected.supplier_lot},
            )


@dataclass(frozen=True)
class _Listening:
    """What fan-out needs of a subscription."""

    id: uuid.UUID
    owner_kind: str
    owner: str
    event_types: list[str]
    filters: dict[str, Any]
    channel: str
    language: str
    status: str


async def _listening(session: AsyncSession) -> list[_Listening]:
    """Active and disabled subscriptions, read once per consumer batch: the batch's events
    share one session (kit.inbox.apply_batch), so 64 events cost one query, not 64."""
    cached: list[_Listening] | None = session.info.get("notify.subscriptions")
    if cached is None:
        rows = await session.execute(
            select(
                Subscription.id,
                Subscription.owner_kind,
                Subscription.owner,
                Subscription.event_types,
                Subscription.filters,
                Subscription.channel,
                Subscription.language,
                Subscription.status,
            ).where(Subscription.status.in_(("active", "disabled")))
        )
        cached = session.info["notify.subscriptions"] = [_Listening(*row) for row in rows]
    return cached


async def _subscriptions(session: AsyncSession, data: BaseModel, event: CloudEvent) -> None:
    """A delivery per webhook subscription the event reaches, a message per inbox one."""
    if SUBSCRIBED.matches(event.type) is False:  # known without reading them
        return
    subscriptions = [
        s
        for s in await _listening(session)
        if any(matching.pattern_matches(p, event.type) for p in s.event_types)
    ]
    if not subscriptions:
        return
    facts = matching.about(event)
    if facts.uscc and not (facts.zones and facts.industry):
        known = await session.get(Recipient, facts.uscc)
        if known is not None:
            facts = matching.about(event, zones=tuple(known.zones), industry=known.industry)
    reached = [
        s
        for s in subscriptions
        if matching.entitled(s.owner_kind, s.owner, facts) and matching.passes(s.filters, facts)
    ]
    now = utcnow()
    payload = event.model_dump(mode="json")
    webhooks = [
        {
            "id": uuid7(),
            "subscription_id": s.id,
            "event_id": uuid.UUID(event.id),
            "event_type": event.type,
            "payload": payload,
            # a disabled webhook's deliveries wait, failed, for a replay once re-enabled
            "status": "pending" if s.status == "active" else "failed",
            "attempts": 0,
            "next_attempt_at": now,
            "window_start": now,
            "last_error": None if s.status == "active" else "the webhook is disabled",
            "created_at": now,
        }
        for s in reached
        if s.channel == "webhook"
    ]
    for start in range(0, len(webhooks), INSERT_ROWS):
        await session.execute(
            insert(Delivery)
            .values(webhooks[start : start + INSERT_ROWS])
            .on_conflict_do_nothing(index_elements=["subscription_id", "event_id"])
        )
    # one message per owner, none to those the warning reached directly
    owners = set(warned_directly(data))
    inboxes = []
    for s in reached:
        if s.channel == "inbox" and s.status == "active" and (s.owner_kind, s.owner) not in owners:
            owners.add((s.owner_kind, s.owner))
            inboxes.append(s)
    if not inboxes:
        return
    message: dict[str, Any] = {"type": event.type, "subject": event.subject}
    if isinstance(alert := data, AlertRaised):
        common, per_language = _warning_values(alert)
        code, kind = "risk.warning", "warning"
        message |= {"alert_id": alert.alert_id, "batch_id": alert.batch_id, "uscc": alert.uscc}
    else:
        summary = event.data.get("summary") or ", ".join(
            f"{k}={v}" for k, v in list(event.data.items())[:4]
        )
        common = {
            "type": event.type,
            "subject": event.subject,
            "summary": summary,
        }
        # people read China time; the message's data keeps the event's own ISO 8601 time
        when = china_time(event.time, seconds=True)
        per_language = {
            "zh-CN": {"time": f"北京时间 {when}"},
            "en": {"time": f"{when} China time"},
        }
        code, kind = "event", "event"
    await send(
        session,
        code,
        kind,
        [To(s.owner_kind, s.owner, s.language) for s in inboxes],
        common,
        per_language=per_language,
        event_id=uuid.UUID(event.id),
        data=message,
    )


async def on_event(session: AsyncSession, data: BaseModel, event: CloudEvent) -> None:
    """Route one domain event."""
    await _mirror(session, data, event)
    await _warnings(session, data, event)
    await _subscriptions(session, data, event)
