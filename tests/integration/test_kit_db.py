"""The services' engine (kit.db.make_engine) against a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from kit.db import make_engine
from kit.settings import ServiceSettings


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
