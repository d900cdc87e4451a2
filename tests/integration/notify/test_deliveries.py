"""Webhook deliveries written by routing events, and what happens to those a webhook could
not take (its dead letters): held failed while it is disabled, replayed once re-enabled."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from sqlalchemy import delete, pool, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from kit.auth import Principal
from kit.db import utcnow
from kit.events import EnterpriseUpdated
from kit.outbox import asyncpg_dsn
from kit.problems import Conflict, NotFound
from services.notify.deliveries import service
from services.notify.deliveries.models import WAKE_CHANNEL
from services.notify.models import Delivery, Subscription
from services.notify.subscriptions import service as subscriptions
from services.notify.subscriptions.schemas import SubscriptionIn, SubscriptionPatch
from tests.helpers import new_uscc
from tests.integration.notify.conftest import Deliver, enterprise_user

RECEIVER = "https://8.8.8.8/hooks/zone"


def _webhook(pattern: str) -> SubscriptionIn:
    return SubscriptionIn.model_validate(
        {"event_types": [pattern], "channel": "webhook", "url": RECEIVER}
    )


async def _deliveries(session: AsyncSession, event_id: str) -> list[Delivery]:
    query = select(Delivery).where(Delivery.event_id == uuid.UUID(event_id))
    return list(await session.scalars(query))


async def test_an_event_makes_one_delivery_per_webhook_it_reaches(
    session: AsyncSession, samr: Principal, office: Principal, deliver: Deliver
) -> None:
    uscc = new_uscc()
    hook = await subscriptions.create(session, _webhook("registry.enterprise.*"), samr)
    paused = await subscriptions.create(session, _webhook("registry.>"), office)
    await subscriptions.update(session, paused, SubscriptionPatch(status="paused"))
    stranger = await subscriptions.create(  # another enterprise's own webhook
        session, _webhook("registry.>"), enterprise_user(new_uscc())
    )

    updated = EnterpriseUpdated(uscc=uscc, changed=["name"], version=2)
    event = await deliver("registry.enterprise.updated.v1", uscc, updated)
    await deliver("registry.enterprise.updated.v1", uscc, updated)  # another event, same data

    (delivery,) = await _deliveries(session, event.id)
    assert (delivery.subscription_id, delivery.status, delivery.attempts) == (hook.id, "pending", 0)
    assert delivery.event_type == "registry.enterprise.updated.v1"
    assert delivery.payload["id"] == event.id and delivery.payload["data"]["uscc"] == uscc
    mine = select(Delivery).where(Delivery.subscription_id.in_([paused.id, stranger.id]))
    assert list(await session.scalars(mine)) == []
    hooked = select(Delivery).where(Delivery.subscription_id == hook.id)
    assert len(list(await session.scalars(hooked))) == 2


async def test_a_disabled_webhook_s_deliveries_wait_failed_and_are_replayed_once_re_enabled(
    session: AsyncSession, samr: Principal, deliver: Deliver
) -> None:
    hook = await subscriptions.create(session, _webhook("registry.enterprise.*"), samr)
    # as the dispatcher leaves a webhook that kept failing (no other way in at this tier)
    await session.execute(
        update(Subscription)
        .where(Subscription.id == hook.id)
        .values(status="disabled", consecutive_failures=120, disabled_reason="HTTP 503")
    )
    uscc = new_uscc()
    updated = EnterpriseUpdated(uscc=uscc, changed=["address"], version=3)
    event = await deliver("registry.enterprise.updated.v1", uscc, updated)
    (held,) = await _deliveries(session, event.id)
    assert (held.status, held.last_error) == ("failed", "the webhook is disabled")

    with pytest.raises(Conflict) as disabled:
        await service.replay(session, await service.get(session, held.id, samr, lock=True))
    assert disabled.value.extensions["subscription_status"] == "disabled"
    with pytest.raises(NotFound):  # another agency does not see it
        other = Principal(subject="c", scopes=frozenset({"notify:write"}), agency="customs")
        await service.get(session, held.id, other)

    subscription = await subscriptions.get(session, hook.id, samr, lock=True)
    await subscriptions.update(session, subscription, SubscriptionPatch(status="active"))
    assert (subscription.consecutive_failures, subscription.disabled_reason) == (0, None)
    replayed = await service.replay(session, await service.get(session, held.id, samr, lock=True))
    assert replayed.status == "pending" and replayed.window_start > held.created_at
    assert replayed.next_attempt_at == replayed.window_start and replayed.lease_until is None


async def test_a_delivery_due_now_wakes_the_dispatchers_on_commit(
    migrated: Callable[[str], str], samr: Principal
) -> None:
    """`LISTEN deliveries` hears a committed delivery that is due now (a new one, or one
    made pending again), not one whose retry is set for later, nor a rolled-back one."""
    url = migrated("notify")
    heard: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(asyncpg_dsn(url))
    await listener.add_listener(WAKE_CHANNEL, lambda *args: heard.put_nowait(args[3]))
    engine = create_async_engine(url, poolclass=pool.NullPool)
    maker = async_sessionmaker(engine, expire_on_commit=False)
    try:
        async with maker() as session, session.begin():
            hook = await subscriptions.create(session, _webhook("registry.>"), samr)

        def delivery(**values: Any) -> Delivery:
            return Delivery(
                subscription_id=hook.id,
                event_id=uuid.uuid4(),
                event_type="registry.enterprise.updated.v1",
                payload={},
                **values,
            )

        async with maker() as session, session.begin():
            session.add(delivery(next_attempt_at=utcnow() + timedelta(hours=1)))
        async with maker() as session:
            session.add(delivery())
            await session.flush()
            await session.rollback()
        async with maker() as session, session.begin():
            # as fan-out writes them: late in a transaction that began earlier
            await session.execute(text("SELECT pg_sleep(0.3)"))
            session.add(delivery(next_attempt_at=utcnow()))
        await listener.execute(f"NOTIFY {WAKE_CHANNEL}, 'end'")  # after all of the above
        got = [await asyncio.wait_for(heard.get(), timeout=10)]
        while got[-1] != "end":
            got.append(await asyncio.wait_for(heard.get(), timeout=10))
        assert got == ["", "end"], "one wake-up: the delivery due now, committed"
    finally:
        async with maker() as session, session.begin():
            await session.execute(delete(Delivery).where(Delivery.subscription_id == hook.id))
            await session.execute(delete(Subscription).where(Subscription.id == hook.id))
        await listener.close()
        await engine.dispose()
