"""Zones (示范区), their stage tasks and transition history."""

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kit.db import TimestampMixin, utcnow
from kit.ids import uuid7
from services.registry.base import Base


class Zone(TimestampMixin, Base):
    """示范区: an industry's demonstration zone at a level, moving through its lifecycle."""

    __tablename__ = "zones"

    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    industry: Mapped[str] = mapped_column(String(30), index=True)
    level: Mapped[str] = mapped_column(String(20), index=True)
    stage: Mapped[str] = mapped_column(String(20), default="planned", index=True)
    phase: Mapped[int | None] = mapped_column(Integer, default=None)
    plan_start: Mapped[date | None] = mapped_column(default=None)
    plan_end: Mapped[date | None] = mapped_column(default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    # when `registry.zone.overdue` was announced (past plan_end, not accepted; once per zone)
    overdue_notified_at: Mapped[datetime | None] = mapped_column(default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)

    tasks: Mapped[list["ZoneTask"]] = relationship(
        order_by="ZoneTask.position", lazy="selectin", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class ZoneTask(Base):
    """A stage's task from the work plan (实施步骤及任务) and whether it is done."""

    __tablename__ = "zone_tasks"
    __table_args__ = (UniqueConstraint("zone_code", "task_code"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    zone_code: Mapped[str] = mapped_column(ForeignKey("zones.code", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(20))
    task_code: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer)
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    done_at: Mapped[datetime | None] = mapped_column(default=None)
    done_by: Mapped[str | None] = mapped_column(String(200), default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)


class ZoneTransition(Base):
    """Who moved a zone from one stage to another, when and why."""

    __tablename__ = "zone_transitions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    zone_code: Mapped[str] = mapped_column(ForeignKey("zones.code", ondelete="CASCADE"), index=True)
    from_stage: Mapped[str] = mapped_column(String(20))
    to_stage: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    actor: Mapped[str] = mapped_column(String(200))
    agency: Mapped[str | None] = mapped_column(String(40), default=None)
    open_tasks: Mapped[list[str]] = mapped_column(JSONB, default=list)
    at: Mapped[datetime] = mapped_column(default=utcnow)
