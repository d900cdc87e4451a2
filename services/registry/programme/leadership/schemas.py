"""Leadership group, joint meeting, action item and assessment API shapes."""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from kit.problem_text import BilingualError
from kit.validation import AgencyCode, Input, PastDate, refuse_fields
from services.registry.programme.shared import ZONE_CODE, NonBlank, NonBlankExact

# --- leadership group (县领导小组) ------------------------------------------------------


class GroupRole(StrEnum):
    """牵头单位 / 办公室 / 成员单位."""

    leader = "leader"  # 牵头单位
    office = "office"  # 领导小组办公室
    member = "member"  # 成员单位


class Position(StrEnum):
    """A representative's position in the group (组长, 副组长, 成员, 办公室主任, 副主任)."""

    head = "head"
    deputy_head = "deputy_head"
    member = "member"
    office_director = "office_director"
    office_deputy_director = "office_deputy_director"


class Representative(Input):
    """A person an agency sends to the group."""

    name: NonBlank = Field(min_length=1, max_length=100, description="姓名")
    position: Position = Field(description="组长, 副组长, 成员, 办公室主任 or 副主任")


class GroupMemberIn(Input):
    """An agency's place in the group: its role, its representatives and its duties."""

    role: GroupRole = Field(description="leader (牵头单位), office (办公室) or member (成员单位)")
    representatives: list[Representative] = Field(
        default=[], max_length=20, description="Who sits in the group for the agency"
    )
    duties: str | None = Field(
        default=None, max_length=4000, description="职责分工: the agency's part of the work"
    )


class GroupMemberEntry(GroupMemberIn):
    """A member agency, named, in a new group's roster."""

    agency_code: AgencyCode


def _one_each(members: list[GroupMemberEntry]) -> None:
    codes = [m.agency_code for m in members]
    if len(set(codes)) != len(codes):
        raise BilingualError(
            "each agency may appear once in the roster", "每个部门在名单中只能出现一次"
        )
    for role in (GroupRole.leader, GroupRole.office):
        if sum(m.role is role for m in members) > 1:
            raise BilingualError(
                f"a group has one {role.value} agency at most",
                f"领导小组最多有一个 {role.value} 部门",
            )


class GroupIn(Input):
    """A county's leadership group and, optionally, its roster."""

    code: str = Field(
        pattern=r"^[a-z][a-z0-9_-]{1,39}$",
        examples=["ninghai"],
        description="Stable code of the group, usually the county's",
    )
    county: NonBlank = Field(
        min_length=1, max_length=100, examples=["宁海县"], description="County"
    )
    name_zh: NonBlank = Field(min_length=1, max_length=200, description="Chinese name")
    name_en: NonBlank = Field(min_length=1, max_length=200, description="English name")
    basis: str | None = Field(
        default=None,
        max_length=200,
        description="The document that set it up, e.g. 宁政办发〔2017〕49号",
    )
    established_on: PastDate | None = Field(default=None, description="Date it was set up")
    members: list[GroupMemberEntry] = Field(
        default=[], max_length=100, description="The roster: one leader and one office at most"
    )

    @model_validator(mode="after")
    def _roster(self) -> GroupIn:
        _one_each(self.members)
        return self


class GroupMemberOut(BaseModel):
    """A member agency of a group."""

    model_config = ConfigDict(from_attributes=True)

    agency_code: str = Field(description="The agency (see /v1/agencies)")
    role: GroupRole = Field(description="leader, office or member")
    representatives: list[Representative] = Field(description="Its people in the group")
    duties: str | None = Field(description="职责分工")
    updated_at: datetime = Field(description="Last change of this membership")


class GroupOut(BaseModel):
    """A leadership group with its roster."""

    code: str = Field(description="Group code")
    county: str = Field(description="County")
    name_zh: str = Field(description="Chinese name")
    name_en: str = Field(description="English name")
    basis: str | None = Field(description="The founding document")
    established_on: date | None = Field(description="Date it was set up")
    leader: str | None = Field(description="The leader unit (牵头单位), an agency code")
    office: str | None = Field(description="The agency hosting the group's office (办公室)")
    members: list[GroupMemberOut] = Field(description="Every member agency, by code")
    created_at: datetime = Field(description="When it was recorded")


# --- joint meetings (联席会议) and action items (督办事项) -------------------------------

# The meeting date while a MeetingIn is validated, so each action item's deadline can be
# checked where it stands and the error names its own field.
_MEETING_DAY: ContextVar[date | None] = ContextVar("meeting_day", default=None)
_DATE: TypeAdapter[date] = TypeAdapter(date)


class ActionItemIn(Input):
    """A task a decision gives an owner agency, with a deadline on or after the meeting."""

    _server_owned = refuse_fields("status", "done_at", "done_on", "evidence")

    title: NonBlank = Field(min_length=1, max_length=500, description="What is to be done")
    owner_agency: AgencyCode = Field(description="The agency that owns the task (责任单位)")
    deadline: date = Field(description="Due date (China calendar day), not before the meeting")
    zone_code: str | None = Field(
        default=None, pattern=ZONE_CODE, description="The zone the task concerns, if one"
    )

    @field_validator("deadline")
    @classmethod
    def _not_before_meeting(cls, value: date) -> date:
        held_on = _MEETING_DAY.get()
        if held_on is not None and value < held_on:
            raise BilingualError(
                f"must not be before the meeting date (held_on {held_on})",
                f"不能早于会议日期（{held_on}）",
            )
        return value


