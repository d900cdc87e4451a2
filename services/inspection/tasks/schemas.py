"""Task and result API shapes."""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    computed_field,
    model_validator,
)

from kit.problem_text import BilingualError
from kit.validation import Input
from services.inspection.domain import Verdict
from services.inspection.evidence.schemas import Evidence


class Finding(Input):
    """One checklist item's outcome."""

    item: str = Field(min_length=1, max_length=60, description="Checklist item code")
    outcome: Literal["pass", "fail", "not_applicable"]
    note: str | None = Field(default=None, max_length=2000)


class Sample(Input):
    """A sample taken for a lab (抽样)."""

    number: str = Field(min_length=1, max_length=60)
    lab: str | None = Field(default=None, max_length=200)


class Location(Input):
    """Where the check was made (WGS-84)."""

    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    accuracy_m: float = Field(ge=0, le=100_000, allow_inf_nan=False)


class ResultIn(Input):
    """A task's result, recorded by one assigned inspector (which is their confirmation);
    each other assigned inspector confirms it with their own token at
    `POST /v1/tasks/{task_id}/confirm`. There is no field naming who confirms: one
    inspector's word for another's was the finding of issue 19, so a body still carrying
    `confirmed_by` is refused (422) rather than silently taken for less than it claims."""

    findings: list[Finding] = Field(min_length=1, max_length=500)
    samples: list[Sample] = Field(default=[], max_length=100)
    verdict: Verdict
    location: Location | None = None
    evidence: list[Evidence] = Field(default=[], max_length=100)
    checked_at: AwareDatetime | None = Field(
        default=None, description="When, on site (with offset); now if absent"
    )

    @model_validator(mode="after")
    def _consistent(self) -> "ResultIn":
        items = [f.item for f in self.findings]
        if len(set(items)) != len(items):
            raise BilingualError(
                "each checklist item appears once in findings",
                "每个检查项目在检查结果中只能出现一次",
            )
        failed = any(f.outcome == "fail" for f in self.findings)
        if failed and self.verdict == Verdict.passed:
            raise BilingualError(
                "a failed item cannot give the verdict pass", "有不合格项目时结论不能为合格（pass）"
            )
        return self


class Confirmation(BaseModel):
    """One assigned inspector's confirmation of the recorded result, with their own token."""

    inspector_id: uuid.UUID
    at: datetime


class TaskOut(BaseModel):
    """A task."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: Literal["random", "targeted"] = Field(
        description="random: drawn by a campaign; targeted: opened by a risk alert"
    )
    campaign_id: uuid.UUID | None
    checklist_id: uuid.UUID | None
    alert_id: uuid.UUID | None = Field(description="The risk alert of a targeted task")
    uscc: str
    level: str
    inspector_ids: list[uuid.UUID]
    status: Literal["open", "completed", "cancelled"]
    verdict: Verdict | None
    result: dict[str, Any] | None = Field(
        description="The recorded result; final only once `result_status` is final"
    )
    recorded_by: uuid.UUID | None = Field(description="The inspector who recorded the result")
    confirmations: list[Confirmation] = Field(
        description="Each assigned inspector's own confirmation, the recorder's first"
    )
    completed_at: datetime | None
    version: int
    updated_at: datetime

    @computed_field(  # type: ignore[prop-decorator]
        description="awaiting_confirmation: recorded, not yet confirmed by every assigned "
        "inspector (the task stays open, nothing is announced); final: confirmed by all, the "
        "task completed; null: no result, or the task was cancelled before it became final"
    )
    @property
    def result_status(self) -> Literal["awaiting_confirmation", "final"] | None:
        if self.result is None or self.status == "cancelled":
            return None
        return "final" if self.status == "completed" else "awaiting_confirmation"


class AssignIn(Input):
    """The inspectors of a targeted task (at least two, as for any check)."""

    inspector_ids: list[uuid.UUID] = Field(min_length=2, max_length=10)

    @model_validator(mode="after")
    def _distinct(self) -> "AssignIn":
        if len(set(self.inspector_ids)) != len(self.inspector_ids):
            raise BilingualError("each inspector once", "每名检查员只能出现一次")
        return self
