"""PostgreSQL advisory locks by name: one registry of what is serialised, one way to take a
lock, no magic numbers at the call sites.

A lock is a (space, item) pair of 32-bit integers (PostgreSQL's two-key form): the space is
a stable hash of the lock's name, the item a stable hash of the part it guards (a
checklist's code, an industry and quarter) or 0 for the whole space. `test_locks` checks
that no two names share a space.
"""

from __future__ import annotations

import enum
import zlib

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession


class Lock(enum.StrEnum):
    """Everything the platform serialises with an advisory lock, and why."""

    OUTBOX_RELAY = "outbox.relay"  # one publisher per database keeps the stream in order
    GATEWAY_STARTUP = "gateway.startup"  # workers and replicas create keys and clients once
    SIGNING_KEYS = "gateway.signing_keys"  # one rotation at a time
    AUDIT_APPEND = "audit.append"  # appends one at a time, so the hash chain stays linear
    CREDIT_MODEL = "credit.model"  # one scoring-model publisher at a time (If-Match → 412)
    CREDIT_RESCORER = "credit.rescorer"  # one rescoring worker per database (session lock)
    CHECKLIST_VERSION = "inspection.checklist"  # versions of one checklist code, in turn
    ANALYSIS_RELEASE = "inspection.analysis"  # one release per industry and quarter
    RISK_KEY = "inspection.risk"  # signals and alerts touching the same keys, in order
    SIGNAL_REFERENCE = "inspection.reference"  # one imported signal per agency and reference
    BULLETIN_SYMBOL = "notify.bulletin"  # one bulletin per WTO document symbol
    COMMITMENT = "registry.commitment"  # one signature at a time per enterprise and zone


def _int4(raw: int) -> int:
    """An unsigned 32-bit hash as PostgreSQL's signed int4."""
    return raw - (1 << 32) if raw >= 1 << 31 else raw


def key(lock: Lock, part: str | int | None = None) -> tuple[int, int]:
    """The (space, item) of a lock on `part` (the whole space when None)."""
    space = _int4(zlib.crc32(lock.value.encode()))
    if part is None:
        return space, 0
    if isinstance(part, int):
        return space, _int4(part & 0xFFFFFFFF)
    return space, _int4(zlib.crc32(part.encode()))


async def hold(
    db: AsyncSession | AsyncConnection, lock: Lock, part: str | int | None = None
) -> None:
    """Wait for the lock and hold it until the transaction ends."""
    space, item = key(lock, part)
    await db.execute(text("SELECT pg_advisory_xact_lock(:s, :i)"), {"s": space, "i": item})


async def hold_committing_lazily(db: AsyncSession | AsyncConnection, lock: Lock) -> None:
    """`hold`, and let the transaction commit without waiting for its WAL flush
    (`synchronous_commit` off for it alone), in the same round trip: for rows whose loss in
    a crash is tolerable and covered by a durable row written before them."""
    space, item = key(lock)
    await db.execute(
        text("SELECT pg_advisory_xact_lock(:s, :i), set_config('synchronous_commit', 'off', true)"),
        {"s": space, "i": item},
    )


async def try_hold_session(db: AsyncConnection, lock: Lock) -> bool:
    """Take the lock for as long as the connection lives, if free; whether it was taken."""
    space, item = key(lock)
    taken = await db.scalar(text("SELECT pg_try_advisory_lock(:s, :i)"), {"s": space, "i": item})
    return bool(taken)


def try_xact_sql(lock: Lock) -> str:
    """A boolean SQL expression taking `lock` for the transaction if it is free, the key
    written in: a statement that does its work only when it holds the lock can test it in a
    `WHERE` (`WHERE (SELECT <this>) AND …`: PostgreSQL evaluates it once, before any row),
    so taking the lock costs no round trip of its own (the outbox relay's claim)."""
    space, item = key(lock)
    return f"pg_try_advisory_xact_lock({int(space)}, {int(item)})"


def begin_holding_sql(lock: Lock, *, committing_lazily: bool = False) -> str:
    """For a raw asyncpg connection: open a transaction and wait for the lock (`hold`, or
    `hold_committing_lazily`) in one round trip, as one simple query (no parameters: the
    lock's key is two integers written in)."""
    space, item = key(lock)
    lazily = ", set_config('synchronous_commit', 'off', true)" if committing_lazily else ""
    return f"BEGIN; SELECT pg_advisory_xact_lock({int(space)}, {int(item)}){lazily}"
