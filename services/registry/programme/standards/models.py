"""Alliance standards, their adoptions and same-line declarations."""

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kit.db import utcnow
from kit.ids import uuid7
from services.registry.base import Base


class Standard(Base):
    """产业联盟质量标准: an alliance standard for a zone or an industry; its text by SHA-256."""

    __tablename__ = "alliance_standards"
    __table_args__ = (
        UniqueConstraint("code", "version"),
        Index("ix_alliance_standards_zone_code", "zone_code"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    code: Mapped[str] = mapped_column(String(60))
    version: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    alliance: Mapped[str | None] = mapped_column(String(200), default=None)
    zone_code: Mapped[str | None] = mapped_column(ForeignKey("zones.code"), default=None)
    industry: Mapped[str | None] = mapped_column(String(30), default=None, index=True)
    effective_on: Mapped[date]
    text_sha256: Mapped[str] = mapped_column(String(64))
    published_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StandardAdoption(Base):
    """An enterprise produces to an alliance standard (标准领跑)."""

    __tablename__ = "standard_adoptions"

    standard_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("alliance_standards.id"), primary_key=True
    )
    uscc: Mapped[str] = mapped_column(ForeignKey("enterprises.uscc"), primary_key=True, index=True)
    adopted_on: Mapped[date]
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SameLineDeclaration(Base):
    """同线同质同标: a product made on the same line, to the same standard and quality, for
    export and the domestic market."""

    __tablename__ = "same_line_declarations"
    __table_args__ = (UniqueConstraint("standard_id", "uscc", "product"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    standard_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alliance_standards.id"))
    uscc: Mapped[str] = mapped_column(ForeignKey("enterprises.uscc"), index=True)
    product: Mapped[str] = mapped_column(String(200))
    hs_code: Mapped[str | None] = mapped_column(String(10), default=None)
    declared_on: Mapped[date]
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
