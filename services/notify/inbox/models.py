"""Inbox messages, in their recipient's language."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from kit.db import utcnow
from kit.ids import uuid7
from services.notify.base import Base


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
