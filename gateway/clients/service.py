"""Clients: create, list, change, and authenticate for the token endpoint."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.access import ensure_may_change, ensure_may_hold
from gateway.auth import revocations
from gateway.auth.tokens import hash_secret, new_secret, verify_secret
from gateway.clients.models import OAuthClient
from gateway.clients.schemas import ClientIn, ClientPatch
from gateway.config import settings
from kit.auth import ALL_SCOPES, Principal
from kit.db import get_or_404
from kit.pagination import PageParams, keyset_page
from kit.problems import Conflict

DEMO_CLIENT_ID = "demo-admin"
DEMO_CLIENT_SECRET = "demo-admin-secret"  # noqa: S105 - dev profile only, see ensure_demo_client


def _bound(uscc: str | None, inspector_id: str | None) -> bool:
    return uscc is not None or inspector_id is not None


async def create(
    session: AsyncSession, *, client_in: ClientIn, actor: Principal
) -> tuple[OAuthClient, str]:
    """Create a client; returns it and its one-time secret (422 for scopes it may not hold,
    403 when the actor's role does not cover it)."""
    ensure_may_hold(client_in.scopes, bound=_bound(client_in.uscc, client_in.inspector_id))
    fields = client_in.model_dump(exclude_none=True)
    ensure_may_change(actor, before=(), after=client_in.scopes, fields=fields)
    if await session.get(OAuthClient, client_in.client_id) is not None:
        raise Conflict(
            f"client '{client_in.client_id}' already exists",
            detail_zh=f"客户端“{client_in.client_id}”已存在",
        )
    secret = new_secret()
    data = client_in.model_dump()
    data["scopes"] = sorted(set(data["scopes"]))
    client = OAuthClient(
        **data, secret_hash=hash_secret(secret), active=True, created_by=actor.subject
    )
    session.add(client)
    await session.flush()
    return client, secret


async def get(session: AsyncSession, client_id: str) -> OAuthClient:
    """A client, or 404."""
    return await get_or_404(session, OAuthClient, client_id, "client")


async def list_page(
    session: AsyncSession, *, page: PageParams
) -> tuple[list[OAuthClient], str | None]:
    """Clients by id."""
    return await keyset_page(session, select(OAuthClient), keys=[OAuthClient.client_id], page=page)


async def update(
    session: AsyncSession, client: OAuthClient, *, patch: ClientPatch, actor: Principal
) -> OAuthClient:
    """Change name, scopes, limits or active flag (422 for scopes it may not hold, 403 when
    the actor's role does not cover the change). Disabling it revokes its tokens."""
    changes = patch.model_dump(exclude_unset=True)
    after = changes.get("scopes") or client.scopes
    ensure_may_hold(after, bound=_bound(client.uscc, client.inspector_id))
    ensure_may_change(actor, before=client.scopes, after=after, fields=changes)
    if changes.get("scopes"):
        changes["scopes"] = sorted(set(changes["scopes"]))
    if client.active and changes.get("active") is False:
        await revocations.revoke_subject(
            session, subject=client.client_id, max_lifetime_s=settings.token_max_lifetime_s
        )
    for field, value in changes.items():
        setattr(client, field, value)  # not_null fields were checked; limits may go back to null
    await session.flush()
    return client


async def rotate_secret(session: AsyncSession, client: OAuthClient, *, actor: Principal) -> str:
    """Replace the secret; the old one stops working at once. An administrative client's
    secret only the security administrator replaces: whoever learns it acts in its role."""
    ensure_may_change(actor, before=client.scopes, after=client.scopes, fields={"secret"})
    secret = new_secret()
    client.secret_hash = hash_secret(secret)
    await session.flush()
    return secret


# Checked when the client id is unknown, so a wrong id costs as long as a wrong secret.
_DUMMY_HASH = hash_secret(new_secret())


async def authenticate(session: AsyncSession, client_id: str, secret: str) -> OAuthClient | None:
    """The active client whose secret matches, else None (scrypt runs off the event loop)."""
    valid_id = 0 < len(client_id) <= 100 and client_id.isprintable()
    client = await session.get(OAuthClient, client_id) if valid_id else None
    stored = client.secret_hash if client is not None else _DUMMY_HASH
    matches = await asyncio.to_thread(verify_secret, secret, stored)
    if client is None or not client.active or not matches:
        return None
    return client


async def ensure_demo_client(session: AsyncSession) -> None:
    """Dev profile only: the `demo-admin` client with every scope and no rate limit."""
    client = await session.get(OAuthClient, DEMO_CLIENT_ID)
    if client is None:
        session.add(
            OAuthClient(
                client_id=DEMO_CLIENT_ID,
                secret_hash=hash_secret(DEMO_CLIENT_SECRET),
                name="Demo administrator (dev profile only)",
                agency="commerce",
                scopes=list(ALL_SCOPES),
                active=True,
                created_by="launcher",
                rate_limit_per_s=0,  # no limit: `make bench` drives the stack with this client
            )
        )
    else:
        client.scopes = list(ALL_SCOPES)
        client.active = True
        client.rate_limit_per_s = 0
    await session.flush()


async def remove_demo_client(session: AsyncSession) -> None:
    """Outside dev the demo client must not exist, even in a database copied from dev."""
    client = await session.get(OAuthClient, DEMO_CLIENT_ID)
    if client is not None:
        await session.delete(client)
        await session.flush()
