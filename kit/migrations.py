"""Alembic glue shared by every service's `migrations/env.py`."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine


def run_env(metadata: MetaData | Sequence[MetaData]) -> None:
    """Body of an async `env.py`: migrate the database named by `sqlalchemy.url`."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url must be set"

    def do_run(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
        await engine.dispose()

    asyncio.run(run_async())


def upgrade(migrations_dir: str, database_url: str, revision: str = "head") -> None:
    """Apply a service's migrations to `database_url`."""
    config = Config()
    config.set_main_option("script_location", migrations_dir)
    config.set_main_option("sqlalchemy.url", database_url)
    config.set_main_option("file_template", "%%(year)d-%%(month).2d-%%(day).2d_%%(slug)s")
    os.environ.setdefault("ALEMBIC_QUIET", "1")
    command.upgrade(config, revision)
