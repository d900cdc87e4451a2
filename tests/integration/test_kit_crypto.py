"""Re-encryption (kit.crypto.reencrypt) on a real PostgreSQL table: plaintext rows and rows
under a retired key are rewritten under the current key, current rows are left alone; a
downgrade decrypts them all."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from kit.crypto import Keyring, new_key_spec, reencrypt

COLUMNS = {"name": "test.people.name", "phone": "test.people.phone"}


@pytest.fixture
def database() -> str:
    """Any database will do: the table is a temporary one."""
    return "registry"


async def _rows(session: AsyncSession) -> list[tuple[int, str | None, str | None]]:
    result = await session.execute(text("SELECT id, name, phone FROM people ORDER BY id"))
    return [(r.id, r.name, r.phone) for r in result]


async def test_reencrypt_rewrites_plaintext_and_old_keys_only(session: AsyncSession) -> None:
    old = Keyring.from_specs({"old": new_key_spec()})
    keyring = Keyring.from_specs({"old": old.keys["old"].spec(), "new": new_key_spec()}, "new")
    current = keyring.encrypt("赵六", context=COLUMNS["name"])
    await session.execute(
        text("CREATE TEMP TABLE people (id int PRIMARY KEY, name text, phone text)")
    )
    await session.execute(
        text(
            "INSERT INTO people VALUES (1, '张三', '13812345678'), (2, :old, NULL), (3, :cur, NULL)"
        ),
        {"old": old.encrypt("李四", context=COLUMNS["name"]), "cur": current},
    )

    def run(sync_session: Session, batch: int, to_plaintext: bool = False) -> int:
        return reencrypt(
            sync_session.connection(),
            keyring,
            table="people",
            key_columns=["id"],
            columns=COLUMNS,
            batch=batch,
            to_plaintext=to_plaintext,
        )

    assert await session.run_sync(run, 1) == 2  # one row a batch: the loop goes on
    rows = await _rows(session)
    assert all(v is None or v.startswith("enc:v1:aes256gcm:new:") for r in rows for v in r[1:])
    assert rows[2][1] == current  # already current: not rewritten
    assert rows[0][2] is not None and "5678" not in rows[0][2]
    plain = [
        (
            i,
            n and keyring.decrypt(n, context=COLUMNS["name"]),
            p and keyring.decrypt(p, context=COLUMNS["phone"]),
        )
        for i, n, p in rows
    ]
    assert plain == [(1, "张三", "13812345678"), (2, "李四", None), (3, "赵六", None)]
    assert await session.run_sync(run, 500) == 0  # idempotent
    # a downgrade writes the plaintext back
    assert await session.run_sync(run, 2, True) == 3
    assert await _rows(session) == [
        (1, "张三", "13812345678"),
        (2, "李四", None),
        (3, "赵六", None),
    ]
