"""Campaigns (双随机抽查计划), their committed seed and recorded draw."""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSON, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from kit.db import utcnow
from kit.ids import uuid7
from services.inspection.base import Base


class Campaign(Base):
    """planned (seed committed) → drawn → closed."""

    __tablename__ = "campaigns"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    title: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(20))
    agencies: Mapped[list[str]] = mapped_column(ARRAY(String(40)))
    zones: Mapped[list[str]] = mapped_column(ARRAY(String(60)), default=list)
    industries: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)
    checklist_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("checklists.id"))
    ratios: Mapped[dict[str, float]] = mapped_column(JSONB)
    inspectors_per_task: Mapped[int]
    window_start: Mapped[date]
    window_end: Mapped[date]
    seed_sha256: Mapped[str] = mapped_column(String(64))
    seed: Mapped[str | None] = mapped_column(String(200), default=None)  # revealed at the draw
    status: Mapped[str] = mapped_column(String(10), default="planned", index=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    drawn_at: Mapped[datetime | None] = mapped_column(default=None)
    version: Mapped[int] = mapped_column(default=1)


class DrawRecord(Base):
    """Everything a draw was made from and what it gave, for anyone to replay."""

    __tablename__ = "draws"

    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    seed: Mapped[str] = mapped_column(String(200))
    snapshot_sha256: Mapped[str] = mapped_column(String(64))
    pool_sha256: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[int | None]
    # the ratio of each level and where it came from (measures | override | default), and
    # the credit model version whose measures supplied it; null for draws before #17, which
    # were drawn at the campaign's ratios
    ratios: Mapped[dict[str, float] | None] = mapped_column(JSONB, default=None)
    ratio_sources: Mapped[dict[str, str] | None] = mapped_column(JSONB, default=None)
    measures_version: Mapped[int | None] = mapped_column(default=None)
    # candidates, excluded, inspectors: stored as sent (json, not jsonb: never queried inside)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    stats: Mapped[dict[str, Any]] = mapped_column(JSONB)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    drawn_by: Mapped[str] = mapped_column(String(200))
    drawn_at: Mapped[datetime] = mapped_column(default=utcnow)
