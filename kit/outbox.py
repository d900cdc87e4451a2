"""Transactional outbox: events are rows written in the request's transaction; a relay publishes.

The relay claims unsent rows with `FOR UPDATE SKIP LOCKED` (safe with many replicas), publishes
them to JetStream with `Nats-Msg-Id` = event id (so a re-publish after a crash is dropped by the
stream's duplicate window, and consumers' inboxes catch anything later), then marks them sent in
the same transaction. It wakes on `NOTIFY outbox` and polls as a fallback. NATS being down only
grows the backlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from datetime import datetime
from typing import Any

import asyncpg
from prometheus_client import Counter, Gauge
from sqlalchemy import BigInteger, Identity, Index, String, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from kit.db import Base, utcnow
from kit.events import CloudEvent
from kit.messaging import NatsConnection

log = logging.getLogger("kit.outbox")

NOTIFY_CHANNEL = "outbox"
PUBLISHED = Counter("outbox_published_total", "Events published from the outbox", ["service"])
BACKLOG = Gauge("outbox_backlog", "Unsent outbox rows seen by the relay", ["service"])


class OutboxMessage(Base):
    """An event waiting to be (or already) published."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_unsent", "seq", postgresql_where=text("sent_at IS NULL")),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # Commit-order-ish sequence: timestamps tie within a microsecond, uuid7 randomness is unordered.
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), unique=True)
    subject: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)


async def emit(session: AsyncSession, event: CloudEvent) -> None:
    """Write `event` to the outbox in the caller's transaction; the relay is woken on commit."""
    session.add(
        OutboxMessage(
            id=uuid.UUID(event.id),
            subject=event.nats_subject,
            type=event.type,
            payload=event.model_dump(mode="json"),
        )
    )
    if not session.info.get("outbox_notified"):
        # NOTIFY is transactional: delivered on commit, dropped on rollback.
        await session.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))
        session.info["outbox_notified"] = True


def asyncpg_dsn(database_url: str) -> str:
    """SQLAlchemy URL → plain libpq URL for a raw asyncpg connection."""
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


class OutboxRelay:
    """Publishes the outbox to JetStream, in order, in batches."""

    def __init__(
        self,
        engine: AsyncEngine,
        nats: NatsConnection,
        *,
        service: str,
        database_url: str,
        batch: int = 200,
        poll_s: float = 1.0,
    ):
        self.engine = engine
        self.nats = nats
        self.service = service
        self.dsn = asyncpg_dsn(database_url)
        self.batch = batch
        self.poll_s = poll_s
        self._wake = asyncio.Event()

    async def run(self) -> None:
        """Relay forever; cancel to stop."""
        listener = asyncio.create_task(self._listen(), name=f"outbox-listen-{self.service}")
        backoff = 0.1
        try:
            while True:
                self._wake.clear()
                try:
                    sent = await self.publish_batch()
                    backoff = 0.1
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning(
                        "outbox relay cannot publish yet (%s); retry in %.1fs", exc, backoff
                    )
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                if sent < self.batch:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=self.poll_s)
        finally:
            listener.cancel()

    async def publish_batch(self) -> int:
        """Claim, publish and mark one batch; returns how many were sent."""
        js = self.nats.js
        async with self.engine.begin() as conn:
            rows = (
                await conn.execute(
                    select(OutboxMessage.id, OutboxMessage.subject, OutboxMessage.payload)
                    .where(OutboxMessage.sent_at.is_(None))
                    .order_by(OutboxMessage.seq)
                    .limit(self.batch)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            BACKLOG.labels(self.service).set(len(rows))
            if not rows:
                return 0
            futures = [
                await js.publish_async(
                    row.subject,
                    json.dumps(row.payload, ensure_ascii=False, separators=(",", ":")).encode(),
                    headers={"Nats-Msg-Id": str(row.id)},
                )
                for row in rows
            ]
            await asyncio.wait_for(asyncio.gather(*futures), timeout=10)
            await conn.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_([row.id for row in rows]))
                .values(sent_at=utcnow())
            )
        PUBLISHED.labels(self.service).inc(len(rows))
        return len(rows)

    async def _listen(self) -> None:
        """LISTEN for commits that wrote outbox rows; reconnect after outages."""
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self.dsn, timeout=3)
                await conn.add_listener(NOTIFY_CHANNEL, lambda *_: self._wake.set())
                self._wake.set()  # catch up with anything committed while we were away
                while not conn.is_closed():
                    await asyncio.sleep(2)
                    await conn.execute("SELECT 1")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("outbox listener reconnecting: %r", exc)
                await asyncio.sleep(1)
            finally:
                if conn is not None and not conn.is_closed():
                    conn.terminate()
