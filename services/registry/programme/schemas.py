"""Programme API shapes: leadership group, meetings and action items, assessments,
responsibilities, alliance standards, trainings and honours."""

from __future__ import annotations

import contextlib
import hashlib
from contextvars import ContextVar
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from kit.uscc import Uscc
from kit.validation import AgencyCode, HsCode, Input, PastDate, refuse_fields
from services.registry.domain import Industry

ZONE_CODE = r"^[a-z0-9][a-z0-9_-]{1,59}$"
TOPIC = r"^[a-z][a-z0-9_]{1,39}$"
SHA256 = r"^[0-9a-f]{64}$"


def _stripped(value: str) -> str:
    stripped = value.strip()
    if not stripped:
        raise ValueError("must not be blank")
    return stripped


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


# The schema says "has a non-space character", so generated clients and fuzzers know.
_HAS_TEXT = Field(json_schema_extra={"pattern": r"\S"})
# Text a person wrote (a title, a duty, evidence): kept without surrounding whitespace; blank
# (only whitespace) is refused, as agenda items are.
NonBlank = Annotated[str, AfterValidator(_stripped), _HAS_TEXT]
# Text kept with its SHA-256 (minutes, a standard's text): blank is refused, the rest is
# kept exactly as sent so the caller's own hash of it matches.
NonBlankExact = Annotated[str, AfterValidator(_not_blank), _HAS_TEXT]

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
        raise ValueError("each agency may appear once in the roster")
    for role in (GroupRole.leader, GroupRole.office):
        if sum(m.role is role for m in members) > 1:
            raise ValueError(f"a group has one {role.value} agency at most")


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
            raise ValueError(f"must not be before the meeting date (held_on {held_on})")
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
            raise ValueError("each agenda item is 1–500 characters")
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


# --- responsibility system (质量安全责任体系) -------------------------------------------


class Tier(StrEnum):
    """地方政府负总责 / 监管部门各负其责 / 企业第一责任人."""

    overall = "overall"
    supervisory = "supervisory"
    primary = "primary"


class ResponsibilityIn(Input):
    """Who answers for what: the county government overall, an agency for a topic, an
    enterprise as first responsible. Recording the same party for the same zone, tier and
    topic again replaces its duty."""

    zone_code: str | None = Field(
        default=None, pattern=ZONE_CODE, description="The zone; null for county-wide"
    )
    tier: Tier = Field(description="overall, supervisory or primary")
    topic: str = Field(
        default="all",
        pattern=TOPIC,
        examples=["export_inspection", "spot_checks", "traceability", "all"],
        description="What it covers; `all` for everything (the overall and primary tiers)",
    )
    agency_code: AgencyCode | None = Field(
        default=None, description="The agency (overall and supervisory tiers)"
    )
    uscc: Uscc | None = Field(default=None, description="The enterprise (primary tier)")
    duty: NonBlank = Field(min_length=1, max_length=4000, description="The duty, as worded")
    responsible_person: NonBlank | None = Field(
        default=None, min_length=1, max_length=100, description="The person answering for it"
    )

    @model_validator(mode="after")
    def _party(self) -> ResponsibilityIn:
        if self.tier is Tier.primary:
            if self.uscc is None or self.agency_code is not None:
                raise ValueError("the primary tier names an enterprise (uscc), not an agency")
            if self.zone_code is None:
                raise ValueError("an enterprise is first responsible within a zone (zone_code)")
        elif self.agency_code is None or self.uscc is not None:
            raise ValueError(f"the {self.tier.value} tier names an agency (agency_code)")
        return self


class ResponsibilityOut(BaseModel):
    """A recorded responsibility."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID = Field(description="Responsibility id")
    zone_code: str | None = Field(description="The zone; null for county-wide")
    tier: Tier = Field(description="overall, supervisory or primary")
    topic: str = Field(description="What it covers")
    agency_code: str | None = Field(description="The agency")
    uscc: str | None = Field(description="The enterprise")
    duty: str = Field(description="The duty")
    responsible_person: str | None = Field(description="Who answers for it")
    recorded_by: str = Field(description="Who recorded it")
    updated_at: datetime = Field(description="Last change")


class RoutedParty(BaseModel):
    """A party on a problem's route, and where the answer came from."""

    tier: Tier = Field(description="overall, supervisory or primary")
    agency_code: str | None = Field(description="The agency")
    uscc: str | None = Field(description="The enterprise")
    duty: str = Field(description="The duty")
    responsible_person: str | None = Field(description="Who answers for it")
    source: Literal["zone", "county", "rule"] = Field(
        description="zone: recorded for the zone; county: recorded county-wide; rule: the "
        "guidance's rule that each enterprise is first responsible for its products"
    )


class RouteOut(BaseModel):
    """Where a problem goes: its owner, and the whole chain of responsibility."""

    zone_code: str = Field(description="The zone")
    topic: str = Field(description="The problem's topic")
    owner: RoutedParty = Field(
        description="Who the problem is routed to: the supervising agency for the topic, "
        "else the party with overall responsibility"
    )
    first_responsible: RoutedParty | None = Field(
        description="The enterprise, when the problem names one (企业第一责任人)"
    )
    chain: list[RoutedParty] = Field(description="primary, supervisory, overall, in that order")


