"""Scoring model versions and the rescoring jobs a new version starts."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from kit.db import utcnow
from kit.ids import uuid7
from services.credit.base import Base


class ModelVersion(Base):
    """An immutable scoring model; the highest version is in force."""

    __tablename__ = "model_versions"

    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    body: Mapped[dict[str, Any]] = mapped_column(JSONB)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # when credit.model.published announced its measures (联合奖惩) to registry and
    # inspection; null until then (version 1, versions stored before #17): announced at start
    measures_announced_at: Mapped[datetime | None] = mapped_column(default=None)


class RescoreJob(Base):
    """Rescoring every enterprise: after a new model, for time decay, or on request.

    Chunks commit their scores and `last_uscc` together, so a job resumes where it stopped.
    """

    __tablename__ = "rescore_jobs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    model_version: Mapped[int]
    reason: Mapped[str] = mapped_column(String(20))  # model | decay | manual
    status: Mapped[str] = mapped_column(String(20), index=True, default="queued")
    total: Mapped[int] = mapped_column(default=0)
    processed: Mapped[int] = mapped_column(default=0)
    level_changes: Mapped[int] = mapped_column(default=0)
    last_uscc: Mapped[str] = mapped_column(String(18), default="")
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
