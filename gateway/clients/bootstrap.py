"""The first administrators of a platform outside the dev profile (三权分立): three clients,
one role each, made once, straight in the gateway's database, since the API that manages
clients needs an administrator already.

    GATEWAY_DATABASE_URL=… python -m gateway.clients.bootstrap

prints each client's id and secret once (JSON on stdout). It refuses (exit 1) when any
client or user already holds an administrative role, so it cannot be rerun to take over a
running platform; the security administrator makes later ones through `/v1/clients`.
"""

from __future__ import annotations

import asyncio
import json
import sys

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth.tokens import hash_secret, new_secret
from gateway.clients.models import OAuthClient
from gateway.roles import ADMINISTRATIVE
from gateway.users.models import User
from kit.problems import Conflict

FIRST_ADMINISTRATORS = {
    "system-admin": ("system_admin", "系统管理员 system administrator"),
    "security-admin": ("security_admin", "安全管理员 security administrator"),
    "audit-admin": ("audit_admin", "审计管理员 audit administrator"),
}


async def first_administrators(session: AsyncSession, *, agency: str) -> dict[str, str]:
    """Create the three administrators; their ids and one-time secrets. 409 when any
    identity already holds an administrative role."""
    roles = sorted(ADMINISTRATIVE)
    for holder in (
        select(OAuthClient.client_id).where(OAuthClient.scopes.overlap(roles)),
        select(User.username).where(User.scopes.overlap(roles)),
    ):
        existing = await session.scalar(holder.limit(1))
        if existing is not None:
            raise Conflict(f"'{existing}' already holds an administrative role")
    secrets = {}
    for client_id, (role, name) in FIRST_ADMINISTRATORS.items():
        secrets[client_id] = new_secret()
        session.add(
            OAuthClient(
                client_id=client_id,
                secret_hash=hash_secret(secrets[client_id]),
                name=name,
                agency=agency,
                scopes=[role],
                active=True,
                created_by="bootstrap",
            )
        )
    await session.flush()
    return secrets


async def _main() -> int:
    from gateway.config import settings
    from kit.db import make_engine, make_sessionmaker

    engine = make_engine(settings)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            secrets = await first_administrators(session, agency="commerce")
    except Conflict as exc:
        print(f"refused: {exc.detail}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    print(json.dumps(secrets, indent=2))  # shown once, as the API does
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(_main()))
