"""Training and attendance API shapes."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from kit.uscc import Uscc
from kit.validation import AgencyCode, Input, PastDate
from services.registry.programme.shared import ZONE_CODE, NonBlank


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
