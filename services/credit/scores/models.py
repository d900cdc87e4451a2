"""The enterprises credit knows (announced by registry), their current score, level history."""

import uuid
from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kit.db import utcnow
from kit.ids import uuid7
from services.credit.base import Base


class CreditEnterprise(Base):
    """An enterprise registry announced, with its current score. The row is the lock that
    serialises rescoring of one enterprise (a fact, a repair, the rescoring job)."""

    __tablename__ = "scores"  # one row per enterprise: who it is, its score

    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    industry: Mapped[str | None] = mapped_column(String(40), default=None)
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)
    score: Mapped[float] = mapped_column(Float)
    level: Mapped[str] = mapped_column(String(1), index=True)
    model_version: Mapped[int]
    computed_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)


class LevelChange(Base):
    """A change of an enterprise's level, with its cause (a fact, a repair, a model, decay)."""

    __tablename__ = "level_changes"
    __table_args__ = (Index("ix_level_changes_uscc_changed_at", "uscc", "changed_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    uscc: Mapped[str] = mapped_column(ForeignKey("scores.uscc"))
    from_level: Mapped[str | None] = mapped_column(String(1))
    to_level: Mapped[str] = mapped_column(String(1))
    score: Mapped[float] = mapped_column(Float)
    model_version: Mapped[int]
    cause: Mapped[str] = mapped_column(Text)
    fact_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    job_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
