"""`make revision SERVICE=registry MESSAGE="…"`: write a new migration for one database.

Alembic compares the service's models with a database at head. Without ZONE_DATABASE_URL,
that database lives on a throwaway embedded PostgreSQL started for the purpose, so a
newcomer needs nothing running. The new file is named by date, hour and minute, then the
message (alembic.ini's `file_template`), and is formatted with ruff; read it before
committing: autogenerate misses renames and data changes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from alembic import command

from deploy.launcher import ALEMBIC_INI, SERVICE_DATABASES, create_databases
from deploy.processes import Postgres, free_port
from kit.migrations import config, upgrade


def revision(root_url: str, service: str, message: str) -> list[Path]:
    """Bring `service`'s database on `root_url` to head, then autogenerate; the new files."""
    asyncio.run(create_databases(root_url, [service]))
    url = f"{root_url.rstrip('/')}/{service}"
    upgrade(ALEMBIC_INI, service, url)
    written = command.revision(config(ALEMBIC_INI, service, url), message, autogenerate=True)
    scripts = written if isinstance(written, list) else [written]
    paths = [Path(script.path) for script in scripts if script is not None]
    ruff = Path(sys.executable).parent / "ruff"
    if paths and ruff.exists():
        subprocess.run([str(ruff), "format", "-q", *map(str, paths)], check=False)
        subprocess.run([str(ruff), "check", "-q", "--fix", *map(str, paths)], check=False)
    return paths


def main(argv: list[str] | None = None) -> None:
    """Parse SERVICE and MESSAGE; use ZONE_DATABASE_URL or a throwaway embedded server."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("service", choices=SERVICE_DATABASES)
    parser.add_argument("message", help="what the migration changes, e.g. 'zones add region'")
    args = parser.parse_args(argv)
    if root := os.environ.get("ZONE_DATABASE_URL"):
        paths = revision(root, args.service, args.message)
    else:
        with tempfile.TemporaryDirectory(prefix="zone-revision-") as tmp:
            server = Postgres(Path(tmp) / "pg", free_port())
            server.start()
            try:
                paths = revision(server.url, args.service, args.message)
            finally:
                server.stop()
    for path in paths:
        print(f"wrote {path.relative_to(ALEMBIC_INI.parent)}")


if __name__ == "__main__":
    main()