# --- alliance standards (产业联盟质量标准) ------------------------------------------------


class StandardIn(Input):
    """An alliance standard for a zone or an industry; send its text or its SHA-256."""

    _server_owned = refuse_fields("published_by", "adopters")

    code: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9/ .\-]{1,59}$",
        examples=["T/NHWJ 001-2018"],
        description="Standard number (团体标准编号)",
    )
    version: NonBlank = Field(min_length=1, max_length=20, examples=["2018"], description="Version")
    title: NonBlank = Field(min_length=1, max_length=300, description="Title")
    alliance: str | None = Field(
        default=None, max_length=200, description="The industry alliance or association"
    )
    zone_code: str | None = Field(default=None, pattern=ZONE_CODE, description="The zone")
    industry: Industry | None = Field(default=None, description="The industry")
    effective_on: date = Field(description="Date it takes effect")
    text: NonBlankExact | None = Field(
        default=None, min_length=1, max_length=1_000_000, description="The text; kept by hash"
    )
    text_sha256: str | None = Field(
        default=None, pattern=SHA256, description="SHA-256 of the text (lower-case hex)"
    )

    @model_validator(mode="after")
    def _scope_and_text(self) -> StandardIn:
        if self.zone_code is None and self.industry is None:
            raise ValueError("a standard applies to a zone (zone_code) or an industry")
        if (self.text is None) == (self.text_sha256 is None):
            raise ValueError("send the text or its text_sha256, one of them")
        return self

    def digest(self) -> str:
        """The text's SHA-256."""
        if self.text is not None:
            return hashlib.sha256(self.text.encode("utf-8")).hexdigest()
        assert self.text_sha256 is not None
        return self.text_sha256


class StandardOut(BaseModel):
    """An alliance standard and how many enterprises adopted it."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID = Field(description="Standard id")
    code: str = Field(description="Standard number")
    version: str = Field(description="Version")
    title: str = Field(description="Title")
    alliance: str | None = Field(description="The alliance")
    zone_code: str | None = Field(description="The zone")
    industry: str | None = Field(description="The industry")
    effective_on: date = Field(description="Date it takes effect")
    text_sha256: str = Field(description="SHA-256 of the text")
    adopters: int = Field(default=0, description="Enterprises that adopted it")
    published_by: str = Field(description="Who recorded it")
    created_at: datetime = Field(description="When it was recorded")


class AdoptionIn(Input):
    """An enterprise adopts a standard (an enterprise token adopts for itself)."""

    uscc: Uscc
    adopted_on: PastDate | None = Field(default=None, description="Defaults to today")


class AdoptionOut(BaseModel):
    """An adoption."""

    model_config = ConfigDict(from_attributes=True)

    standard_id: UUID = Field(description="The standard")
    uscc: str = Field(description="The enterprise")
    adopted_on: date = Field(description="Date adopted")
    recorded_by: str = Field(description="Who recorded it")
    created_at: datetime = Field(description="When it was recorded")


class DeclarationIn(Input):
    """同线同质同标: a product made on one line, to this standard, for export and at home."""

    uscc: Uscc
    product: NonBlank = Field(min_length=1, max_length=200, description="The product")
    hs_code: HsCode | None = Field(default=None, description="Its HS code")
    declared_on: PastDate | None = Field(default=None, description="Defaults to today")


class DeclarationOut(BaseModel):
    """A same-line, same-standard, same-quality declaration."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID = Field(description="Declaration id")
    standard_id: UUID = Field(description="The standard")
    uscc: str = Field(description="The enterprise")
    product: str = Field(description="The product")
    hs_code: str | None = Field(description="Its HS code")
    declared_on: date = Field(description="Date declared")
    recorded_by: str = Field(description="Who recorded it")
    created_at: datetime = Field(description="When it was recorded")


class ZoneAdoption(BaseModel):
    """标准领跑 per zone: how many admitted members produce to a standard that applies."""

    zone_code: str = Field(description="The zone")
    standards: int = Field(description="Standards that apply: the zone's and its industry's")
    members: int = Field(description="Admitted member enterprises")
    adopters: int = Field(description="Members that adopted at least one applicable standard")
    adoption_rate: float | None = Field(description="adopters / members, 4 decimals")
    declarations: int = Field(description="Members' 同线同质同标 declarations on them")


# --- trainings (法律法规、商业道德、质量诚信培训) -------------------------------------------


class TrainingTopic(StrEnum):
    """法律法规 / 商业道德 / 质量诚信 / 技术法规."""

    law = "law"
    business_ethics = "business_ethics"
    quality_integrity = "quality_integrity"
    technical_regulation = "technical_regulation"


