"""The integration tier's database: one embedded PostgreSQL for the whole tier, each
service's database migrated to head once, and a session per test whose transaction is
rolled back afterwards (Polar's and Dispatch's pattern), so tests never see each other's
rows. A service's tests live in `tests/integration/<service>/` and name their database with
a `database` fixture in that folder's conftest."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import pool, select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from deploy.launcher import ALEMBIC_INI, create_databases
from deploy.processes import Postgres, free_port
from kit.migrations import upgrade
from kit.outbox import OutboxMessage
from tests.helpers import temp_dir


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """An embedded PostgreSQL server for the tier; its root URL (no database)."""
    server = Postgres(temp_dir("zone-integration-") / "pg", free_port())
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def migrated(postgres: str) -> Callable[[str], str]:
    """`migrated("registry")`: the URL of that database, created and at head (once)."""
    done: dict[str, str] = {}

    def create(name: str) -> str:
        asyncio.run(create_databases(postgres, [name]))
        upgrade(ALEMBIC_INI, name, f"{postgres}/{name}")
        return f"{postgres}/{name}"

    def url(name: str) -> str:
        if name not in done:  # in a thread of its own: Alembic runs its own event loop
            with ThreadPoolExecutor(1) as thread:
                done[name] = thread.submit(create, name).result()
        return done[name]

    return url


@pytest.fixture
async def session(database: str, migrated: Callable[[str], str]) -> AsyncIterator[AsyncSession]:
    """A session inside a transaction that is rolled back after the test; the code under
    test may flush and even commit (a commit releases a savepoint, not the transaction)."""
    engine = create_async_engine(migrated(database), poolclass=pool.NullPool)
    async with engine.connect() as connection:
        transaction = await connection.begin()
        async with AsyncSession(
            bind=connection,
            join_transaction_mode="create_savepoint",
            expire_on_commit=False,
            autoflush=False,
        ) as s:
            yield s
        await transaction.rollback()
    await engine.dispose()


async def emitted(session: AsyncSession) -> list[tuple[str, str, dict[str, object]]]:
    """The events this test's transaction wrote to the outbox: (type, the event's subject, data)."""
    await session.flush()
    rows = (await session.execute(select(OutboxMessage).order_by(OutboxMessage.seq))).scalars()
    return [(row.type, row.payload["subject"], row.payload["data"]) for row in rows]
