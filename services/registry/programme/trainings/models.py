"""Training sessions and their attendance."""

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kit.db import utcnow
from kit.ids import uuid7
from services.registry.base import Base


class Training(Base):
    """培训: a session on law, business ethics or quality integrity, by an organiser agency."""

    __tablename__ = "trainings"
    __table_args__ = (
        Index("ix_trainings_held_on_id", "held_on", "id"),
        Index("ix_trainings_organiser_agency_held_on_id", "organiser_agency", "held_on", "id"),
        Index("ix_trainings_zone_code", "zone_code"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    title: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(30))
    held_on: Mapped[date]
    organiser_agency: Mapped[str] = mapped_column(ForeignKey("agencies.code"))
    zone_code: Mapped[str | None] = mapped_column(ForeignKey("zones.code"), default=None)
    location: Mapped[str | None] = mapped_column(String(200), default=None)
    hours: Mapped[int | None] = mapped_column(Integer, default=None)
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TrainingAttendance(Base):
    """An enterprise attended a training (a credit fact downstream)."""

    __tablename__ = "training_attendances"

    training_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("trainings.id"), primary_key=True)
    uscc: Mapped[str] = mapped_column(ForeignKey("enterprises.uscc"), primary_key=True, index=True)
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
