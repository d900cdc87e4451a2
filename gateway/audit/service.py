"""Writing, reading and verifying the hash-chained audit log."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from gateway.audit.models import AuditEntry
from kit import locks
from kit.db import utcnow
from kit.locks import Lock
from kit.pagination import PageParams, keyset_page

GENESIS = "0" * 64
CHAINED_FIELDS = (
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


def canonical(entry: dict[str, Any]) -> str:
    """The row's canonical JSON: chained fields only, sorted keys, no spaces, UTC ISO time."""
    fields = {k: entry[k] for k in CHAINED_FIELDS}
    at = fields["at"]
    fields["at"] = at.isoformat() if isinstance(at, datetime) else at
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    """SHA-256 over the previous row's hash and this row's canonical JSON."""
    return hashlib.sha256((prev_hash + canonical(entry)).encode()).hexdigest()


class AuditWriter:
    """Appends entries in groups: one locked transaction links and inserts a whole batch.

    Each caller waits until the transaction holding its entry has committed, so an entry is
    durable before the response it describes is finished; concurrent requests share the
    commit instead of queueing on the chain's lock one by one.
    """

    def __init__(self, engine: AsyncEngine, *, max_batch: int = 500):
        self.engine = engine
        self.max_batch = max_batch
        self._queue: asyncio.Queue[tuple[dict[str, Any], asyncio.Future[None]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def append(self, entry: dict[str, Any]) -> None:
        """Append one entry; returns once it is committed (raises if the write failed)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="audit-writer")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._queue.put(({**entry, "at": utcnow()}, done))
        await done

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._write([entry for entry, _ in batch])
            except Exception as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for _, done in batch:
                if not done.done():
                    done.set_result(None)

    async def _write(self, entries: list[dict[str, Any]]) -> None:
        async with self.engine.begin() as conn:
            await locks.hold(conn, Lock.AUDIT_APPEND)
            last = await conn.scalar(
                select(AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
            )
            prev = last or GENESIS
            rows = []
            for entry in entries:
                digest = chain_hash(prev, entry)
                rows.append({**entry, "prev_hash": prev, "hash": digest})
                prev = digest
            await conn.execute(insert(AuditEntry), rows)

    async def close(self) -> None:
        """Stop the writer (entries still queued fail their callers)."""
        if self._task is not None:
            self._task.cancel()


async def search(
    session: AsyncSession,
    *,
    page: PageParams,
    actor: str | None,
    outcome: str | None,
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
    if method:
        query = query.where(AuditEntry.method == method.upper())
    if request_id:
        query = query.where(AuditEntry.request_id == request_id)
    if since:
        query = query.where(AuditEntry.at >= since)
    if until:
        query = query.where(AuditEntry.at < until)
    return await keyset_page(session, query, keys=[AuditEntry.seq], page=page, descending=True)


async def verify(session: AsyncSession, *, batch: int = 2000) -> dict[str, Any]:
    """Walk the chain from the start; report the first row whose link or hash is wrong."""
    prev, checked, after = GENESIS, 0, 0
    while True:
        rows = (
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.seq > after)
                .order_by(AuditEntry.seq)
                .limit(batch)
            )
        ).all()
        if not rows:
            return {"ok": True, "checked": checked, "first_broken": None}
        for row in rows:
            entry = {k: getattr(row, k) for k in CHAINED_FIELDS}
            if row.prev_hash != prev:
                return _broken(checked, row.seq, "prev_hash does not match the previous row")
            if row.hash != chain_hash(prev, entry):
                return _broken(checked, row.seq, "hash does not match the row's content")
            prev, checked, after = row.hash, checked + 1, row.seq


def _broken(checked: int, seq: int, reason: str) -> dict[str, Any]:
    return {"ok": False, "checked": checked, "first_broken": {"seq": seq, "reason": reason}}
