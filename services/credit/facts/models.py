"""Credit facts (信用信息): what an agency found, granted or punished, about an enterprise."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from kit.db import utcnow
from kit.ids import uuid7
from services.credit.base import Base


class Fact(Base):
    """One fact. Idempotent on the event it came from, or on the submitting agency's key."""

    __tablename__ = "facts"
    __table_args__ = (
        UniqueConstraint("source_agency", "client_key"),
        Index("ix_facts_uscc_occurred_at", "uscc", "occurred_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    uscc: Mapped[str] = mapped_column(ForeignKey("scores.uscc"))
    kind: Mapped[str] = mapped_column(String(40), index=True)
    severity: Mapped[str] = mapped_column(String(10))
    source_agency: Mapped[str] = mapped_column(String(40), index=True)
    occurred_at: Mapped[datetime]
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)  # by an approved repair
    amount: Mapped[float | None] = mapped_column(Numeric(16, 2, asdecimal=False), default=None)
    evidence_ref: Mapped[str | None] = mapped_column(String(500), default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    source_event_id: Mapped[uuid.UUID | None] = mapped_column(unique=True, default=None)
    client_key: Mapped[str | None] = mapped_column(String(100), default=None)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
