"""CAPA API shapes."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from kit.validation import Input
from services.inspection.evidence.schemas import Evidence


class ResponseIn(Input):
    """The enterprise's answer: why it happened, what it did."""

    root_cause: str = Field(min_length=1, max_length=4000)
    actions: str = Field(min_length=1, max_length=4000)
    evidence: list[Evidence] = Field(
        default=[], max_length=20, description="Attachments: photos, reports, each uploaded first"
    )


class VerificationIn(Input):
    """An inspector's check of effectiveness; not effective reopens the CAPA."""

    effective: bool
    note: str | None = Field(default=None, max_length=4000)


class CapaOut(BaseModel):
    """A corrective action."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    task_id: uuid.UUID
    uscc: str
    status: Literal["open", "responded", "closed"]
    findings: str
    due_at: datetime
    overdue: bool = False
    root_cause: str | None
    actions: str | None
    evidence: list[Evidence] = Field(description="The response's attachments")
    responded_at: datetime | None
    verified_by: str | None
    verification_note: str | None
    closed_at: datetime | None
    created_at: datetime
