"""Subscriptions: who wants which events, by webhook or to the inbox."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DDL, String, Text, event
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from kit.db import utcnow
from kit.ids import uuid7
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


# The subscription index (subscriptions/index.py) hears of every commit that changes which
# patterns are listened to (a webhook's failure count changing does not tell it).
CHANNEL = "subscriptions"
TRIGGER_DDL = [
    "CREATE OR REPLACE FUNCTION subscriptions_changed() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN PERFORM pg_notify('{CHANNEL}', ''); RETURN NULL; END $$",
    "DROP TRIGGER IF EXISTS subscriptions_changed ON subscriptions",
    "CREATE TRIGGER subscriptions_changed "
    "AFTER INSERT OR DELETE OR UPDATE OF event_types, status ON subscriptions "
    "FOR EACH STATEMENT EXECUTE FUNCTION subscriptions_changed()",
    "DROP TRIGGER IF EXISTS subscriptions_truncated ON subscriptions",
    "CREATE TRIGGER subscriptions_truncated AFTER TRUNCATE ON subscriptions "
    "FOR EACH STATEMENT EXECUTE FUNCTION subscriptions_changed()",
]
for _statement in TRIGGER_DDL:
    event.listen(Subscription.__table__, "after_create", DDL(_statement))  # type: ignore[no-untyped-call]
