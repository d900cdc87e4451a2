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
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, cast

import asyncpg
from prometheus_client import Counter, Gauge
from pydantic import BaseModel
from sqlalchemy import (
    CTE,
    DDL,
    BigInteger,
    Identity,
    Index,
    String,
    Table,
    bindparam,
    event,
    insert,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from kit import locks, tracing
from kit.db import Base, listen, utcnow
from kit.events import CloudEvent, make_event
from kit.failpoints import failpoint
from kit.locks import Lock
from kit.messaging import NatsConnection
from kit.observability import zero_gauge

log = logging.getLogger("kit.outbox")

NOTIFY_CHANNEL = "outbox"
PUBLISHED = Counter("outbox_published_total", "Events published from the outbox", ["service"])
REPUBLISHED = Counter(
    "outbox_republished_total",
    "Events the stream had already (a relay died after publishing, before marking them sent)",
    ["service"],
)
BACKLOG = Gauge(
    "outbox_backlog", "Unpublished outbox rows", ["service"], multiprocess_mode="mostrecent"
)
OLDEST = Gauge(
    "outbox_oldest_unsent_seconds",
    "Age of the oldest unpublished outbox row",
    ["service"],
    multiprocess_mode="mostrecent",
)


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


# A statement-level trigger wakes the relay: NOTIFY is transactional (sent on commit, dropped
# on rollback) and costs the writer no extra round trip. Migrations execute this DDL.
NOTIFY_TRIGGER_DDL = [
    "CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN PERFORM pg_notify('{NOTIFY_CHANNEL}', ''); RETURN NULL; END $$",
    "DROP TRIGGER IF EXISTS outbox_notify ON outbox",
    "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox "
    "FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()",
]
for _statement in NOTIFY_TRIGGER_DDL:
    event.listen(OutboxMessage.__table__, "after_create", DDL(_statement))  # type: ignore[no-untyped-call]


async def emit(session: AsyncSession, *cloud_events: CloudEvent) -> None:
    """Write events to the outbox in the caller's transaction; the relay is woken on commit.

    A Core INSERT (one statement for many events), executed now: the rows need none of the
    ORM's unit-of-work bookkeeping.
    """
    if not cloud_events:
        return
    now = utcnow()
    await session.execute(insert(OutboxMessage), [outbox_row(e, now) for e in cloud_events])


def outbox_row(cloud_event: CloudEvent, now: datetime) -> dict[str, Any]:
    """The outbox row of an event, as `emit` writes it."""
    return {
        "id": uuid.UUID(cloud_event.id),
        "subject": cloud_event.nats_subject,
        "type": cloud_event.type,
        "payload": cloud_event.model_dump(mode="json"),
        "created_at": now,
    }


def emit_for(rows: CTE, prefix: str = "event_") -> CTE:
    """A statement's part (a CTE) writing one event to the outbox for each row of `rows` (in
    practice one row or none: the row a write's own CTE inserted, e.g. `ON CONFLICT DO NOTHING
    RETURNING`): the write and its event in one prebuilt statement, one round trip. The event's
    row (`outbox_row`) is bound as `{prefix}id`, `{prefix}subject`, … Add it to the statement
    with `.add_cte()`: PostgreSQL runs a data-modifying CTE whether or not it is read."""
    table = cast(Table, OutboxMessage.__table__)
    values = select(
        *(bindparam(f"{prefix}{name}", type_=table.c[name].type) for name in OUTBOX_COLUMNS)
    ).select_from(rows)
    return insert(table).from_select(OUTBOX_COLUMNS, values).cte(f"{prefix}outbox")


OUTBOX_COLUMNS = ("id", "subject", "type", "payload", "created_at")


Publish = Callable[[AsyncSession, str, str, BaseModel], Awaitable[None]]


def publisher(source: str) -> Publish:
    """`publish(session, event_type, subject, data)` for one service: builds the envelope
    (CloudEvents `source` = `source`) and writes it to the outbox in the caller's transaction."""

    async def publish(
        session: AsyncSession, event_type: str, subject: str, data: BaseModel
    ) -> None:
        await emit(session, make_event(source=source, type=event_type, subject=subject, data=data))

    return publish


def asyncpg_dsn(database_url: str) -> str:
    """SQLAlchemy URL → plain libpq URL for a raw asyncpg connection."""
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


# The backlog and its age, measured by the relay's listener every 2 s (a partial-index scan).
MEASURE_SQL = """
SELECT count(*) AS backlog,
       coalesce(extract(epoch FROM now() - (
           SELECT created_at FROM outbox WHERE sent_at IS NULL ORDER BY seq LIMIT 1)), 0) AS age
FROM outbox WHERE sent_at IS NULL
"""
# The claim takes the relay's lock itself: one publisher per database at a time, so the
# stream keeps the outbox's order with several workers or replicas; the others claim nothing.
CLAIM_SQL = """
UPDATE outbox SET sent_at = now()
WHERE (SELECT :lock) AND id IN (
    SELECT id FROM outbox WHERE sent_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED
)
RETURNING seq, id, subject, payload::text, payload->>'traceparent' AS traceparent
""".replace(":lock", locks.try_xact_sql(Lock.OUTBOX_RELAY))


async def _kept(_: asyncpg.Connection) -> None:
    """The relay's connection as released: no reset round trip (it sets no state)."""


def _headers(row: asyncpg.Record, span: tracing.Span) -> dict[str, str]:
    """The stream's deduplication id, and the trace context for the consumers."""
    headers = {"Nats-Msg-Id": str(row["id"])}
    traceparent = tracing.traceparent_of(span) or row["traceparent"]
    if traceparent:
        headers["traceparent"] = traceparent
    return headers


class OutboxRelay:
    """Publishes the outbox to JetStream, in order, in batches.

    Runs on raw asyncpg: under a transaction-scoped advisory lock (one publisher at a time),
    rows are claimed and marked sent in one statement, published in `seq` order, and the
    transaction commits only after JetStream acknowledged every message; any failure rolls
    the marks back and the next round starts again from the oldest unsent row.
    """

    def __init__(
        self,
        nats: NatsConnection,
        *,
        service: str,
        database_url: str,
        batch: int = 200,
        poll_s: float = 1.0,
        linger_s: float = 0.002,
    ):
        self.nats = nats
        self.service = service
        self.dsn = asyncpg_dsn(database_url)
        self.batch = batch
        self.poll_s = poll_s
        self.linger_s = linger_s
        self._wake = asyncio.Event()
        self._pool: asyncpg.Pool | None = None
        # Every series the alert rules read exists from the start: `OutboxStalled` needs a
        # published count of 0 to see a relay that never published.
        PUBLISHED.labels(service)
        REPUBLISHED.labels(service)
        zero_gauge(BACKLOG.labels(service))
        zero_gauge(OLDEST.labels(service))

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
                    # Let a burst of commits gather into one batch.
                    await asyncio.sleep(self.linger_s)
        finally:
            listener.cancel()
            await self.close()

    async def close(self) -> None:
        """Close the relay's own connection pool."""
        if self._pool is not None:
            self._pool.terminate()
            self._pool = None

    async def publish_batch(self) -> int:
        """Claim, publish and mark one batch; returns how many were sent."""
        js = self.nats.js
        if self._pool is None:
            self._pool = await asyncpg.create_pool(
                self.dsn,
                min_size=1,
                max_size=1,
                timeout=3,
                command_timeout=15,
                reset=_kept,  # the transaction's end releases its lock; nothing else to reset
            )
        # BEGIN, the claim (which takes the lock), COMMIT after the acks: three round trips
        async with self._pool.acquire() as conn, conn.transaction():
            rows = sorted(await conn.fetch(CLAIM_SQL, self.batch), key=lambda r: r["seq"])
            if not rows:
                return 0
            spans = [
                tracing.start(
                    __name__,
                    f"publish {row['subject']}",
                    tracing.SpanKind.PRODUCER,
                    row["traceparent"],
                    **{
                        "messaging.system": "nats",
                        "messaging.operation.type": "send",
                        "messaging.operation.name": "publish",
                        "messaging.destination.name": row["subject"],
                        "messaging.message.id": str(row["id"]),
                    },
                )
                for row in rows
            ]
            try:
                futures = [
                    await js.publish_async(
                        row["subject"], row["payload"].encode(), headers=_headers(row, span)
                    )
                    for row, span in zip(rows, spans, strict=True)
                ]
                acks = await asyncio.wait_for(asyncio.gather(*futures), timeout=10)
            finally:
                for span in spans:
                    span.end()
            failpoint("outbox.after_publish")
        PUBLISHED.labels(self.service).inc(len(rows))
        REPUBLISHED.labels(self.service).inc(sum(1 for ack in acks if ack.duplicate))
        return len(rows)

    async def _listen(self) -> None:
        """LISTEN for commits that wrote outbox rows, measure the backlog every 2 s."""

        async def measure(conn: asyncpg.Connection) -> None:
            measured = await conn.fetchrow(MEASURE_SQL)
            BACKLOG.labels(self.service).set(measured["backlog"])
            OLDEST.labels(self.service).set(float(measured["age"]))

        await listen(self.dsn, NOTIFY_CHANNEL, self._wake, measure=measure)
