"""The inspector pool (执法检查人员名录库) and declared conflicts."""

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from kit.db import utcnow
from kit.ids import uuid7
from services.inspection.base import Base


class Inspector(Base):
    """An enforcement officer who can be drawn."""

    __tablename__ = "inspectors"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    agency: Mapped[str] = mapped_column(String(40), index=True)
    badge_number: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str | None] = mapped_column(String(100), default=None)
    specialties: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)
    active: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Conflict(Base):
    """An enterprise an inspector may not inspect (回避), with reason and period."""

    __tablename__ = "inspector_conflicts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    inspector_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inspectors.id"), index=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    reason: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[date]
    valid_to: Mapped[date | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
