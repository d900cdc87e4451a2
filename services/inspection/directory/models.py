"""What inspection knows of enterprises, of the member agencies and of other agencies'
recognised results."""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from kit.db import utcnow
from kit.ids import uuid7
from services.inspection.base import Base


class DirectoryEntry(Base):
    """An enterprise as registry and credit announced it: the draw's population."""

    __tablename__ = "directory"

    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    industry: Mapped[str | None] = mapped_column(String(40), index=True, default=None)
    zones: Mapped[list[str]] = mapped_column(ARRAY(String(60)), default=list)
    level: Mapped[str] = mapped_column(String(1), default="B")
    level_at: Mapped[datetime | None] = mapped_column(default=None)
    # credit's sequence of that level: an older change arriving late is ignored (by time
    # only for changes from before sequences)
    level_seq: Mapped[int | None] = mapped_column(BigInteger, default=None)
    model_version: Mapped[int | None] = mapped_column(default=None)
    unit: Mapped[str | None] = mapped_column(String(100), default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ZoneMirror(Base):
    """A zone registry announced (or a zone an admission named, for zones planned before
    zones were announced): the codes inspection's `zone` filters accept."""

    __tablename__ = "zones"

    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class MeasuresMirror(Base):
    """The joint measures (联合奖惩) of a credit model version, as credit announced them: the
    newest gives a campaign's default ratio per level at the draw."""

    __tablename__ = "credit_measures"

    model_version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    measures: Mapped[dict[str, Any]] = mapped_column(JSONB)  # level -> kit.measures.LevelEffects
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class AgencyMirror(Base):
    """A member agency as registry announced it: the codes labs may name as operator."""

    __tablename__ = "agencies"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RecognitionMirror(Base):
    """A mutual recognition as credit announced it."""

    __tablename__ = "recognitions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    recognising_agency: Mapped[str] = mapped_column(String(40), index=True)
    recognised_agency: Mapped[str] = mapped_column(String(40))
    result_kind: Mapped[str] = mapped_column(String(40))
    industries: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)
    checklist_items: Mapped[list[str]] = mapped_column(ARRAY(String(100)), default=list)
    valid_from: Mapped[date]
    valid_to: Mapped[date]
    status: Mapped[str] = mapped_column(String(10))


class ResultMirror(Base):
    """A recognisable result (a passed check, a certification, a passed lab test) credit
    recorded; `checklist_items` empty means the whole checklist."""

    __tablename__ = "results"
    __table_args__ = (Index("ix_results_uscc_occurred_at", "uscc", "occurred_at"),)

    fact_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18))
    agency: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime]
    checklist_items: Mapped[list[str]] = mapped_column(ARRAY(String(100)), default=list)


class MembershipPeriod(Base):
    """A stretch of an enterprise's membership of a zone (admitted until suspended or
    removed), dated as registry's membership events date it: zone KPIs and quarterly
    analysis count a period's members by it. `since` null: from before history was kept."""

    __tablename__ = "membership_periods"
    __table_args__ = (
        Index("ix_membership_periods_zone_since", "zone", "since"),
        Index("ix_membership_periods_uscc_zone", "uscc", "zone"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    uscc: Mapped[str] = mapped_column(String(18))
    zone: Mapped[str] = mapped_column(String(60))
    since: Mapped[datetime | None] = mapped_column(default=None)
    until: Mapped[datetime | None] = mapped_column(default=None)


class LevelHistory(Base):
    """Every credit level credit announced for an enterprise, at its event's time: the level
    as of a period's end is the last one announced before it."""

    __tablename__ = "level_history"
    __table_args__ = (Index("ix_level_history_uscc_at", "uscc", "at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    uscc: Mapped[str] = mapped_column(String(18))
    level: Mapped[str] = mapped_column(String(1))
    at: Mapped[datetime]
    sequence: Mapped[int | None] = mapped_column(BigInteger, default=None)
    model_version: Mapped[int | None] = mapped_column(default=None)


class SurveyMirror(Base):
    """An enterprise's yearly survey figures (摸底调查) as registry announced them: zone KPIs
    use them for a year without export batches."""

    __tablename__ = "surveys"

    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    annual_export_usd: Mapped[int | None] = mapped_column(BigInteger, default=None)
    foreign_notifications: Mapped[int | None] = mapped_column(default=None)
    returns: Mapped[int | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
