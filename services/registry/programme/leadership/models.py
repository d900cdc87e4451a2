"""Leadership group, its members, joint meetings and their action items."""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
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
