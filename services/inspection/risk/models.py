"""Risk signals, the alerts they raise, and the export batches they are matched against."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Index, Numeric, String, Text, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from kit.db import utcnow
from kit.ids import uuid7
from services.inspection.base import Base


class BatchMirror(Base):
    """An export batch as registry announced it (`registry.batch.recorded`)."""

    __tablename__ = "batches"
    __table_args__ = (
        Index("ix_batches_number", "number"),
        Index("ix_batches_declaration_no", "declaration_no"),
        Index("ix_batches_barcode", "barcode"),
        Index("ix_batches_brand_ship_date", func.lower(text("brand")), text("ship_date")),
        Index("ix_batches_model_ship_date", func.lower(text("model")), text("ship_date")),
        Index("ix_batches_uscc_ship_date", "uscc", "ship_date"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18))
    number: Mapped[str] = mapped_column(String(64))
    product: Mapped[str | None] = mapped_column(String(200), default=None)
    hs_code: Mapped[str | None] = mapped_column(String(10), default=None)
    brand: Mapped[str | None] = mapped_column(String(100), default=None)
    model: Mapped[str | None] = mapped_column(String(100), default=None)
    barcode: Mapped[str | None] = mapped_column(String(40), default=None)
    destination: Mapped[str | None] = mapped_column(String(2), default=None)
    declaration_no: Mapped[str | None] = mapped_column(String(40), default=None)
    ship_date: Mapped[date | None] = mapped_column(default=None)
    export_value_usd: Mapped[int | None] = mapped_column(BigInteger, default=None)


class Signal(Base):
    """A foreign notification, return, recall or complaint, and what it was matched to."""

    __tablename__ = "risk_signals"
    __table_args__ = (
        UniqueConstraint("source_agency", "reference"),
        Index("ix_risk_signals_status_id", "status", "id"),
        Index("ix_risk_signals_uscc", "uscc"),
        # the waiting signals a newly recorded batch may match
        Index(
            "ix_risk_signals_waiting_batch_number",
            text("(facts ->> 'batch_number')"),
            postgresql_where=text("status = 'unmatched'"),
        ),
        Index(
            "ix_risk_signals_waiting_declaration_no",
            text("(facts ->> 'declaration_no')"),
            postgresql_where=text("status = 'unmatched'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    kind: Mapped[str] = mapped_column(String(24))
    source_agency: Mapped[str] = mapped_column(String(40))
    reference: Mapped[str | None] = mapped_column(String(100), default=None)
    notified_at: Mapped[datetime]
    # What the signal says (EU Safety Gate fields; the return's declaration and reason).
    facts: Mapped[dict[str, Any]] = mapped_column(JSONB)
    severity: Mapped[str] = mapped_column(String(10))
    # unmatched → matched (by rule or by a person) | dismissed
    status: Mapped[str] = mapped_column(String(10))
    uscc: Mapped[str | None] = mapped_column(String(18), default=None)
    batch_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    match_method: Mapped[str | None] = mapped_column(String(20), default=None)
    match_confidence: Mapped[Decimal | None] = mapped_column(Numeric(4, 3), default=None)
    candidates: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    alert_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    recorded_by: Mapped[str] = mapped_column(String(200))
    linked_by: Mapped[str | None] = mapped_column(String(200), default=None)
    # Why it was dismissed.
    note: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1)


class Alert(Base):
    """open → investigating → closed (with a conclusion); the trace arrives from registry."""

    __tablename__ = "risk_alerts"
    __table_args__ = (Index("ix_risk_alerts_uscc_status", "uscc", "status"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    signal_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    kind: Mapped[str] = mapped_column(String(24))
    uscc: Mapped[str] = mapped_column(String(18))
    batch_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    batch_number: Mapped[str | None] = mapped_column(String(64), default=None)
    severity: Mapped[str] = mapped_column(String(10), index=True)
    agency: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(14), default="open", index=True)
    summary: Mapped[str] = mapped_column(Text)
    task_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    # Registry's trace of the batch: steps, failing steps, supplier lots (null until it comes).
    trace: Mapped[dict[str, Any] | None] = mapped_column(JSONB, default=None)
    traced_at: Mapped[datetime | None] = mapped_column(default=None)
    # Other enterprises that received the same supplier lots (possibly affected).
    affected: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    conclusion: Mapped[str | None] = mapped_column(Text, default=None)
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_by: Mapped[str | None] = mapped_column(String(200), default=None)
    version: Mapped[int] = mapped_column(default=1)
