"""Rotating the personal-information key: rows written under the old key still read once a
new key is current, `zone pii reencrypt` rewrites them, and then the old key can go."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import pool, select, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from typer.testing import CliRunner

from deploy.cli import app
from deploy.launcher import ALEMBIC_INI, create_databases
from kit.crypto import Keyring, new_key_spec
from kit.migrations import upgrade
from services.registry.enterprises import service
from services.registry.enterprises.models import Enterprise
from services.registry.enterprises.schemas import EnterpriseIn
from services.registry.keys import pii
from services.registry.memberships.models import Commitment
from services.registry.zones.models import Zone
from tests.helpers import enterprise_body, new_uscc

DATABASE = "registry_pii_rotation"


@pytest.fixture
def database_url(postgres: str) -> str:
    """A registry database of this test's own, at head: the command commits."""

    def create() -> None:
        asyncio.run(create_databases(postgres, [DATABASE]))
        upgrade(ALEMBIC_INI, "registry", f"{postgres}/{DATABASE}")

    with ThreadPoolExecutor(1) as thread:  # Alembic runs its own event loop
        thread.submit(create).result()
    return f"{postgres}/{DATABASE}"


async def _write(url: str, uscc: str) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    async with AsyncSession(engine) as session, session.begin():
        body = enterprise_body(uscc, legal_representative="张三", contact_phone="13812345678")
        await service.register(session, enterprise_in=EnterpriseIn.model_validate(body))
        zone = f"rot-{uscc[-6:].lower()}"
        session.add(
            Zone(code=zone, name_zh="轮换", name_en="r", industry="molds", level="provincial")
        )
        await session.flush()
        session.add(
            Commitment(
                zone_code=zone,
                uscc=uscc,
                signatory="李四",
                signed_on=date(2017, 5, 1),
                text_version="v1",
                text_sha256="0" * 64,
                recorded_by="test",
            )
        )
    await engine.dispose()


async def _stored(url: str, uscc: str) -> list[str]:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT legal_representative FROM enterprises WHERE uscc = :u UNION ALL "
                "SELECT contact_phone FROM enterprises WHERE uscc = :u UNION ALL "
                "SELECT signatory FROM commitments WHERE uscc = :u"
            ),
            {"u": uscc},
        )
        values = list(rows.scalars())
    await engine.dispose()
    return values


async def _read(url: str, uscc: str) -> tuple[str | None, str | None, str]:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    async with AsyncSession(engine) as session:
        enterprise = await session.get(Enterprise, uscc)
        signatory = await session.scalar(
            select(Commitment.signatory).where(Commitment.uscc == uscc)
        )
    await engine.dispose()
    assert enterprise is not None and signatory is not None
    return enterprise.legal_representative, enterprise.contact_phone, signatory


async def test_rotation_then_reencrypt_then_retire(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    old = Keyring.from_specs({"2025": new_key_spec()})
    rotated = Keyring.from_specs({"2025": old.keys["2025"].spec(), "2026": new_key_spec()}, "2026")
    retired = Keyring.from_specs({"2026": rotated.keys["2026"].spec()})
    uscc = new_uscc()
    with pii.using(old):
        await _write(database_url, uscc)
    assert all(v.startswith("enc:v1:aes256gcm:2025:") for v in await _stored(database_url, uscc))

    monkeypatch.setenv("REGISTRY_DATABASE_URL", database_url)
    monkeypatch.setenv("ZONE_PII_KEYS_FILE", str(tmp_path / "none.json"))  # no make run keys

    def reencrypt_command() -> Result:  # it runs its own event loop
        return CliRunner().invoke(app, ["--json", "pii", "reencrypt", "--service", "registry"])

    with pii.using(rotated):
        # a new key current: the old rows still read
        assert await _read(database_url, uscc) == ("张三", "13812345678", "李四")
        result = await asyncio.to_thread(reencrypt_command)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout) == {
            "registry.enterprises": 1,
            "registry.commitments": 1,
            "registry.responsibilities": 0,
        }
        again = await asyncio.to_thread(reencrypt_command)
        assert json.loads(again.stdout) == {
            "registry.enterprises": 0,
            "registry.commitments": 0,
            "registry.responsibilities": 0,
        }
    assert all(v.startswith("enc:v1:aes256gcm:2026:") for v in await _stored(database_url, uscc))
    with pii.using(retired):  # the old key removed: everything still reads
        assert await _read(database_url, uscc) == ("张三", "13812345678", "李四")
