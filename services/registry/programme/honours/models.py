"""Award rounds, nominations, and the open alerts inspection announced."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from kit.db import utcnow
from kit.ids import uuid7
from services.registry.base import Base


class AwardRound(Base):
    """推优评优: an award round and its criteria: the credit levels allowed; an open serious
    alert always blocks (联合惩戒)."""

    __tablename__ = "award_rounds"
    __table_args__ = (
        Index("ix_award_rounds_year", "year"),
        Index("ix_award_rounds_zone_code", "zone_code"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    title: Mapped[str] = mapped_column(String(200))
    year: Mapped[int] = mapped_column(Integer)
    zone_code: Mapped[str | None] = mapped_column(ForeignKey("zones.code"), default=None)
    industry: Mapped[str | None] = mapped_column(String(30), default=None)
    allowed_levels: Mapped[list[str]] = mapped_column(ARRAY(String(1)))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    opened_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AwardNomination(Base):
    """An enterprise nominated in a round; granted once the office awards it."""

    __tablename__ = "award_nominations"

    round_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("award_rounds.id"), primary_key=True)
    uscc: Mapped[str] = mapped_column(ForeignKey("enterprises.uscc"), primary_key=True)
    status: Mapped[str] = mapped_column(String(10), default="nominated")
    citation: Mapped[str | None] = mapped_column(Text, default=None)
    nominated_by: Mapped[str] = mapped_column(String(200))
    nominated_at: Mapped[datetime] = mapped_column(default=utcnow)
    granted_by: Mapped[str | None] = mapped_column(String(200), default=None)
    granted_at: Mapped[datetime | None] = mapped_column(default=None)


class AlertMirror(Base):
    """Risk alerts as inspection announced them (raised, closed): the joint-punishment rule
    (联合惩戒) keeps an enterprise with an open serious alert out of honours."""

    __tablename__ = "alert_mirror"
    __table_args__ = (
        Index(
            "ix_alert_mirror_open_uscc",
            "uscc",
            postgresql_where=text("closed_at IS NULL"),
        ),
    )

    alert_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18))
    severity: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str | None] = mapped_column(String(24), default=None)
    agency: Mapped[str | None] = mapped_column(String(40), default=None)
    raised_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
