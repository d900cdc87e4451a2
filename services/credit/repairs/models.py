"""Credit repair (信用修复): an enterprise asks to end an adverse fact's effect after rectifying."""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from kit.db import utcnow
from kit.ids import uuid7
from services.credit.base import Base


class Repair(Base):
    """pending → approved | rejected, decided by the fact's source agency."""

    __tablename__ = "repairs"
    __table_args__ = (
        Index(
            "uq_repairs_pending_fact",
            "fact_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    fact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("facts.id"), index=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    source_agency: Mapped[str] = mapped_column(String(40), index=True)
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    reason: Mapped[str] = mapped_column(Text)
    evidence_ref: Mapped[str | None] = mapped_column(String(500), default=None)
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(200), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    decision_note: Mapped[str | None] = mapped_column(Text, default=None)
    effective_from: Mapped[datetime | None] = mapped_column(default=None)
    # the waiting period (model data) as it stood when asked: the first day it may be decided
    earliest_repair_date: Mapped[date | None] = mapped_column(default=None)
    model_version: Mapped[int | None] = mapped_column(default=None)
    # why it was decided so: [{code, detail}], the rules checked and the agency's note
    decision_reasons: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB, default=None)
