"""Counting failed logins and locking accounts (等保 2.0 登录失败处理).

A failure is counted twice: for the account from the caller's address (`max_failures`, 5 in
15 minutes: that account is then refused from that address for `lock_s`, 15 minutes) and
for the account from every address (`max_account_failures`, 20: then refused from
everywhere). The first stops guessing from one place without letting anyone lock a user out
from the other side of the county; the second bounds guessing spread over many addresses.
Unknown accounts are counted like known ones, so a lockout tells nothing about whether an
account exists. Each failure is one UPSERT per row in the gateway's database, so every
gateway process and replica counts into the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.lockouts.models import EVERY_SOURCE, LoginFailure
from kit.pagination import PageParams, keyset_page


@dataclass(frozen=True)
class LockoutPolicy:
    """How many failures in what window lock an account, and for how long."""

    max_failures: int = 5
    max_account_failures: int = 20
    window_s: float = 900.0
    lock_s: float = 900.0


# One failure, atomically: a live lock stays as it is; a window that has passed (or a lock
# that has expired) starts again at 1; else one more, locking at the threshold. `locked_now`
# is true for the failure that set the lock (now() is the transaction's time throughout).
RECORD = text(
    """
INSERT INTO login_failures AS f (account, source, failures, window_started_at, locked_until)
VALUES (:account, :source, 1, now(),
        CASE WHEN :max_failures <= 1 THEN now() + make_interval(secs => :lock_s) END)
ON CONFLICT (account, source) DO UPDATE SET
    failures = CASE
        WHEN f.locked_until > now() THEN f.failures
        WHEN f.locked_until <= now()
            OR f.window_started_at <= now() - make_interval(secs => :window_s) THEN 1
        ELSE f.failures + 1 END,
    window_started_at = CASE
        WHEN f.locked_until > now() THEN f.window_started_at
        WHEN f.locked_until <= now()
            OR f.window_started_at <= now() - make_interval(secs => :window_s) THEN now()
        ELSE f.window_started_at END,
    locked_until = CASE
        WHEN f.locked_until > now() THEN f.locked_until
        WHEN f.locked_until <= now()
            OR f.window_started_at <= now() - make_interval(secs => :window_s)
            THEN CASE WHEN :max_failures <= 1 THEN now() + make_interval(secs => :lock_s) END
        WHEN f.failures + 1 >= :max_failures THEN now() + make_interval(secs => :lock_s)
        END
RETURNING coalesce(locked_until = now() + make_interval(secs => :lock_s), false)
"""
)


def account_key(kind: str, name: str) -> str | None:
    """`client:<id>` or `user:<name>`; None for a name no account can have (not counted)."""
    if not (0 < len(name) <= 100 and name.isprintable()):
        return None
    return f"{kind}:{name.lower() if kind == 'user' else name}"


@dataclass(frozen=True)
class Standing:
    """Whether an account may log in from a source, and whether failures are on record."""

    locked: bool
    counted: bool


async def standing(session: AsyncSession, *, account: str, source: str) -> Standing:
    """The account's lock and failure count for this source (and from every source)."""
    rows = (
        await session.execute(
            select(LoginFailure.source, LoginFailure.locked_until > func.now()).where(
                LoginFailure.account == account,
                LoginFailure.source.in_([source[:64], EVERY_SOURCE]),
            )
        )
    ).all()
    return Standing(
        locked=any(bool(locked) for _, locked in rows),
        counted=any(s != EVERY_SOURCE for s, _ in rows),
    )


async def record_failure(
    session: AsyncSession, *, account: str, source: str, policy: LockoutPolicy
) -> list[str]:
    """Count one failure; returns the sources (an address, or `*`) this failure locked."""
    locked = []
    for row_source, threshold in (
        (source[:64], policy.max_failures),
        (EVERY_SOURCE, policy.max_account_failures),
    ):
        locked_now = await session.scalar(
            RECORD,
            {
                "account": account,
                "source": row_source,
                "max_failures": threshold,
                "window_s": float(policy.window_s),
                "lock_s": float(policy.lock_s),
            },
        )
        if locked_now:
            locked.append(row_source)
    return locked


async def forget_failures(session: AsyncSession, *, account: str, source: str) -> None:
    """A successful login clears the account's count from that source (not from everywhere:
    the owner logging in must not reset a guesser's count elsewhere)."""
    await session.execute(
        delete(LoginFailure).where(
            LoginFailure.account == account, LoginFailure.source == source[:64]
        )
    )


async def list_page(
    session: AsyncSession, *, page: PageParams
) -> tuple[list[LoginFailure], str | None]:
    """Current lockouts, by account and source."""
    query = select(LoginFailure).where(LoginFailure.locked_until > func.now())
    return await keyset_page(
        session, query, keys=[LoginFailure.account, LoginFailure.source], page=page
    )


async def unlock(session: AsyncSession, *, account: str) -> list[datetime]:
    """Lift every lockout of the account and forget its failures; returns the lockouts
    lifted (their end times), empty when it was not locked (then nothing changes)."""
    live = (
        await session.scalars(
            select(LoginFailure.locked_until).where(
                LoginFailure.account == account, LoginFailure.locked_until > func.now()
            )
        )
    ).all()
    if live:
        await session.execute(delete(LoginFailure).where(LoginFailure.account == account))
    return [t for t in live if t is not None]


async def prune(sessionmaker: async_sessionmaker[AsyncSession], *, window_s: float) -> None:
    """Drop rows that count for nothing any more: windows passed, locks expired."""
    async with sessionmaker() as session, session.begin():
        await session.execute(
            text(
                "DELETE FROM login_failures WHERE coalesce(locked_until,"
                " window_started_at + make_interval(secs => :window_s)) <= now()"
            ),
            {"window_s": float(window_s)},
        )
