"""The first administrators outside dev (gateway/clients/bootstrap.py): three identities, one
role each, and never a second time."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth.tokens import verify_secret
from gateway.clients.bootstrap import first_administrators
from gateway.clients.models import OAuthClient
from gateway.roles import holding_problems
from kit.problems import Conflict


@pytest.fixture
def database() -> str:
    return "gateway"


async def test_three_administrators_each_with_one_role(session: AsyncSession) -> None:
    secrets = await first_administrators(session, agency="commerce")
    assert set(secrets) == {"system-admin", "security-admin", "audit-admin"}
    roles = []
    for client_id, secret in secrets.items():
        client = await session.get(OAuthClient, client_id)
        assert client is not None and client.active and verify_secret(secret, client.secret_hash)
        assert holding_problems(client.scopes, bound=False, dev=False) == []
        roles += client.scopes
    assert sorted(roles) == ["audit_admin", "security_admin", "system_admin"]


async def test_it_refuses_once_anyone_holds_a_role(session: AsyncSession) -> None:
    await first_administrators(session, agency="commerce")
    with pytest.raises(Conflict):
        await first_administrators(session, agency="commerce")
