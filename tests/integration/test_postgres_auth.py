"""The embedded PostgreSQL asks for a password, as production's does: generated into the data
folder (mode 0600, SCRAM), kept across restarts, and set on a data folder initialised before
it had one. A local user without the file cannot connect."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import asyncpg
import pytest

from deploy.processes import Postgres, _pg_bin, free_port
from kit.outbox import asyncpg_dsn
from tests.helpers import temp_dir


async def _connect(dsn: str) -> str:
    conn = await asyncpg.connect(dsn + "/postgres", timeout=10)
    try:
        return str(await conn.fetchval("SELECT current_user"))
    finally:
        await conn.close()


def _refused_without_password(port: int) -> None:
    with pytest.raises(asyncpg.InvalidPasswordError):
        asyncio.run(_connect(f"postgresql://postgres@127.0.0.1:{port}"))


def _password_file(server: Postgres) -> Path:
    return server.data_dir.parent / "postgres-password"


def test_embedded_postgres_refuses_connections_without_its_password() -> None:
    server = Postgres(temp_dir("zone-pg-auth-") / "pg", free_port())
    server.start()
    try:
        _refused_without_password(server.port)
        assert asyncio.run(_connect(asyncpg_dsn(server.url))) == "postgres"
        secret = _password_file(server)
        assert secret.stat().st_mode & 0o777 == 0o600
        password = secret.read_text().strip()
        assert len(password) >= 24 and password in server.url
        hba = (server.data_dir / "pg_hba.conf").read_text()
        assert "scram-sha-256" in hba
        assert not [line for line in hba.splitlines() if "trust" in line.split("#")[0]]
    finally:
        server.stop()
    again = Postgres(server.data_dir, server.port)  # a restart reuses the data and its password
    again.start()
    try:
        assert _password_file(again).read_text().strip() == password
        assert asyncio.run(_connect(asyncpg_dsn(again.url))) == "postgres"
        _refused_without_password(again.port)
    finally:
        again.stop()


def test_a_data_folder_initialised_without_a_password_gets_one() -> None:
    """`.data/` from before passwords (initdb --auth=trust) keeps working, now with one."""
    server = Postgres(temp_dir("zone-pg-trust-") / "pg", free_port())
    server._prepare()
    subprocess.run(
        [str(_pg_bin() / "initdb"), "-D", str(server.data_dir), "--auth=trust", "-U", "postgres"],
        check=True,
        user=server.user,
        capture_output=True,
    )
    assert not _password_file(server).exists()
    server.start()
    try:
        _refused_without_password(server.port)
        assert asyncio.run(_connect(asyncpg_dsn(server.url))) == "postgres"
        assert _password_file(server).stat().st_mode & 0o777 == 0o600
    finally:
        server.stop()


def test_a_lost_password_file_is_reported_not_replaced() -> None:
    server = Postgres(temp_dir("zone-pg-lost-") / "pg", free_port())
    server.init()
    _password_file(server).unlink()
    with pytest.raises(RuntimeError, match="postgres-password is missing"):
        server.start()
    assert not _password_file(server).exists()
