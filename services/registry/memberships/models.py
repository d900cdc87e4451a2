"""Zone membership (准入/退出) and integrity commitments (质量诚信承诺书)."""

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from kit.crypto import EncryptedString
from kit.db import utcnow
from kit.ids import uuid7
from services.registry.base import Base
from services.registry.keys import pii

OPEN_STATUSES = ("applied", "assessing", "admitted", "suspended")


class Membership(Base):
    """An enterprise's membership of a zone, from application to admission or removal."""

    __tablename__ = "memberships"
    __table_args__ = (
        # At most one open membership per enterprise and zone.
        Index(
            "uq_memberships_open",
            "zone_code",
            "uscc",
            unique=True,
            postgresql_where=text("status IN ('applied','assessing','admitted','suspended')"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    zone_code: Mapped[str] = mapped_column(ForeignKey("zones.code"), index=True)
    uscc: Mapped[str] = mapped_column(ForeignKey("enterprises.uscc"), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    applied_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    review_requested_at: Mapped[datetime | None] = mapped_column(default=None)
    review_reason: Mapped[str | None] = mapped_column(Text, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MembershipDecision(Base):
    """One step in a membership's history: who moved it, from what to what, why."""

    __tablename__ = "membership_decisions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    membership_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("memberships.id", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)


COMMITMENT_IN_FORCE = ("signed", "countersigned")


class Commitment(Base):
    """质量诚信承诺书: signed per enterprise per zone; a breach is a credit fact.

    At most one version is in force per enterprise and zone (`signed`, awaiting the zone
    office's countersignature, or `countersigned`); signing again supersedes it and keeps it
    as history. Only a countersigned commitment counts for credit."""

    __tablename__ = "commitments"
    __table_args__ = (
        Index(
            "uq_commitments_in_force",
            "zone_code",
            "uscc",
            unique=True,
            postgresql_where=text("status IN ('signed','countersigned')"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    zone_code: Mapped[str] = mapped_column(ForeignKey("zones.code"), index=True)
    uscc: Mapped[str] = mapped_column(ForeignKey("enterprises.uscc"), index=True)
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    supersedes_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("commitments.id"), default=None
    )
    signatory: Mapped[str] = mapped_column(  # 个人信息: the person who signed, encrypted
        EncryptedString(pii, "registry.commitments.signatory")
    )
    signed_on: Mapped[date]
    text_version: Mapped[str] = mapped_column(String(40))
    text_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="signed")
    countersigned_at: Mapped[datetime | None] = mapped_column(default=None)
    countersigned_by: Mapped[str | None] = mapped_column(String(200), default=None)
    countersigning_agency: Mapped[str | None] = mapped_column(String(40), default=None)
    superseded_at: Mapped[datetime | None] = mapped_column(default=None)
    breached_at: Mapped[datetime | None] = mapped_column(default=None)
    breach_reason: Mapped[str | None] = mapped_column(Text, default=None)
    breach_severity: Mapped[str | None] = mapped_column(String(10), default=None)
    breach_evidence: Mapped[str | None] = mapped_column(Text, default=None)
    breached_by: Mapped[str | None] = mapped_column(String(200), default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    end_reason: Mapped[str | None] = mapped_column(Text, default=None)
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
