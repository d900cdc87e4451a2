"""Recorded responsibilities: who answers for what, per zone or county-wide."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kit.crypto import EncryptedString
from kit.db import utcnow
from kit.ids import uuid7
from services.registry.base import Base
from services.registry.keys import pii


class Responsibility(Base):
    """质量安全责任: 地方政府负总责 (overall), 监管部门各负其责 (supervisory, per topic),
    企业第一责任人 (primary) — per zone, or county-wide when the zone is null."""

    __tablename__ = "responsibilities"
    __table_args__ = (
        UniqueConstraint(
            "zone_code",
            "tier",
            "topic",
            "agency_code",
            "uscc",
            name="uq_responsibilities_party",
            postgresql_nulls_not_distinct=True,
        ),
        Index("ix_responsibilities_topic_tier", "topic", "tier"),
        Index("ix_responsibilities_agency_code", "agency_code"),
        Index("ix_responsibilities_uscc", "uscc"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    zone_code: Mapped[str | None] = mapped_column(ForeignKey("zones.code"), default=None)
    tier: Mapped[str] = mapped_column(String(12))
    topic: Mapped[str] = mapped_column(String(40))
    agency_code: Mapped[str | None] = mapped_column(ForeignKey("agencies.code"), default=None)
    uscc: Mapped[str | None] = mapped_column(ForeignKey("enterprises.uscc"), default=None)
    duty: Mapped[str] = mapped_column(Text)
    # 个人信息 in the primary tier (a person at the enterprise): encrypted for every tier
    responsible_person: Mapped[str | None] = mapped_column(
        EncryptedString(pii, "registry.responsibilities.responsible_person"), default=None
    )
    recorded_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
