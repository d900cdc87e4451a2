"""Each database's migrations, applied from nothing, build exactly what its models declare:
a model changed without `make revision` (or a migration edited by hand) shows up here."""

from __future__ import annotations

import importlib
from collections.abc import Callable

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from deploy.launcher import SERVICE_DATABASES

MODELS = {
    "registry": "services.registry.models",
    "credit": "services.credit.models",
    "inspection": "services.inspection.models",
    "notify": "services.notify.models",
    "gateway": "gateway.models",
}


def test_every_database_has_its_models() -> None:
    assert sorted(MODELS) == sorted(SERVICE_DATABASES)


@pytest.mark.parametrize("name", sorted(MODELS))
async def test_migrations_match_models(name: str, migrated: Callable[[str], str]) -> None:
    metadata = importlib.import_module(MODELS[name]).metadata

    def diff(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    engine = create_async_engine(migrated(name), poolclass=pool.NullPool)
    async with engine.connect() as connection:
        changes = await connection.run_sync(diff)
    await engine.dispose()
    assert changes == [], f"{name}: models and migrations differ; `make revision` writes one"
