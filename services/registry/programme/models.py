"""Programme records: leadership group, joint meetings, action items, responsibilities,
alliance standards, trainings, award rounds, and the open alerts inspection announced."""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from kit.db import utcnow
from kit.ids import uuid7
from services.registry.base import Base


class LeadershipGroup(Base):
    """县领导小组: a county's zone leadership group (附件1), with its office (办公室)."""

    __tablename__ = "leadership_groups"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    county: Mapped[str] = mapped_column(String(100))
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    basis: Mapped[str | None] = mapped_column(String(200), default=None)
    established_on: Mapped[date | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GroupMember(Base):
    """成员单位: an agency in a group, as the leader unit, the office, or a member."""

    __tablename__ = "leadership_group_members"
    __table_args__ = (
        # one leader unit (牵头单位) and one office (办公室) per group
        Index(
            "uq_leadership_group_members_one_leader",
            "group_code",
            unique=True,
            postgresql_where=text("role = 'leader'"),
        ),
        Index(
            "uq_leadership_group_members_one_office",
            "group_code",
            unique=True,
            postgresql_where=text("role = 'office'"),
        ),
    )

    group_code: Mapped[str] = mapped_column(ForeignKey("leadership_groups.code"), primary_key=True)
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"), primary_key=True)
    role: Mapped[str] = mapped_column(String(10))
    representatives: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    duties: Mapped[str | None] = mapped_column(Text, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Meeting(Base):
    """联席会议: a joint meeting, its agenda, attending agencies, minutes and decisions."""

    __tablename__ = "meetings"
    __table_args__ = (
        Index("ix_meetings_group_code_held_on_id", "group_code", "held_on", "id"),
        # the list without a group (since/until only) pages by date
        Index("ix_meetings_held_on_id", "held_on", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    group_code: Mapped[str] = mapped_column(ForeignKey("leadership_groups.code"))
    title: Mapped[str] = mapped_column(String(200))
    held_on: Mapped[date]
    location: Mapped[str | None] = mapped_column(String(200), default=None)
    agenda: Mapped[list[str]] = mapped_column(JSONB, default=list)
    attendees: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)
    minutes: Mapped[str] = mapped_column(Text)
    minutes_sha256: Mapped[str] = mapped_column(String(64))
    decisions: Mapped[list[str]] = mapped_column(JSONB, default=list)
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ActionItem(Base):
    """督办事项: a decision's task for an owner agency, due by a deadline; open → done. An open
    one past its deadline is overdue, announced once (`overdue_notified_at`)."""

    __tablename__ = "action_items"
    __table_args__ = (
        Index("ix_action_items_owner_agency_deadline", "owner_agency", "deadline"),
        Index("ix_action_items_status_deadline", "status", "deadline"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meetings.id"), index=True)
    decision_no: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)  # order in the meeting, from 1
    title: Mapped[str] = mapped_column(String(500))
    owner_agency: Mapped[str] = mapped_column(ForeignKey("agencies.code"))
    deadline: Mapped[date]
    zone_code: Mapped[str | None] = mapped_column(ForeignKey("zones.code"), default=None)
    status: Mapped[str] = mapped_column(String(10), default="open")
    done_at: Mapped[datetime | None] = mapped_column(default=None)
    done_on: Mapped[date | None] = mapped_column(default=None)  # China calendar day
    evidence: Mapped[str | None] = mapped_column(Text, default=None)
    evidence_ref: Mapped[str | None] = mapped_column(String(500), default=None)
    done_by: Mapped[str | None] = mapped_column(String(200), default=None)
    overdue_notified_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


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
    responsible_person: Mapped[str | None] = mapped_column(String(100), default=None)
    recorded_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


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


class Training(Base):
    """培训: a session on law, business ethics or quality integrity, by an organiser agency."""

    __tablename__ = "trainings"
    __table_args__ = (
        Index("ix_trainings_held_on_id", "held_on", "id"),
        Index("ix_trainings_organiser_agency_held_on_id", "organiser_agency", "held_on", "id"),
        Index("ix_trainings_zone_code", "zone_code"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    title: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(30))
    held_on: Mapped[date]
    organiser_agency: Mapped[str] = mapped_column(ForeignKey("agencies.code"))
    zone_code: Mapped[str | None] = mapped_column(ForeignKey("zones.code"), default=None)
    location: Mapped[str | None] = mapped_column(String(200), default=None)
    hours: Mapped[int | None] = mapped_column(Integer, default=None)
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TrainingAttendance(Base):
    """An enterprise attended a training (a credit fact downstream)."""

    __tablename__ = "training_attendances"

    training_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("trainings.id"), primary_key=True)
    uscc: Mapped[str] = mapped_column(ForeignKey("enterprises.uscc"), primary_key=True, index=True)
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


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
