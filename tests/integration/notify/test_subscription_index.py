"""The subscription index notify's consumers skip events with: kept by LISTEN on a real
PostgreSQL, dropped and read again when a subscription's patterns or status change."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sqlalchemy import delete, text, update
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from kit.outbox import asyncpg_dsn
from services.notify.subscriptions.index import SubscriptionIndex
from services.notify.subscriptions.models import Subscription

LEVEL = "credit.level.changed.v1"


async def _until(index: SubscriptionIndex, event_type: str, expected: bool | None) -> bool | None:
    for _ in range(200):
        if index.matches(event_type) is expected:
            break
        await asyncio.sleep(0.05)
    return index.matches(event_type)


def _subscription(owner: str) -> Subscription:
    return Subscription(
        owner_kind="office",
        owner=owner,
        event_types=["credit.level.*"],
        filters={},
        channel="inbox",
        created_by=owner,
    )


async def test_the_index_follows_committed_subscriptions(migrated: Callable[[str], str]) -> None:
    url = migrated("notify")
    engine = create_async_engine(url)
    index = SubscriptionIndex(asyncpg_dsn(url))
    subscription = _subscription("index-test")
    try:
        assert index.matches(LEVEL) is None, "not known before it has been read"
        assert index.may_match(LEVEL) is True, "unknown: maybe (and the listener starts)"
        assert await _until(index, LEVEL, False) is False
        assert index.may_match("registry.enterprise.registered.v1") is False
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            session.add(subscription)
        assert await _until(index, LEVEL, True) is True, "a new subscription is heard of"
        assert index.matches("credit.fact.recorded.v1") is False
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            await session.execute(
                update(Subscription)
                .where(Subscription.id == subscription.id)
                .values(status="deleted")
            )
        assert await _until(index, LEVEL, False) is False, "a deleted one no longer counts"
        async with engine.connect() as conn:  # the listener's connection cut by the server
            await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE pid <> pg_backend_pid() AND datname = current_database() "
                    "AND (query LIKE 'LISTEN%' OR query = 'SELECT 1')"
                )
            )
        assert await _until(index, LEVEL, None) is None, "unknown while not listening"
        assert await _until(index, LEVEL, False) is False, "read again once back"
    finally:
        if index._task is not None:
            index._task.cancel()
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            await session.execute(delete(Subscription).where(Subscription.owner == "index-test"))
        await engine.dispose()


def test_a_new_event_loop_starts_its_own_listener(migrated: Callable[[str], str]) -> None:
    """Patterns read in one event loop are not trusted in the next: that loop's listener is
    gone, so nothing would drop them when a subscription is added."""
    url = migrated("notify")
    index = SubscriptionIndex(asyncpg_dsn(url))

    async def first() -> None:
        index.may_match(LEVEL)
        assert await _until(index, LEVEL, False) is False

    async def subscribe() -> None:
        engine = create_async_engine(url)
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            session.add(_subscription("index-loop-test"))
        await engine.dispose()

    async def second() -> None:
        try:
            assert index.may_match(LEVEL) is True, "unknown in a new loop: maybe"
            assert await _until(index, LEVEL, True) is True, "read again in this loop"
        finally:
            assert index._task is not None
            index._task.cancel()
            engine = create_async_engine(url)
            async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
                await session.execute(
                    delete(Subscription).where(Subscription.owner == "index-loop-test")
                )
            await engine.dispose()

    asyncio.run(first())
    asyncio.run(subscribe())  # committed while no loop listens
    asyncio.run(second())
