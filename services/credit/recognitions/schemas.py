"""Mutual recognition API shapes."""

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kit.problem_text import BilingualError
from kit.validation import AgencyCode, Input
from services.credit.domain import ResultKind

Item = Field(min_length=1, max_length=100)


class RecognitionIn(Input):
    """The recognising agency (the token's) accepts the recognised agency's results."""

    recognising_agency: AgencyCode | None = Field(
        default=None, description="Defaults to the token's agency; only an admin may name another"
    )
    recognised_agency: AgencyCode
    result_kind: ResultKind
    industries: list[str] = Field(
        default=[], max_length=20, description="Industries in scope; empty means all"
    )
    checklist_items: list[str] = Field(
        default=[], max_length=500, description="Checklist item codes in scope; empty means all"
    )
    valid_from: date
    valid_to: date
    note: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _period(self) -> "RecognitionIn":
        if self.recognising_agency == self.recognised_agency:
            raise BilingualError(
                "an agency does not need to recognise its own results", "部门无需互认自己的结果"
            )
        if self.valid_to < self.valid_from:
            raise BilingualError(
                "valid_to must not be before valid_from",
                "有效期止（valid_to）不能早于有效期起（valid_from）",
            )
        if any(not 0 < len(i) <= 100 for i in [*self.industries, *self.checklist_items]):
            raise BilingualError(
                "industries and checklist_items hold codes of 1–100 characters",
                "industries 和 checklist_items 中的代码应为 1–100 个字符",
            )
        return self


class RecognitionOut(BaseModel):
    """A recognition in the ledger."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    recognising_agency: str
    recognised_agency: str
    result_kind: ResultKind
    industries: list[str]
    checklist_items: list[str]
    valid_from: date
    valid_to: date
    status: Literal["active", "revoked"]
    note: str | None
    created_by: str
    created_at: datetime
    revoked_at: datetime | None
    revoke_reason: str | None


class RevokeIn(Input):
    """Why the recognition ends."""

    reason: str = Field(min_length=1, max_length=2000)


class CoveringResult(BaseModel):
    """A recognised result that covers the item."""

    recognition_id: uuid.UUID
    fact_id: uuid.UUID
    recognised_agency: str
    kind: str
    occurred_at: datetime
    recognised_until: date


class CoverageOut(BaseModel):
    """Is this enterprise's item already covered by a result this agency recognises?"""

    uscc: str
    agency: str
    item: str | None
    on: date
    covered: bool
    results: list[CoveringResult]
