"""The services' engine (kit.db.make_engine) against a real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg
import pytest
from sqlalchemy import Float, Integer, bindparam, delete, func, literal, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DBAPIError

from kit.db import Prepared, ReadOnlyError, ReadPool, make_engine, make_read_sessionmaker
from kit.settings import ServiceSettings
from services.registry.zones.models import Zone


async def test_a_failed_statement_names_no_parameter(migrated: Callable[[str], str]) -> None:
    """An error's message (logged with an unhandled error) carries the SQL, not the values."""
    engine = make_engine(ServiceSettings(database_url=migrated("registry")))
    try:
        async with engine.connect() as connection:
            with pytest.raises(DBAPIError) as failed:
                await connection.execute(
                    text("SELECT 1 / 0 WHERE CAST(:name AS text) <> ''"), {"name": "欧阳娜娜"}
                )
    finally:
        await engine.dispose()
    assert "division by zero" in str(failed.value) and "欧阳娜娜" not in str(failed.value)


async def test_a_read_session_runs_each_statement_on_its_own_and_refuses_writes(
    migrated: Callable[[str], str],
) -> None:
    """GET and HEAD sessions: no transaction of their own (each statement commits alone, so
    no BEGIN and COMMIT round trips), and any write is refused before it reaches the
    database: a GET that writes is a bug, caught here rather than half-applied."""
    engine = make_engine(ServiceSettings(database_url=migrated("registry")))
    reader = make_read_sessionmaker(engine)
    try:
        async with reader() as session:
            # one transaction would answer the same id twice
            first = await session.scalar(text("SELECT txid_current()"))
            assert await session.scalar(text("SELECT txid_current()")) != first
            with pytest.raises(ReadOnlyError):
                await session.execute(delete(Zone).where(Zone.code == "nowhere"))
            with pytest.raises(ReadOnlyError):
                await session.execute(text("DELETE FROM zones WHERE code = 'nowhere'"))
            assert await session.scalar(text("WITH x AS (SELECT 2 AS n) SELECT n FROM x")) == 2
            with pytest.raises(ReadOnlyError):
                await session.execute(
                    update(Zone).where(Zone.code == "nowhere").values(description="x")
                )
            session.add(
                Zone(
                    code="read-only",
                    name_zh="只读",
                    name_en="Read only",
                    industry="toys",
                    level="provincial",
                )
            )
            with pytest.raises(ReadOnlyError):
                await session.flush()
    finally:
        await engine.dispose()


async def test_the_read_pool_runs_prepared_reads_on_connections_it_keeps(
    migrated: Callable[[str], str],
) -> None:
    """Key lookups without a session (kit.db.ReadPool): JSON decoded as the engine decodes
    it, one connection reused, a refused statement keeps it, writes refused by PostgreSQL,
    an interrupted statement's connection closed and one the server dropped replaced."""
    settings = ServiceSettings(database_url=migrated("registry"), db_read_pool_size=1)
    engine = make_engine(settings)
    pool = ReadPool.of(engine, settings)
    doc = Prepared(
        select(
            func.jsonb_build_object("n", bindparam("n", type_=Integer), type_=JSONB).label("doc"),
            func.pg_backend_pid().label("pid"),
        )
    )
    ratio = Prepared(select((literal(1) / bindparam("d", type_=Integer)).label("q")))
    slow = Prepared(select(func.pg_sleep(bindparam("s", type_=Float)).label("slept")))
    try:
        [first] = await doc.all(pool, n=7)
        assert first["doc"] == {"n": 7}
        assert (await doc.all(pool, n=8))[0]["pid"] == first["pid"]  # kept, reused
        with pytest.raises(asyncpg.DivisionByZeroError):
            await ratio.all(pool, d=0)
        assert (await doc.all(pool, n=9))[0]["pid"] == first["pid"]  # a refusal keeps it

        connection = await pool.acquire()
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await connection.execute("CREATE TABLE written_by_a_read (n int)")
        pool.release(connection)

        waiting = asyncio.create_task(slow.all(pool, s=5))
        await asyncio.sleep(0.3)
        waiting.cancel()  # the client went away mid-statement
        with pytest.raises(asyncio.CancelledError):
            await waiting
        [after] = await doc.all(pool, n=10)
        assert after["pid"] != first["pid"]  # not reused: its state is unknown

        async with engine.connect() as admin:
            await admin.execute(text(f"SELECT pg_terminate_backend({after['pid']})"))
        await asyncio.sleep(0.3)
        assert (await doc.all(pool, n=11))[0]["doc"] == {"n": 11}  # replaced, not failed
    finally:
        await pool.close()
        await engine.dispose()


async def test_a_full_read_pool_makes_callers_wait_then_time_out(
    migrated: Callable[[str], str],
) -> None:
    """At most `db_read_pool_size` connections; a caller finding none free waits for one, up to
    the connect timeout (a TimeoutError, answered 503 like the engine pool's)."""
    settings = ServiceSettings(
        database_url=migrated("registry"), db_read_pool_size=1, db_connect_timeout_s=0.3
    )
    engine = make_engine(settings)
    pool = ReadPool.of(engine, settings)
    try:
        held = await pool.acquire()
        with pytest.raises(TimeoutError):
            await pool.acquire()
        later = asyncio.create_task(pool.acquire())
        await asyncio.sleep(0.05)
        pool.release(held)
        assert await later is held  # handed on to the one waiting
        pool.release(held)
    finally:
        await pool.close()
        await engine.dispose()


async def test_a_prepared_statement_on_a_lost_connection_leaves_the_pool_usable(
    migrated: Callable[[str], str],
) -> None:
    """kit.db.Prepared runs on the raw driver connection, past SQLAlchemy's disconnect
    handling: a connection the server dropped (a restart) fails its request as an outage
    and is discarded, so the pool's next session connects afresh (a registration's only
    statement is a Prepared one, and nothing else would find the connection dead)."""
    from sqlalchemy import literal, select

    from kit.db import Prepared, make_sessionmaker
    from kit.problems import is_outage

    one = Prepared(select(literal(1).label("one")))
    settings = ServiceSettings(database_url=migrated("registry"), db_pool_size=1)
    engine = make_engine(settings)
    maker = make_sessionmaker(engine)
    try:
        async with maker() as session:
            assert await one.all(session) == [{"one": 1}]
            pid = await session.scalar(text("SELECT pg_backend_pid()"))
            await session.rollback()
        killer = make_engine(settings)  # a connection of its own, not the pool's one
        try:
            async with killer.connect() as other:
                await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        finally:
            await killer.dispose()
        async with maker() as session:
            with pytest.raises(Exception) as lost:
                await one.all(session)
            assert is_outage(lost.value)
        async with maker() as session:
            assert await one.all(session) == [{"one": 1}]
    finally:
        await engine.dispose()
