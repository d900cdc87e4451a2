"""Membership and commitment API shapes."""

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, AliasChoices, BaseModel, ConfigDict, Field

from kit.problem_text import BilingualError
from kit.uscc import Uscc
from kit.validation import Input, PastDate, refuse_fields

# The first zone's plan started in March 2015 (出口文具省级示范区): nothing took effect before.
PROGRAMME_START = date(2015, 1, 1)


class MembershipStatus(StrEnum):
    """准入/退出 states."""

    applied = "applied"  # 申请
    assessing = "assessing"  # 考核中
    admitted = "admitted"  # 准入
    rejected = "rejected"  # 不予准入
    suspended = "suspended"  # 暂停
    removed = "removed"  # 除名


class Decision(StrEnum):
    """What the zone office decides on a membership."""

    assess = "assess"
    admit = "admit"
    reject = "reject"
    suspend = "suspend"
    reinstate = "reinstate"
    remove = "remove"


class ApplicationIn(Input):
    """An enterprise applies to join a zone."""

    _server_owned = refuse_fields("status", "decided_at", "review_requested_at")

    uscc: Uscc
    note: str | None = Field(default=None, max_length=2000)


def _not_before_programme(value: date) -> date:
    if value < PROGRAMME_START:
        raise BilingualError(
            f"must not be before {PROGRAMME_START}, the programme's first zone",
            f"不能早于 {PROGRAMME_START}（第一个示范区的规划日期）",
        )
    return value


class DecisionIn(Input):
    """A decision on a membership; reject, suspend and remove need a reason."""

    decision: Decision = Field(validation_alias=AliasChoices("decision", "action"))
    reason: str | None = Field(default=None, max_length=2000)
    effective_on: Annotated[PastDate, AfterValidator(_not_before_programme)] | None = Field(
        default=None,
        description="The day the decision took effect (China time) when it is recorded after "
        "the fact, e.g. an admission from the programme's paper records; not in the future, "
        "not before 2015. Zone KPIs and quarterly analysis count members by it. Default: now",
    )


class DecisionOut(BaseModel):
    """One step of a membership's history."""

    model_config = ConfigDict(from_attributes=True)

    from_status: MembershipStatus | None
    to_status: MembershipStatus
    reason: str | None
    actor: str
    at: datetime


class MembershipOut(BaseModel):
    """A membership and its current status."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID
    zone_code: str
    uscc: str
    status: MembershipStatus
    note: str | None
    reason: str | None
    applied_at: datetime
    decided_at: datetime | None
    review_requested_at: datetime | None = Field(
        description="Set when a removal review was raised automatically (credit level D)"
    )
    review_reason: str | None
    updated_at: datetime


class MembershipDetail(MembershipOut):
    """A membership with its full history."""

    history: list[DecisionOut]


class CommitmentIn(Input):
    """A signed integrity commitment (质量诚信承诺书); signing again for the same zone
    supersedes the commitment in force."""

    _server_owned = refuse_fields(
        "status", "text_sha256", "breached_at", "version", "countersigned_at", "countersigned_by"
    )

    zone_code: str = Field(min_length=1, max_length=60)
    signatory: str = Field(
        min_length=1, max_length=100, description="Who signed for the enterprise"
    )
    signed_on: date
    text_version: str = Field(min_length=1, max_length=40, examples=["2017-v1"])
    text: str = Field(min_length=1, max_length=200_000, description="The commitment text as signed")


class CommitmentStatus(StrEnum):
    """A commitment's states: in force (`signed`, `countersigned`) or history."""

    signed = "signed"  # 已签署, awaiting the zone office's countersignature
    countersigned = "countersigned"  # 已会签: counts for credit
    superseded = "superseded"  # 已被新版本取代
    breached = "breached"  # 违诺
    ended = "ended"  # 已终止 (its zone revoked)


class BreachSeverity(StrEnum):
    """How grave a breach is; credit records the fact with this severity."""

    general = "general"  # 一般
    serious = "serious"  # 严重


class BreachIn(Input):
    """Mark a commitment breached: how grave, on what evidence, why."""

    severity: BreachSeverity
    evidence: str = Field(
        min_length=1,
        max_length=500,
        description="What shows the breach: a document number, a task or an evidence file's "
        "SHA-256",
    )
    reason: str = Field(min_length=1, max_length=2000)


class CommitmentOut(BaseModel):
    """A commitment; the text itself is kept by its SHA-256."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID
    zone_code: str
    uscc: str
    version: int
    supersedes_id: UUID | None
    signatory: str
    signed_on: date
    text_version: str
    text_sha256: str
    status: CommitmentStatus
    countersigned_at: datetime | None
    countersigned_by: str | None
    countersigning_agency: str | None
    superseded_at: datetime | None
    breached_at: datetime | None
    breach_reason: str | None
    breach_severity: BreachSeverity | None
    breach_evidence: str | None
    ended_at: datetime | None
    end_reason: str | None
    recorded_by: str
    created_at: datetime