class TrainingIn(Input):
    """A training session; attendance may come with it or later."""

    title: NonBlank = Field(min_length=1, max_length=200, description="Title")
    topic: TrainingTopic = Field(description="law, business_ethics, quality_integrity, …")
    held_on: PastDate = Field(description="Date held, not in the future")
    organiser_agency: AgencyCode | None = Field(
        default=None, description="Defaults to the token's agency; only an admin names another"
    )
    zone_code: str | None = Field(default=None, pattern=ZONE_CODE, description="The zone, if one")
    location: str | None = Field(default=None, max_length=200, description="Where")
    hours: int | None = Field(default=None, ge=1, le=200, description="Length in hours")
    attendees: list[Uscc] = Field(
        default=[], max_length=1000, description="Enterprises that attended"
    )


class AttendanceIn(Input):
    """Enterprises that attended (recording one again is a duplicate, not a second fact)."""

    usccs: list[Uscc] = Field(min_length=1, max_length=1000, description="The enterprises")


class AttendanceResult(BaseModel):
    """What an attendance upload recorded."""

    recorded: list[str] = Field(description="Newly recorded: each becomes a credit fact")
    duplicates: list[str] = Field(description="Already recorded before")


class AttendanceOut(BaseModel):
    """One enterprise's attendance."""

    model_config = ConfigDict(from_attributes=True)

    training_id: UUID = Field(description="The training")
    uscc: str = Field(description="The enterprise")
    recorded_by: str = Field(description="Who recorded it")
    created_at: datetime = Field(description="When it was recorded")


class TrainingOut(BaseModel):
    """A training session and how many enterprises attended."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID = Field(description="Training id")
    title: str = Field(description="Title")
    topic: TrainingTopic = Field(description="Topic")
    held_on: date = Field(description="Date held")
    organiser_agency: str = Field(description="The organiser")
    zone_code: str | None = Field(description="The zone")
    location: str | None = Field(description="Where")
    hours: int | None = Field(description="Length in hours")
    attendance: int = Field(default=0, description="Enterprises that attended")
    recorded_by: str = Field(description="Who recorded it")
    created_at: datetime = Field(description="When it was recorded")


# --- honours (推优评优, 品牌提升行动) ------------------------------------------------------


class CreditLevel(StrEnum):
    """Credit levels A (best) to D, as credit announces them."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"


class AwardRoundIn(Input):
    """An award round and its criteria; an open serious risk alert always blocks (联合惩戒)."""

    title: NonBlank = Field(min_length=1, max_length=200, description="e.g. 2026年度示范区优质企业")
    year: int = Field(ge=2000, le=2100, description="The year honoured")
    zone_code: str | None = Field(
        default=None, pattern=ZONE_CODE, description="Only admitted members of this zone"
    )
    industry: Industry | None = Field(default=None, description="Only enterprises of it")
    allowed_levels: list[CreditLevel] = Field(
        default=[CreditLevel.A],
        min_length=1,
        max_length=4,
        description="Credit levels eligible (A only by default)",
    )
    description: str | None = Field(default=None, max_length=4000, description="Criteria text")

    @field_validator("allowed_levels")
    @classmethod
    def _distinct(cls, value: list[CreditLevel]) -> list[CreditLevel]:
        return sorted(set(value))


class AwardRoundOut(BaseModel):
    """An award round."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID = Field(description="Round id")
    title: str = Field(description="Title")
    year: int = Field(description="Year")
    zone_code: str | None = Field(description="Zone scope")
    industry: str | None = Field(description="Industry scope")
    allowed_levels: list[str] = Field(description="Eligible credit levels")
    description: str | None = Field(description="Criteria text")
    opened_by: str = Field(description="Who opened it")
    created_at: datetime = Field(description="When")


class BlockingRule(BaseModel):
    """A rule that keeps an enterprise out of a round."""

    rule: Literal["credit_level", "open_serious_alert", "scope"] = Field(
        description="credit_level: its level is not allowed; open_serious_alert: 联合惩戒; "
        "scope: not in the round's zone or industry"
    )
    detail: str = Field(description="Why, in words")


class Candidate(BaseModel):
    """An enterprise in a round's scope and whether it may be honoured."""

    uscc: str = Field(description="The enterprise")
    name: str = Field(description="Its name")
    credit_level: str | None = Field(description="Its credit level as credit announced it")
    eligible: bool = Field(description="No rule blocks it")
    reasons: list[BlockingRule] = Field(description="What blocks it (empty when eligible)")
    nomination: Literal["nominated", "granted"] | None = Field(
        description="Its nomination's status in this round, if any"
    )


class NominationIn(Input):
    """Nominate an enterprise (an enterprise token may put itself forward)."""

    _server_owned = refuse_fields("status", "granted_at", "granted_by")

    uscc: Uscc
    citation: str | None = Field(default=None, max_length=4000, description="Why (推荐理由)")


class NominationOut(BaseModel):
    """A nomination and its status."""

    model_config = ConfigDict(from_attributes=True)

    round_id: UUID = Field(description="The round")
    uscc: str = Field(description="The enterprise")
    status: Literal["nominated", "granted"] = Field(description="nominated → granted")
    citation: str | None = Field(description="Why")
    nominated_by: str = Field(description="Who nominated it")
    nominated_at: datetime = Field(description="When")
    granted_by: str | None = Field(description="Who granted the award")
    granted_at: datetime | None = Field(description="When")
