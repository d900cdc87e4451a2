"""Credit repair API shapes."""

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from kit.validation import Input


class RepairIn(Input):
    """An enterprise asks to end an adverse fact's effect after rectification."""

    fact_id: uuid.UUID
    reason: str = Field(min_length=1, max_length=4000, description="What was rectified, how")
    evidence_ref: str | None = Field(default=None, max_length=500)


class DecisionIn(Input):
    """The source agency's decision."""

    decision: Literal["approve", "reject"]
    note: str | None = Field(
        default=None, max_length=4000, description="The agency's reasons; required to reject"
    )
    effective_from: AwareDatetime | None = Field(
        default=None,
        description="When the fact stops counting (approve only); now by default, never in "
        "the future nor before the fact occurred",
    )


class DecisionReason(BaseModel):
    """One reason of a decision: a rule checked, or the agency's own words."""

    code: Literal["waiting_period", "agency_note"]
    detail: str


class RepairOut(BaseModel):
    """A repair request and its decision."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    fact_id: uuid.UUID
    uscc: str
    source_agency: str
    status: Literal["pending", "approved", "rejected"]
    reason: str
    evidence_ref: str | None
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    effective_from: datetime | None
    earliest_repair_date: date | None = Field(
        description="The first day (China time) the repair may be decided: the waiting "
        "period of the fact's kind and severity in the credit model (信用修复)"
    )
    model_version: int | None = Field(description="Credit model version of that waiting period")
    decision_reasons: list[DecisionReason] | None = Field(
        description="Why it was decided so: the waiting period checked, the agency's note"
    )
