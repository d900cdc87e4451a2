"""`make migrate`: create the service databases if needed and apply every migration.

Uses ZONE_DATABASE_URL (server root URL, no database name) or the embedded server's default
URL, so it works against production PostgreSQL (the Kubernetes migration job runs this) and
against a running `make run`.
"""

from __future__ import annotations

import asyncio
import os

from deploy.launcher import MIGRATIONS, SERVICE_DATABASES, create_databases
from kit.migrations import upgrade


def main() -> None:
    """Create databases, then upgrade each to head."""
    port = os.environ.get("ZONE_PG_PORT", "54329")
    root = os.environ.get("ZONE_DATABASE_URL") or f"postgresql+asyncpg://postgres@127.0.0.1:{port}"
    asyncio.run(create_databases(root, SERVICE_DATABASES))
    for name, path in MIGRATIONS.items():
        upgrade(str(path), f"{root.rstrip('/')}/{name}")
        print(f"{name}: migrated to head")


if __name__ == "__main__":
    main()
