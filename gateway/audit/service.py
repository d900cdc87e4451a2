"""Writing, reading and verifying the hash-chained audit log.

What is chained: every row, intents and outcomes alike. A write is recorded as an `intent`
(who, what, where) committed before the gateway forwards it, then an `outcome` (status,
success | denied | failed, and the intent's `seq`) committed after; each is a link of the
chain, its hash covering its own `seq`, `phase` and `intent_seq`. The other way (the intent
chained, the outcome in a column updated later) was refused: the audit table is append-only
(a trigger refuses UPDATE), and a status outside the chain could be changed without a trace,
though the status is what an auditor reads first. The price is two rows per write and a
second group commit on the way back (which does not wait for its WAL flush: see `_write`);
`make bench` measures it (docs/performance.md).

Gap-free: `seq` is 1, 2, 3, … assigned by the writer while it holds the append lock, so a
rolled-back batch leaves no hole (an identity column would). `verify` then tells a removed
row (a gap), a changed one (its hash), a moved one (its `prev_hash` no longer names the row
before it) and, against the last row this process committed, rows cut from the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import asyncpg
from cryptography.hazmat.primitives import hashes
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import aliased

from gateway.audit.models import AuditEntry
from kit import locks
from kit.db import utcnow
from kit.locks import Lock
from kit.outbox import asyncpg_dsn
from kit.pagination import PageParams, keyset_page

GENESIS = "0" * 64
# Rows written before intents existed (phase NULL) were chained over these fields only.
LEGACY_FIELDS = (
    "at",
    "request_id",
    "actor",
    "agency",
    "uscc",
    "inspector_id",
    "method",
    "path",
    "object_key",
    "status",
    "outcome",
)
CHAINED_FIELDS = (*LEGACY_FIELDS, "seq", "phase", "intent_seq")


def canonical(entry: dict[str, Any]) -> str:
    """The row's canonical JSON: chained fields only, sorted keys, no spaces, UTC ISO time."""
    names = CHAINED_FIELDS if entry.get("phase") is not None else LEGACY_FIELDS
    fields = {k: entry[k] for k in names}
    at = fields["at"]
    fields["at"] = at.isoformat() if isinstance(at, datetime) else at
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _sm3(data: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


HASHES: dict[str, Callable[[bytes], str]] = {
    "sha256": lambda data: hashlib.sha256(data).hexdigest(),
    "sm3": _sm3,  # GB/T 32905 (国密), through OpenSSL
}


def chain_hash(prev_hash: str, entry: dict[str, Any], alg: str = "sha256") -> str:
    """The row's hash (SHA-256 or SM3, both 256 bits) over the previous row's hash and this
    row's canonical JSON."""
    return HASHES[alg]((prev_hash + canonical(entry)).encode())


# The row's columns in the order INSERT_SQL and audit_append take them, each as an array: one
# statement for a whole batch (asyncpg prepares it once per connection).
COLUMNS = (
    "seq",
    "at",
    "phase",
    "intent_seq",
    "request_id",
    "actor",
    "agency",
    "uscc",
    "inspector_id",
    "method",
    "path",
    "object_key",
    "status",
    "outcome",
    "prev_hash",
    "hash",
    "hash_alg",
)
ARRAYS = """$5::bigint[], $6::timestamptz[], $7::text[], $8::bigint[], $9::text[], $10::text[],
    $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[],
    $17::smallint[], $18::text[], $19::text[], $20::text[], $21::text[]"""
# The lock's key, the row the batch was chained to, the batch (the gateway's migration
# 0d3c6e1f7a52): the whole append, lock to commit, in one statement.
APPEND_SQL = "SELECT * FROM audit_append($1, $2, $3, $4, :arrays)".replace(":arrays", ARRAYS)
# Outcomes alone: the same, committed without waiting for its WAL flush (see `_write_on`).
APPEND_LAZILY_SQL = (
    "SELECT a.* FROM audit_append($1, $2, $3, $4, :arrays) AS a,"
    " set_config('synchronous_commit', 'off', true) AS lazily"
).replace(":arrays", ARRAYS)
# The locked path, after the chain moved under the writer too often (`_write_locked`).
INSERT_SQL = """
INSERT INTO audit_log (seq, at, phase, intent_seq, request_id, actor, agency, uscc,
    inspector_id, method, path, object_key, status, outcome, prev_hash, hash, hash_alg)
SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::bigint[], $5::text[],
    $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
    $13::smallint[], $14::text[], $15::text[], $16::text[], $17::text[])
"""
LAST_SQL = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
BEGIN_SQL = locks.begin_holding_sql(Lock.AUDIT_APPEND)
BEGIN_LAZILY_SQL = locks.begin_holding_sql(Lock.AUDIT_APPEND, committing_lazily=True)
APPEND_LOCK = locks.key(Lock.AUDIT_APPEND)
# Tries of the one-statement append before the locked path, which cannot miss.
OPTIMISTIC_TRIES = 3


class AuditWriter:
    """Appends entries in groups: one locked transaction numbers, links and inserts a batch.

    Each caller waits until the transaction holding its entry has committed and gets the
    entry's `seq`; concurrent requests share the commit instead of queueing on the chain's
    lock one by one. `head` is the last (seq, hash) this process committed: `verify` holds
    the table to it, so rows removed from the end are seen too (by the process that wrote
    them, until it restarts).

    A batch is one statement on one plain asyncpg connection of the writer's own:
    `audit_append` (a function of the gateway's migrations) takes the lock, checks that the
    chain still ends where the writer last saw it (`_tail`: its own last batch, or the row
    another process, a second worker or replica, appended since) and inserts the batch the
    writer chained to it, committing as it returns. If the chain moved, nothing is inserted,
    the writer learns the new last row and chains the batch again; after `OPTIMISTIC_TRIES`
    it appends in four round trips instead (begin and lock; the last row; one INSERT of
    every row as arrays; commit), which holds the lock from the read to the commit. A
    SQLAlchemy session cost the gateway about three times the CPU per append. As with the
    engine's pool (no pre-ping), a connection that fails a batch is dropped and the next
    batch opens another.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        max_batch: int = 500,
        hash_alg: str = "sha256",
        connect_timeout_s: float = 5.0,
        command_timeout_s: float = 10.0,
    ):
        self.engine = engine
        self.dsn = asyncpg_dsn(engine.url.render_as_string(hide_password=False))
        self.max_batch = max_batch
        if hash_alg not in HASHES:
            raise ValueError(f"unknown audit hash {hash_alg!r}: one of {', '.join(HASHES)}")
        self.hash_alg = hash_alg
        self.connect_timeout_s = connect_timeout_s
        self.command_timeout_s = command_timeout_s
        self.head: tuple[int, str] | None = None
        self._tail: tuple[int, str] = (0, GENESIS)  # the chain's last row, as last seen
        self._queue: asyncio.Queue[tuple[dict[str, Any], asyncio.Future[int]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._conn: asyncpg.Connection | None = None
        self._renewing: asyncio.Task[None] | None = None

    async def append(self, entry: dict[str, Any]) -> int:
        """Append one entry; returns its seq once committed (raises if the write failed)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="audit-writer")
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(({**entry, "at": utcnow()}, done))
        return await done

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                seqs = await self._write([entry for entry, _ in batch])
            except Exception as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for (_, done), seq in zip(batch, seqs, strict=True):
                if not done.done():
                    done.set_result(seq)

    def _lost(self) -> None:
        """The writer's connection was cut. Whatever cut it (a restart, the database taken
        away) cut the engine's pooled connections too, which no request would find out but
        by failing: start the pool afresh in the background, as when the writer shared it."""
        self._conn = None
        if self._renewing is None or self._renewing.done():
            self._renewing = asyncio.create_task(self.engine.dispose(), name="audit-pool-renew")

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is not None and self._conn.is_closed():
            self._lost()
        if self._conn is None:
            self._conn = await asyncpg.connect(
                self.dsn, timeout=self.connect_timeout_s, command_timeout=self.command_timeout_s
            )
        return self._conn

    async def _write(self, entries: list[dict[str, Any]]) -> list[int]:
        conn = await self._connection()
        try:
            return await self._write_on(conn, entries)
        except BaseException:
            if conn.is_closed():
                self._lost()
            self._conn = None
            conn.terminate()  # whatever state it was left in (a transaction open, or broken)
            raise

    async def _write_on(self, conn: asyncpg.Connection, entries: list[dict[str, Any]]) -> list[int]:
        # Outcomes alone commit without waiting for their WAL flush: the write they close
        # was acknowledged by its intent's durable commit, and a crash in the next ~200 ms
        # that loses one leaves the intent standing for it (as a failed outcome write does).
        # WAL is sequential, so any later durable commit (the next intent) makes them
        # durable too: the chain never has a hole.
        lazily = all(entry.get("phase") == "outcome" for entry in entries)
        for _ in range(OPTIMISTIC_TRIES):
            rows = self._chained(entries, self._tail)
            appended, last_seq, last_hash = await conn.fetchrow(
                APPEND_LAZILY_SQL if lazily else APPEND_SQL,
                *APPEND_LOCK,
                *self._tail,
                *([row.get(name) for row in rows] for name in COLUMNS),
            )
            self._tail = (last_seq, last_hash) if last_seq is not None else (0, GENESIS)
            if appended:
                self.head = self._tail
                return [row["seq"] for row in rows]
        return await self._write_locked(conn, entries, lazily=lazily)

    async def _write_locked(
        self, conn: asyncpg.Connection, entries: list[dict[str, Any]], *, lazily: bool
    ) -> list[int]:
        await conn.execute(BEGIN_LAZILY_SQL if lazily else BEGIN_SQL)
        last = await conn.fetchrow(LAST_SQL)
        rows = self._chained(entries, (last[0], last[1]) if last is not None else (0, GENESIS))
        await conn.execute(INSERT_SQL, *([row.get(name) for row in rows] for name in COLUMNS))
        await conn.execute("COMMIT")
        self.head = self._tail = (rows[-1]["seq"], rows[-1]["hash"])
        return [row["seq"] for row in rows]

    def _chained(
        self, entries: list[dict[str, Any]], after: tuple[int, str]
    ) -> list[dict[str, Any]]:
        """The batch numbered and hashed on from the row `after` (its seq and hash)."""
        seq, prev = after
        rows = []
        for entry in entries:
            seq += 1
            row = {**entry, "seq": seq}
            digest = chain_hash(prev, row, self.hash_alg)
            rows.append({**row, "prev_hash": prev, "hash": digest, "hash_alg": self.hash_alg})
            prev = digest
        return rows

    async def close(self) -> None:
        """Stop the writer (entries still queued fail their callers) and close its connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task  # its batch is done with the connection
        while not self._queue.empty():
            _, done = self._queue.get_nowait()
            if not done.done():
                done.set_exception(RuntimeError("the audit writer stopped"))
        if self._renewing is not None:
            with contextlib.suppress(BaseException):
                await self._renewing
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close(timeout=2)


async def search(
    session: AsyncSession,
    *,
    page: PageParams,
    actor: str | None,
    outcome: str | None,
    phase: str | None,
    method: str | None,
    request_id: str | None,
    since: datetime | None,
    until: datetime | None,
) -> tuple[list[AuditEntry], str | None]:
    """Newest first, filtered."""
    query = select(AuditEntry)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if outcome:
        query = query.where(AuditEntry.outcome == outcome)
    if phase:
        query = query.where(AuditEntry.phase == phase)
    if method:
        query = query.where(AuditEntry.method == method.upper())
    if request_id:
        query = query.where(AuditEntry.request_id == request_id)
    if since:
        query = query.where(AuditEntry.at >= since)
    if until:
        query = query.where(AuditEntry.at < until)
    return await keyset_page(session, query, keys=[AuditEntry.seq], page=page, descending=True)


async def verify(
    session: AsyncSession, *, head: tuple[int, str] | None = None, batch: int = 2000
) -> dict[str, Any]:
    """Walk the chain from seq 1; report the first row missing, moved, changed or cut off.

    `head` is the last (seq, hash) the caller's own writer committed, taken before the walk
    (so rows committed during it cannot make it look cut). `unfinished` counts intents with
    no outcome: requests in flight, or writes whose outcome could not be recorded (the
    gateway stopped, or its database failed, after forwarding them).
    """
    report = await _walk(session, head=head, batch=batch)
    return {**report, "unfinished": await _unfinished(session)}


async def _walk(
    session: AsyncSession, *, head: tuple[int, str] | None, batch: int
) -> dict[str, Any]:
    prev, checked, expected = GENESIS, 0, 1
    while True:
        rows = (
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.seq >= expected)
                .order_by(AuditEntry.seq)
                .limit(batch)
            )
        ).all()
        for row in rows:
            entry = {k: getattr(row, k) for k in CHAINED_FIELDS}
            if row.seq != expected:
                gone = (
                    f"row {expected}"
                    if row.seq == expected + 1
                    else f"rows {expected}–{row.seq - 1}"
                )
                return _broken(
                    checked,
                    expected,
                    "missing",
                    f"{gone} removed: the sequence jumps from {expected - 1} to {row.seq}",
                )
            if row.prev_hash != prev:
                return _broken(
                    checked,
                    row.seq,
                    "reordered",
                    "prev_hash does not name the row before it: a row was moved or replaced",
                )
            if row.hash_alg not in HASHES or row.hash != chain_hash(prev, entry, row.hash_alg):
                return _broken(checked, row.seq, "altered", "hash does not match the row's content")
            if head is not None and row.seq == head[0] and row.hash != head[1]:
                return _broken(
                    checked,
                    row.seq,
                    "altered",
                    "hash differs from the one this gateway committed: the chain was rewritten",
                )
            prev, checked, expected = row.hash, checked + 1, row.seq + 1
        if len(rows) < batch:
            break
    if head is not None and head[0] >= expected:
        return _broken(
            checked,
            head[0],
            "truncated",
            f"the log ends at row {expected - 1}, but this gateway committed row {head[0]}: "
            "rows were removed from the end",
        )
    return {"ok": True, "checked": checked, "first_broken": None}


async def _unfinished(session: AsyncSession) -> int:
    outcome = aliased(AuditEntry)
    count = await session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(
            AuditEntry.phase == "intent",
            ~select(outcome.seq).where(outcome.intent_seq == AuditEntry.seq).exists(),
        )
    )
    return int(count or 0)


def _broken(checked: int, seq: int, kind: str, reason: str) -> dict[str, Any]:
    return {
        "ok": False,
        "checked": checked,
        "first_broken": {"seq": seq, "kind": kind, "reason": reason},
    }
