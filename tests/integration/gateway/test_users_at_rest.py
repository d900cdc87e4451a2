"""Users' names are personal information: encrypted in the gateway's database, plain to the
code that reads them."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.users.models import User
from kit.crypto import PREFIX


@pytest.fixture
def database() -> str:
    return "gateway"


async def test_a_users_name_is_stored_encrypted(session: AsyncSession) -> None:
    session.add(
        User(
            username="wang.wei",
            password_hash="x",
            name="王伟",
            kind="office",
            agency="commerce",
            scopes=["registry:read"],
        )
    )
    await session.flush()
    stored = str(await session.scalar(text("SELECT name FROM users WHERE username='wang.wei'")))
    assert stored.startswith(PREFIX) and "王伟" not in stored
    session.expunge_all()
    user = await session.get(User, "wang.wei")
    assert user is not None and user.name == "王伟"
