"""Signing keys: the current one, the ones still published, rotation.

Every gateway process signs with the current key and publishes every key not yet retired,
rereading them every `REFRESH_S` (`refresh`). A rotation adds a key that becomes current
only `ACTIVATION_DELAY_S` later, when every process (and so every JWKS a service may fetch)
already publishes it; the keys it replaces stay published for as long as a token or an
assertion they signed can live, then retire. `revoke_previous` (a key that leaked) makes
the new key current and retires the others at once: services drop them at their next JWKS
fetch (kit.auth refetches every `JWKS_MAX_AGE_S`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth.tokens import kid_of, new_private_key_pem
from gateway.signing.models import SigningKey
from kit import locks
from kit.auth import CLOCK_SKEW_S
from kit.db import utcnow
from kit.gateway_assertion import TTL_S
from kit.locks import Lock
from kit.pagination import PageParams, keyset_page

REFRESH_S = 5.0
ACTIVATION_DELAY_S = 3 * REFRESH_S


@dataclass(frozen=True)
class InForce:
    """What a process signs with and publishes."""

    current_pem: str
    published_pems: tuple[str, ...]
    kids: tuple[str, ...]  # the current key's first


def grace_s(token_max_lifetime_s: int) -> float:
    """How long a replaced key stays published: the longest a token or assertion it signed
    is honoured, and the clocks' disagreement."""
    return max(token_max_lifetime_s, TTL_S) + CLOCK_SKEW_S


async def ensure(session: AsyncSession, configured_pem: str) -> None:
    """At start (under `Lock.GATEWAY_STARTUP`): the configured key (GATEWAY_SIGNING_KEY_PEM)
    is on record, or, with none configured (dev, test), there is a current key."""
    if configured_pem.strip():
        kid = kid_of(configured_pem)
        if await session.get(SigningKey, kid) is None:
            session.add(SigningKey(kid=kid, private_pem=configured_pem, created_by="configured"))
            await session.flush()
        return
    if not await _live(session, utcnow()):
        fresh = new_private_key_pem()
        session.add(SigningKey(kid=kid_of(fresh), private_pem=fresh, created_by="generated"))
        await session.flush()


async def _live(session: AsyncSession, now: datetime) -> list[SigningKey]:
    """Keys not retired, newest first."""
    rows = await session.scalars(
        select(SigningKey)
        .where(or_(SigningKey.retired_at.is_(None), SigningKey.retired_at > now))
        .order_by(SigningKey.active_from.desc(), SigningKey.created_at.desc())
    )
    return list(rows)


async def in_force(session: AsyncSession) -> InForce:
    """The current key (the newest active one) and every key still published."""
    now = utcnow()
    live = await _live(session, now)
    current = next((k for k in live if k.active_from <= now), None)
    if current is None:
        raise LookupError("no signing key is current: the gateway starts with one (ensure)")
    others = [k for k in live if k.kid != current.kid]
    return InForce(
        current_pem=current.private_pem,
        published_pems=tuple(k.private_pem for k in others),
        kids=(current.kid, *(k.kid for k in others)),
    )


async def rotate(
    session: AsyncSession, *, by: str, revoke_previous: bool, token_max_lifetime_s: int
) -> SigningKey:
    """A new key, current from `ACTIVATION_DELAY_S` from now (at once when revoking); the
    keys it replaces retire after `grace_s` (at once when revoking)."""
    await locks.hold(session, Lock.SIGNING_KEYS)
    now = utcnow()
    active_from = now if revoke_previous else now + timedelta(seconds=ACTIVATION_DELAY_S)
    retire_at = (
        now if revoke_previous else active_from + timedelta(seconds=grace_s(token_max_lifetime_s))
    )
    for key in await _live(session, now):
        key.retired_at = retire_at if key.retired_at is None else min(key.retired_at, retire_at)
    fresh = new_private_key_pem()
    key = SigningKey(
        kid=kid_of(fresh), private_pem=fresh, created_at=now, active_from=active_from, created_by=by
    )
    session.add(key)
    await session.flush()
    return key


async def list_page(
    session: AsyncSession, *, page: PageParams
) -> tuple[list[SigningKey], str | None]:
    """Every key on record, newest first."""
    return await keyset_page(
        session,
        select(SigningKey),
        keys=[SigningKey.created_at, SigningKey.kid],
        page=page,
        descending=True,
    )
