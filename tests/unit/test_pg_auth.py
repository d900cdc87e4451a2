"""The embedded PostgreSQL's password: one file per data folder, in every URL handed out,
hidden wherever a URL is printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy import pg_auth
from deploy.launcher import Stack
from deploy.processes import Postgres


def test_the_password_is_generated_once_mode_0600(tmp_path: Path) -> None:
    path = pg_auth.path_for(tmp_path)
    assert pg_auth.read(path) is None
    password = pg_auth.load_or_create(path)
    assert len(password) >= 32 and path.stat().st_mode & 0o777 == 0o600
    assert pg_auth.load_or_create(path) == pg_auth.read(path) == password


def test_the_stack_the_server_and_make_migrate_share_one_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deploy.migrate import root_url

    stack = Stack(data_dir=tmp_path, pg_port=54999)
    server = Postgres(tmp_path / "postgres", 54999)
    password = pg_auth.read(stack.pg_password_file)
    assert password is None
    assert stack.pg_root_url == server.url
    password = pg_auth.read(stack.pg_password_file)
    assert stack.pg_root_url == f"postgresql+asyncpg://postgres:{password}@127.0.0.1:54999"
    assert stack.service_env("registry")["REGISTRY_DATABASE_URL"] == f"{stack.pg_root_url}/registry"
    monkeypatch.delenv("ZONE_DATABASE_URL", raising=False)
    monkeypatch.setenv("ZONE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ZONE_PG_PORT", "54999")
    assert root_url() == stack.pg_root_url
    monkeypatch.setenv("ZONE_DATABASE_URL", "postgresql+asyncpg://zone:pw@db:5432")
    assert root_url() == "postgresql+asyncpg://zone:pw@db:5432"


def test_printed_urls_hide_the_password() -> None:
    assert pg_auth.redact("postgresql+asyncpg://postgres:s3cr:et@127.0.0.1:5432/x") == (
        "postgresql+asyncpg://postgres:…@127.0.0.1:5432/x"
    )
    assert (
        pg_auth.redact("postgresql+asyncpg://postgres@h:1") == "postgresql+asyncpg://postgres@h:1"
    )
    assert pg_auth.redact("postgresql+asyncpg://h:1") == "postgresql+asyncpg://h:1"


def test_the_banner_names_the_password_files_not_the_passwords(tmp_path: Path) -> None:
    from deploy.launcher import _banner

    stack = Stack(data_dir=tmp_path, pg_port=54999)
    text = _banner(stack)
    password = pg_auth.load_or_create(stack.pg_password_file)
    assert "postgres:…@127.0.0.1:54999" in text and str(stack.pg_password_file) in text
    assert password not in text
    assert stack.nats_passwords["observer"] not in text  # nor NATS's: it names their file
    assert f"observer:…@127.0.0.1:{stack.nats_port}" in text
