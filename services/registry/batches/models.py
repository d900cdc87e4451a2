"""Lots and their lineage in the GS1 EPCIS 2.0 spirit: lots are the objects, events are what
happened to them, links are the genealogy (inputs → outputs, children → parent)."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from kit.db import utcnow
from kit.ids import uuid7
from services.registry.base import Base


class Lot(Base):
    """A lot an enterprise owns: an export batch, a supplier lot it received, an intermediate
    lot of its own production, or a shipment that aggregates lots."""

    __tablename__ = "lots"
    __table_args__ = (
        UniqueConstraint("uscc", "number"),
        # The same supplier lot as another enterprise received it: who else is affected.
        Index("ix_lots_supplier_key_number", "supplier_key", "number"),
        Index("ix_lots_number", "number"),
        Index("ix_lots_uscc_kind_id", "uscc", "kind", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    uscc: Mapped[str] = mapped_column(ForeignKey("enterprises.uscc"))
    number: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(12))
    product: Mapped[str | None] = mapped_column(String(200), default=None)
    hs_code: Mapped[str | None] = mapped_column(String(10), default=None)
    quantity: Mapped[Decimal | None] = mapped_column(Numeric(18, 3), default=None)
    unit: Mapped[str | None] = mapped_column(String(20), default=None)
    destination: Mapped[str | None] = mapped_column(String(2), default=None)
    declaration_no: Mapped[str | None] = mapped_column(String(40), index=True, default=None)
    ship_date: Mapped[date | None] = mapped_column(default=None)
    brand: Mapped[str | None] = mapped_column(String(100), default=None)
    model: Mapped[str | None] = mapped_column(String(100), default=None)
    barcode: Mapped[str | None] = mapped_column(String(40), default=None)
    export_value_usd: Mapped[int | None] = mapped_column(BigInteger, default=None)
    supplier_uscc: Mapped[str | None] = mapped_column(String(18), default=None)
    supplier_name: Mapped[str | None] = mapped_column(String(200), default=None)
    # The supplier's USCC, or its name folded to lower case when the USCC is unknown.
    supplier_key: Mapped[str | None] = mapped_column(String(200), default=None)
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LotEvent(Base):
    """Something that happened to lots: observed (object), made from others (transformation),
    or packed into a parent (aggregation)."""

    __tablename__ = "lot_events"
    __table_args__ = (UniqueConstraint("uscc", "client_event_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    # The sender's own id (EPCIS eventID): a re-sent event is recognised, not stored twice.
    client_event_id: Mapped[str | None] = mapped_column(String(100), default=None)
    type: Mapped[str] = mapped_column(String(16))
    biz_step: Mapped[str] = mapped_column(String(30))
    disposition: Mapped[str | None] = mapped_column(String(30), default=None)
    event_time: Mapped[datetime]
    location: Mapped[str | None] = mapped_column(String(200), default=None)
    operator: Mapped[str | None] = mapped_column(String(100), default=None)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class LotEventLot(Base):
    """A lot an event involves, in its role (object, input, output, parent, child)."""

    __tablename__ = "lot_event_lots"
    __table_args__ = (Index("ix_lot_event_lots_lot_id", "lot_id"),)

    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lot_events.id"), primary_key=True)
    lot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lots.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(8), primary_key=True)
    quantity: Mapped[Decimal | None] = mapped_column(Numeric(18, 3), default=None)
    unit: Mapped[str | None] = mapped_column(String(20), default=None)


class LotLink(Base):
    """One edge of the genealogy: `source` went into `target` (an input into an output, or a
    child into its parent shipment)."""

    __tablename__ = "lot_links"
    __table_args__ = (Index("ix_lot_links_target_id", "target_id"),)

    source_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lots.id"), primary_key=True)
    target_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lots.id"), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lot_events.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[Decimal | None] = mapped_column(Numeric(18, 3), default=None)