class MeetingDecisionIn(Input):
    """A decision of the meeting (会议决定) and the action items it gives agencies."""

    text: NonBlank = Field(min_length=1, max_length=2000, description="The decision as minuted")
    action_items: list[ActionItemIn] = Field(
        default=[], max_length=50, description="Tasks that carry it out"
    )


class MeetingIn(Input):
    """A joint meeting as held: agenda, attending agencies, minutes and decisions."""

    group_code: str = Field(
        pattern=r"^[a-z][a-z0-9_-]{1,39}$", description="The leadership group that met"
    )
    title: NonBlank = Field(min_length=1, max_length=200, description="e.g. 2026年第一次联席会议")
    held_on: PastDate = Field(description="Date held (China calendar day), not in the future")
    location: str | None = Field(default=None, max_length=200, description="Where")
    agenda: list[str] = Field(
        min_length=1, max_length=50, description="Agenda items (议题), in order"
    )
    attendees: list[AgencyCode] = Field(
        min_length=1, max_length=100, description="Agencies that attended"
    )
    minutes: NonBlankExact = Field(
        min_length=1, max_length=100_000, description="The minutes (会议纪要), kept by SHA-256"
    )
    decisions: list[MeetingDecisionIn] = Field(
        default=[], max_length=50, description="Decisions, numbered from 1 in this order"
    )

    @field_validator("agenda")
    @classmethod
    def _agenda_items(cls, value: list[str]) -> list[str]:
        items = [v.strip() for v in value]
        if not all(items) or any(len(v) > 500 for v in items):
            raise BilingualError(
                "each agenda item is 1–500 characters", "每个议程条目应为 1–500 个字符"
            )
        return items

    @field_validator("attendees")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @model_validator(mode="wrap")
    @classmethod
    def _meeting_day(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        day = None
        if isinstance(data, dict):
            with contextlib.suppress(ValidationError):
                day = _DATE.validate_python(data.get("held_on"))
        token = _MEETING_DAY.set(day)
        try:
            return handler(data)
        finally:
            _MEETING_DAY.reset(token)


class ActionItemOut(BaseModel):
    """An action item; `overdue` when open past its deadline."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID = Field(description="Action item id")
    meeting_id: UUID = Field(description="The meeting that decided it")
    decision_no: int = Field(description="Number of the decision in the meeting, from 1")
    title: str = Field(description="What is to be done")
    owner_agency: str = Field(description="The agency that owns it")
    deadline: date = Field(description="Due date")
    zone_code: str | None = Field(description="The zone concerned, if one")
    status: Literal["open", "done"] = Field(description="open → done")
    overdue: bool = Field(description="Open and past its deadline (China calendar day)")
    on_time: bool | None = Field(description="Done by the deadline (null while open)")
    done_on: date | None = Field(description="Day it was done (China calendar day)")
    done_at: datetime | None = Field(description="When it was marked done")
    done_by: str | None = Field(description="Who marked it done")
    evidence: str | None = Field(description="What shows it is done")
    evidence_ref: str | None = Field(description="Document number or URL of the evidence")
    created_at: datetime = Field(description="When it was assigned")


class ActionItemDone(Input):
    """Mark an action item done: evidence is required."""

    evidence: NonBlank = Field(
        min_length=1, max_length=4000, description="What was done and how it shows"
    )
    evidence_ref: NonBlank | None = Field(
        default=None, min_length=1, max_length=500, description="Document number or URL"
    )
    done_on: PastDate | None = Field(
        default=None,
        description="The day it was done (China calendar day), when reported afterwards; "
        "today by default, never before the meeting",
    )


class MeetingOut(BaseModel):
    """A joint meeting with its decisions and their action items."""

    id: UUID = Field(description="Meeting id")
    group_code: str = Field(description="The leadership group")
    title: str = Field(description="Title")
    held_on: date = Field(description="Date held")
    location: str | None = Field(description="Where")
    agenda: list[str] = Field(description="Agenda items")
    attendees: list[str] = Field(description="Attending agencies")
    minutes: str = Field(description="Minutes")
    minutes_sha256: str = Field(description="SHA-256 of the minutes as recorded")
    decisions: list[str] = Field(description="Decisions, numbered from 1 in this order")
    action_items: list[ActionItemOut] = Field(description="Every action item of the meeting")
    recorded_by: str = Field(description="Who recorded it")
    created_at: datetime = Field(description="When it was recorded")


class MeetingSummary(BaseModel):
    """A meeting in a list."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID = Field(description="Meeting id")
    group_code: str = Field(description="The leadership group")
    title: str = Field(description="Title")
    held_on: date = Field(description="Date held")
    attendees: list[str] = Field(description="Attending agencies")
    decisions: list[str] = Field(description="Decisions")


class AgencyAssessment(BaseModel):
    """目标管理考核: one agency's action items due in a year."""

    agency_code: str = Field(description="The agency")
    name_zh: str = Field(description="Its Chinese name")
    name_en: str = Field(description="Its English name")
    year: int = Field(description="Year of the deadlines counted")
    assigned: int = Field(description="Items due that year")
    done_on_time: int = Field(description="Done by their deadline")
    done_late: int = Field(description="Done after their deadline")
    open: int = Field(description="Still open (overdue ones included)")
    overdue: int = Field(description="Open and past their deadline")
    on_time_rate: float | None = Field(
        description="done_on_time / assigned, 4 decimals (null when nothing was assigned)"
    )
