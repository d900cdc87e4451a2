"""Every table notify owns, for Alembic; the models themselves."""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from kit.db import Base as KitBase
from kit.db import utcnow
from kit.idempotency import IdempotencyRecord
from kit.ids import uuid7
from kit.inbox import InboxEntry
from kit.outbox import OutboxMessage
from services.notify.base import Base


class Subscription(Base):
    """Who wants which events (patterns and filters), delivered by webhook or to the inbox."""

    __tablename__ = "subscriptions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    # agency (code), enterprise (USCC), inspector (id), office (admin subject)
    owner_kind: Mapped[str] = mapped_column(String(12))
    owner: Mapped[str] = mapped_column(String(200), index=True)
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String(120)))
    filters: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    channel: Mapped[str] = mapped_column(String(8))  # webhook | inbox
    url: Mapped[str | None] = mapped_column(String(2000), default=None)
    secret: Mapped[str | None] = mapped_column(String(100), default=None)
    previous_secret: Mapped[str | None] = mapped_column(String(100), default=None)
    previous_secret_until: Mapped[datetime | None] = mapped_column(default=None)
    language: Mapped[str] = mapped_column(String(5), default="zh-CN")
    status: Mapped[str] = mapped_column(String(10), default="active", index=True)
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    failing_since: Mapped[datetime | None] = mapped_column(default=None)
    disabled_reason: Mapped[str | None] = mapped_column(Text, default=None)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1)


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


class Message(Base):
    """An inbox message for an agency, enterprise, inspector or user, in their language."""

    __tablename__ = "inbox_messages"
    __table_args__ = (Index("ix_inbox_messages_recipient", "recipient_kind", "recipient", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    recipient_kind: Mapped[str] = mapped_column(String(12))
    recipient: Mapped[str] = mapped_column(String(200))
    # warning, precaution, bulletin, event, system
    kind: Mapped[str] = mapped_column(String(12))
    language: Mapped[str] = mapped_column(String(5))
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    event_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    bulletin_id: Mapped[uuid.UUID | None] = mapped_column(index=True, default=None)
    read_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Template(Base):
    """An office's wording for a message code and language (defaults are in code)."""

    __tablename__ = "templates"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    language: Mapped[str] = mapped_column(String(5), primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Recipient(Base):
    """An enterprise as registry announced it: who a bulletin or warning reaches."""

    __tablename__ = "recipients"

    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    industry: Mapped[str | None] = mapped_column(String(40), default=None)
    hs_codes: Mapped[list[str]] = mapped_column(ARRAY(String(10)), default=list)
    export_markets: Mapped[list[str]] = mapped_column(ARRAY(String(2)), default=list)
    zones: Mapped[list[str]] = mapped_column(ARRAY(String(60)), default=list)


class Bulletin(Base):
    """A WTO/TBT notification or a technical-regulation notice (公共信息服务)."""

    __tablename__ = "bulletins"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    kind: Mapped[str] = mapped_column(String(12))  # wto_tbt | regulation
    symbol: Mapped[str | None] = mapped_column(String(60), index=True, default=None)
    member: Mapped[str | None] = mapped_column(String(60), default=None)
    title: Mapped[str] = mapped_column(String(500))
    products: Mapped[list[str]] = mapped_column(ARRAY(String(10)), default=list)
    markets: Mapped[list[str]] = mapped_column(ARRAY(String(2)), default=list)
    objective: Mapped[str | None] = mapped_column(Text, default=None)
    body: Mapped[str | None] = mapped_column(Text, default=None)
    comment_deadline: Mapped[date | None] = mapped_column(default=None)
    adoption_date: Mapped[date | None] = mapped_column(default=None)
    recipients: Mapped[int] = mapped_column(default=0)
    published_by: Mapped[str] = mapped_column(String(200))
    published_at: Mapped[datetime] = mapped_column(default=utcnow)


# Alembic compares both: kit's tables (outbox, inbox, idempotency keys) and notify's.
metadata = [KitBase.metadata, Base.metadata]

__all__ = [
    "Attempt",
    "Bulletin",
    "Delivery",
    "IdempotencyRecord",
    "InboxEntry",
    "Message",
    "OutboxMessage",
    "Recipient",
    "Subscription",
    "Template",
    "metadata",
]
