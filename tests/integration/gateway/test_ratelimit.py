"""The gateway's shared rate-limit buckets: two processes take from one bucket, a refusal
says how long to wait, and full buckets are pruned."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy import pool, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from gateway.ratelimit.middleware import SharedBuckets, prune
from kit.db import make_sessionmaker


@pytest.fixture
async def engine(migrated: Callable[[str], str]) -> AsyncIterator[AsyncEngine]:
    """The gateway database, to look at and move the buckets."""
    made = create_async_engine(migrated("gateway"), poolclass=pool.NullPool)
    yield made
    await made.dispose()


@pytest.fixture
async def workers(migrated: Callable[[str], str]) -> AsyncIterator[list[SharedBuckets]]:
    """The shared buckets as two gateway workers hold them, each with its own pool."""
    made = [SharedBuckets(migrated("gateway"), connect_timeout_s=5) for _ in range(2)]
    yield made
    for shared in made:
        await shared.close()


async def _move_back(engine: AsyncEngine, key: str, seconds: float) -> None:
    """As if `seconds` had passed for this bucket (rather than waiting for them)."""
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE rate_limit_buckets SET tat = tat - :s WHERE key = :k"),
            {"s": seconds, "k": key},
        )


async def test_two_processes_share_one_bucket(
    workers: list[SharedBuckets], engine: AsyncEngine
) -> None:
    key = f"client:{uuid.uuid4().hex}|"
    rate, burst = 0.01, 6  # one request per 100 s: nothing refills during the test
    waits = [await workers[n % 2].take(key, rate, burst) for n in range(10)]
    assert waits[:6] == [0.0] * 6  # the burst, whichever process takes it
    assert all(0 < wait <= 1 / rate for wait in waits[6:])  # then refused, with a wait
    other = f"client:{uuid.uuid4().hex}|"
    assert await workers[0].take(other, rate, burst) == 0.0  # buckets are per key

    await _move_back(engine, key, 1 / rate)  # one interval later, one more is admitted
    assert await workers[1].take(key, rate, burst) == 0.0
    assert await workers[0].take(key, rate, burst) > 0


async def test_full_buckets_are_pruned(workers: list[SharedBuckets], engine: AsyncEngine) -> None:
    full, busy = f"ip:{uuid.uuid4().hex}|", f"ip:{uuid.uuid4().hex}|"
    for key in (full, busy):
        await workers[0].take(key, 0.01, 5)  # 100 s until full again
    await _move_back(engine, full, 101)
    await prune(make_sessionmaker(engine))
    async with engine.connect() as conn:
        kept = await conn.scalars(
            text("SELECT key FROM rate_limit_buckets WHERE key IN (:a, :b)"),
            {"a": full, "b": busy},
        )
        assert list(kept) == [busy]
