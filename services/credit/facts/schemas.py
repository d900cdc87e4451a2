"""Credit fact API shapes."""

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from kit.problem_text import BilingualError
from kit.uscc import Uscc
from kit.validation import AgencyCode, Input
from services.credit.domain import WITH_AMOUNT, FactKind, Severity


class FactBase(BaseModel):
    """Fields of a fact as submitted."""

    kind: FactKind
    severity: Severity = Severity.general
    occurred_at: AwareDatetime = Field(description="When it happened (ISO-8601 with offset)")
    expires_at: AwareDatetime | None = Field(
        default=None, description="After this the fact no longer counts (e.g. a certificate)"
    )
    amount: (
        Annotated[
            float,
            Field(ge=0, le=1e14, allow_inf_nan=False),
            AfterValidator(lambda v: round(v, 2)),
        ]
        | None
    ) = Field(default=None, description="CNY, rounded to the fen; penalties and tax arrears only")
    evidence_ref: str | None = Field(
        default=None, max_length=500, description="Document number or URL of the evidence"
    )
    description: str | None = Field(default=None, max_length=4000)
    details: dict[str, Any] = Field(
        default={},
        description="Kind-specific: e.g. {tier: 'advanced'} for a customs AEO certification, "
        "{checklist_items: [...]} for a spot check",
    )

    @model_validator(mode="after")
    def _consistent(self) -> "FactBase":
        if self.expires_at is not None and self.expires_at <= self.occurred_at:
            raise BilingualError(
                "expires_at must be after occurred_at",
                "失效时间（expires_at）须晚于发生时间（occurred_at）",
            )
        if self.amount is not None and self.kind not in WITH_AMOUNT:
            raise BilingualError(
                f"amount applies only to {', '.join(sorted(k.value for k in WITH_AMOUNT))}",
                f"金额（amount）只适用于：{'、'.join(sorted(k.value for k in WITH_AMOUNT))}",
            )
        if len(str(self.details)) > 8000:
            raise BilingualError(
                "details is too large (8,000 characters at most)",
                "详情（details）过大（最多 8,000 个字符）",
            )
        return self


class FactIn(FactBase, Input):
    """A fact an agency submits about an enterprise."""

    uscc: Uscc
    source_agency: AgencyCode | None = Field(
        default=None,
        description="Defaults to the token's agency; only an admin may name another",
    )
    client_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="Your own id for this fact: a resubmission with the same key is the same "
        "fact (answered 200 with it), never a second one",
    )


class FactOut(FactBase):
    """A recorded fact."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    uscc: str
    source_agency: str
    ended_at: datetime | None = Field(description="Set by an approved credit repair")
    client_key: str | None
    source_event_id: uuid.UUID | None = Field(description="The event it came from, if any")
    recorded_by: str
    recorded_at: datetime


class FactRecorded(FactOut):
    """A recorded fact and the enterprise's score and level right after."""

    score_after: float
    level_after: str
