"""Webhook deliveries (one event to one webhook) and their attempts."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DDL, ForeignKey, Index, String, Text, UniqueConstraint, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from kit.db import utcnow
from kit.ids import uuid7
from services.notify.base import Base


class Delivery(Base):
    """One event to one webhook; its id is the `webhook-id` of every attempt."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id"),
        Index(
            "ix_deliveries_due",
            "next_attempt_at",
            postgresql_where="status = 'pending'",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    subscription_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    event_id: Mapped[uuid.UUID]
    event_type: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # delivered | failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Retries run for `NOTIFY_RETRY_WINDOW_S` from here (a replay starts a new window).
    window_start: Mapped[datetime] = mapped_column(default=utcnow)
    # A claimed delivery is leased: a process killed mid-send leaves it to be retried
    # (with the same webhook-id) once the lease ends.
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    last_status: Mapped[int | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)


class Attempt(Base):
    """One try of a delivery."""

    __tablename__ = "delivery_attempts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deliveries.id"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    duration_ms: Mapped[int] = mapped_column(default=0)


WAKE_CHANNEL = "deliveries"
# A delivery due now (a new one, or one a replay or re-enabled webhook made pending) wakes the
# dispatchers on commit; a retry set for later does not (they poll for those every second).
# "Now" is the row's writing (`clock_timestamp()`, not the transaction's start: fan-out stamps
# its rows late in a consumer's batch), with a second's grace for the writer's clock.
WAKE_TRIGGER_DDL = [
    "CREATE OR REPLACE FUNCTION deliveries_wake() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN PERFORM pg_notify('{WAKE_CHANNEL}', ''); RETURN NULL; END $$",
    "DROP TRIGGER IF EXISTS deliveries_wake ON deliveries",
    "CREATE TRIGGER deliveries_wake AFTER INSERT OR UPDATE OF status, next_attempt_at "
    "ON deliveries FOR EACH ROW WHEN (NEW.status = 'pending' "
    "AND NEW.next_attempt_at <= clock_timestamp() + interval '1 second') "
    "EXECUTE FUNCTION deliveries_wake()",
]
for _statement in WAKE_TRIGGER_DDL:
    event.listen(Delivery.__table__, "after_create", DDL(_statement))  # type: ignore[no-untyped-call]
