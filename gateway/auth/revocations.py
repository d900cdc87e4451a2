"""Revocation: tokens revoked by id (RFC 7009), and subjects whose tokens stop at once when
the client or user is disabled. Every gateway process rereads the list every `REFRESH_S`
into its own verifier and publishes it, signed, at `/oauth/revocations`, which each service
polls every `kit.auth.REVOCATIONS_POLL_S`: a revoked token is refused everywhere within
about three seconds, at the cost of a set and a dict lookup per request."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.auth.models import TokenRevocation
from kit.auth import CLOCK_SKEW_S, Revoked, subject_digest
from kit.db import utcnow

REFRESH_S = 1.0


async def revoke_token(session: AsyncSession, *, jti: str, exp: float) -> None:
    """Refuse the token `jti` until it expires (`exp`, epoch seconds)."""
    expires_at = datetime.fromtimestamp(exp + CLOCK_SKEW_S, UTC)
    statement = insert(TokenRevocation).values(
        kind="jti", value=jti, issued_up_to=0, expires_at=expires_at, created_at=utcnow()
    )
    await session.execute(statement.on_conflict_do_nothing())


async def revoke_subject(session: AsyncSession, *, subject: str, max_lifetime_s: int) -> None:
    """Refuse every token `subject` holds now (issued up to this second) for as long as one
    can live; tokens issued after it (re-enabled later) stand."""
    now = time.time()
    values = {
        "issued_up_to": math.floor(now),
        "expires_at": datetime.fromtimestamp(now + max_lifetime_s + CLOCK_SKEW_S, UTC),
    }
    statement = insert(TokenRevocation).values(
        kind="sub", value=subject, created_at=utcnow(), **values
    )
    await session.execute(
        statement.on_conflict_do_update(index_elements=["kind", "value"], set_=values)
    )


async def in_force(session: AsyncSession) -> Revoked:
    """Everything revoked that can still matter."""
    rows = await session.execute(
        select(TokenRevocation.kind, TokenRevocation.value, TokenRevocation.issued_up_to).where(
            TokenRevocation.expires_at > utcnow()
        )
    )
    jtis: set[str] = set()
    subjects: dict[str, int] = {}
    for kind, value, issued_up_to in rows:
        if kind == "jti":
            jtis.add(value)
        else:
            subjects[subject_digest(value)] = issued_up_to
    return Revoked(frozenset(jtis), subjects)


async def prune(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Forget revocations of tokens that have expired anyway."""
    cutoff = utcnow() - timedelta(seconds=CLOCK_SKEW_S)
    async with sessionmaker() as session, session.begin():
        await session.execute(delete(TokenRevocation).where(TokenRevocation.expires_at < cutoff))
