"""Acceptance (考核验收, 指导意见 四(四)): the leadership group's application and the
accepting authority's decision."""

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from kit.db import utcnow
from kit.ids import uuid7
from services.registry.base import Base


class AcceptanceApplication(Base):
    """验收申请: filed by the leadership group's office for a zone in `assessing`; `filed`
    until the authority decides (`accepted` or `returned`)."""

    __tablename__ = "acceptance_applications"
    __table_args__ = (
        # At most one application awaiting a decision per zone.
        Index(
            "uq_acceptance_applications_filed",
            "zone_code",
            unique=True,
            postgresql_where=text("status = 'filed'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    zone_code: Mapped[str] = mapped_column(ForeignKey("zones.code"), index=True)
    authority: Mapped[str] = mapped_column(String(40))
    filed_on: Mapped[date]
    self_assessment: Mapped[str] = mapped_column(Text)
    dossier_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="filed")
    filed_by: Mapped[str] = mapped_column(String(200))
    filed_agency: Mapped[str | None] = mapped_column(String(40), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AcceptanceDecision(Base):
    """验收结论: the accepting authority's decision on an application, with its document
    number (文号), date, inspection team and findings; who recorded it, and whether an admin
    recorded it for the authority."""

    __tablename__ = "acceptance_decisions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("acceptance_applications.id"), unique=True
    )
    zone_code: Mapped[str] = mapped_column(ForeignKey("zones.code"), index=True)
    authority: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(20))  # accepted | returned
    document_number: Mapped[str] = mapped_column(String(100))
    decided_on: Mapped[date]
    inspection_team: Mapped[list[str]] = mapped_column(JSONB)
    findings: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_agency: Mapped[str | None] = mapped_column(String(40), default=None)
    on_behalf: Mapped[bool] = mapped_column(default=False)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
