"""kit.idempotency's claim and completion, one statement each, on registry's database: a
new key is claimed, a taken one answers its record, an expired one is claimed again, a
server error releases the key."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import pool, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from kit.db import make_sessionmaker, utcnow
from kit.idempotency import TTL, _claim, _complete


@pytest.fixture
async def maker(migrated: Callable[[str], str]) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_engine(migrated("registry"), poolclass=pool.NullPool)
    yield make_sessionmaker(engine)
    await engine.dispose()


def _key() -> tuple[str, str]:
    return f"p-{uuid.uuid4()}", f"k-{uuid.uuid4()}"


def _response(status: int) -> dict[str, Any]:
    return {"status": status, "headers": [["etag", '"1"']], "body": bytearray(b'{"a":1}')}


async def test_a_key_is_claimed_once_and_answers_its_response(
    maker: async_sessionmaker[AsyncSession],
) -> None:
    principal, key = _key()
    assert await _claim(maker, principal, key, "f1") is None
    in_flight = await _claim(maker, principal, key, "f1")
    assert in_flight is not None and in_flight.status is None and in_flight.fingerprint == "f1"
    await _complete(maker, principal, key, _response(201))
    done = await _claim(maker, principal, key, "f2")
    assert done is not None and (done.status, done.fingerprint) == (201, "f1")
    assert (done.headers, done.body) == ([["etag", '"1"']], b'{"a":1}')


async def test_an_expired_key_is_claimed_again(maker: async_sessionmaker[AsyncSession]) -> None:
    principal, key = _key()
    async with maker() as session, session.begin():
        await session.execute(
            text(
                "INSERT INTO idempotency_keys (principal, key, fingerprint, status, body, created_at)"
                " VALUES (:p, :k, 'old', 201, 'x', :at)"
            ),
            {"p": principal, "k": key, "at": utcnow() - TTL - timedelta(minutes=1)},
        )
    assert await _claim(maker, principal, key, "new") is None
    record = await _claim(maker, principal, key, "new")
    assert record is not None and (record.fingerprint, record.status, record.body) == (
        "new",
        None,
        None,
    )


async def test_a_server_error_releases_the_key(maker: async_sessionmaker[AsyncSession]) -> None:
    principal, key = _key()
    assert await _claim(maker, principal, key, "f") is None
    await _complete(maker, principal, key, _response(503))
    assert await _claim(maker, principal, key, "f") is None
