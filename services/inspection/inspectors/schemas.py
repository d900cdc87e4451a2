"""Inspector pool API shapes."""

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kit.problem_text import BilingualError
from kit.uscc import Uscc
from kit.validation import AgencyCode, Input, PatchModel


class InspectorIn(Input):
    """An officer joining the pool."""

    agency: AgencyCode
    badge_number: str = Field(
        pattern=r"^[A-Za-z0-9-]{4,40}$", description="执法证号", examples=["33022620190012"]
    )
    name: str = Field(min_length=1, max_length=100)
    unit: str | None = Field(default=None, max_length=100, description="Unit or station")
    specialties: list[str] = Field(default=[], max_length=20, description="Industries")
    active: bool = True


class InspectorPatch(PatchModel):
    """Editable fields (send `If-Match`)."""

    not_null = ("name", "specialties", "active")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    unit: str | None = Field(default=None, max_length=100)
    specialties: list[str] | None = Field(default=None, max_length=20)
    active: bool | None = None


class InspectorOut(InspectorIn):
    """An inspector."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    version: int
    created_at: datetime


class ConflictIn(Input):
    """An enterprise the inspector may not inspect (回避)."""

    uscc: Uscc
    reason: str = Field(min_length=1, max_length=1000)
    valid_from: date
    valid_to: date | None = Field(default=None, description="Open-ended when absent")

    @model_validator(mode="after")
    def _period(self) -> "ConflictIn":
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise BilingualError(
                "valid_to must not be before valid_from",
                "有效期止（valid_to）不能早于有效期起（valid_from）",
            )
        return self


class ConflictOut(BaseModel):
    """A declared conflict."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    inspector_id: uuid.UUID
    uscc: str
    reason: str
    valid_from: date
    valid_to: date | None
    created_at: datetime
