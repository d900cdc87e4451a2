"""Alembic glue shared by every service's `migrations/env.py` and by the deploy tools."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from kit.crypto import EncryptedString


def render_item(kind: str, item: Any, autogen_context: Any) -> str | Literal[False]:
    """Autogenerate writes an encrypted column as the text it is in the database (its Python
    type needs a keyring a migration file cannot name)."""
    if kind == "type" and isinstance(item, EncryptedString):
        return "sa.Text()"
    return False


def run_env(metadata: MetaData | Sequence[MetaData]) -> None:
    """Body of an async `env.py`: migrate the database named by `sqlalchemy.url`, else the
    section's database on the server `ZONE_DATABASE_URL` names (the `alembic -n` CLI)."""
    config = context.config
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        root = os.environ.get("ZONE_DATABASE_URL")
        assert root, "set ZONE_DATABASE_URL (the server's URL, no database) or sqlalchemy.url"
        url = f"{root.rstrip('/')}/{config.config_ini_section}"

    def do_run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            compare_type=True,
            render_item=render_item,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
        await engine.dispose()

    asyncio.run(run_async())


def config(ini: Path, section: str, database_url: str) -> Config:
    """The Alembic configuration of one database: its section of `ini`, pointed at a URL."""
    cfg = Config(str(ini), ini_section=section)
    cfg.set_main_option("sqlalchemy.url", database_url)
    return cfg


def upgrade(ini: Path, section: str, database_url: str, revision: str = "head") -> None:
    """Apply a database's migrations to `database_url`."""
    os.environ.setdefault("ALEMBIC_QUIET", "1")
    command.upgrade(config(ini, section, database_url), revision)
