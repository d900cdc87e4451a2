"""Corrective and preventive actions (检查、纠正与预防措施)."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from kit.db import utcnow
from kit.ids import uuid7
from services.inspection.base import Base


class Capa(Base):
    """open → responded → closed (verified effective); a rejected verification reopens it."""

    __tablename__ = "capas"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id"), unique=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)
    findings: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(index=True)
    root_cause: Mapped[str | None] = mapped_column(Text, default=None)
    actions: Mapped[str | None] = mapped_column(Text, default=None)
    # The response's attachments, [{sha256, name}], each uploaded to /v1/evidence first.
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, server_default=text("'[]'::jsonb"), default=list
    )
    responded_at: Mapped[datetime | None] = mapped_column(default=None)
    verified_by: Mapped[str | None] = mapped_column(String(200), default=None)
    verification_note: Mapped[str | None] = mapped_column(Text, default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    overdue_notified_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1)
