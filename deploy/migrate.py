"""`make migrate`: create the service databases if needed and apply every migration.

Uses ZONE_DATABASE_URL (server root URL, no database name) or the embedded server's default
URL with `make run`'s password (`<data>/postgres-password`), so it works against production PostgreSQL (the Kubernetes migration job runs this) and
against a running `make run`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

from deploy import pg_auth, pii_keys
from deploy.launcher import ALEMBIC_INI, ROOT, SERVICE_DATABASES, create_databases
from kit.migrations import upgrade


def root_url() -> str:
    """ZONE_DATABASE_URL, else the embedded server on ZONE_PG_PORT (default 54329) with the
    password `make run` generated into its data folder (ZONE_DATA_DIR)."""
    if url := os.environ.get("ZONE_DATABASE_URL"):
        return url
    password = pg_auth.read(pg_auth.path_for(_data_dir()))
    return pg_auth.root_url(os.environ.get("ZONE_PG_PORT", "54329"), password)


def _data_dir() -> Path:
    return Path(os.environ.get("ZONE_DATA_DIR", ROOT / ".data"))


def local_keys() -> pii_keys.LocalKeys | None:
    """`make run`'s keys of personal information, if it made some (ZONE_DATA_DIR)."""
    return pii_keys.read(pii_keys.path_for(_data_dir()))


def migrate_all(root: str, report: Callable[[str], None] = print) -> list[str]:
    """Create the service databases if needed and upgrade each to head; their names. The
    registry's keys: REGISTRY_PII_KEYS (production's job), else `make run`'s file."""
    asyncio.run(create_databases(root, SERVICE_DATABASES))
    with pii_keys.in_process(local_keys()):
        for name in SERVICE_DATABASES:
            upgrade(ALEMBIC_INI, name, f"{root.rstrip('/')}/{name}")
            report(f"{name}: migrated to head")
    return list(SERVICE_DATABASES)


def main() -> None:
    """Create databases, then upgrade each to head."""
    migrate_all(root_url())


if __name__ == "__main__":
    main()
