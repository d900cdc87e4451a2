"""The services' engine (kit.db.make_engine) against a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError

from kit.db import ReadOnlyError, make_engine, make_read_sessionmaker
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
