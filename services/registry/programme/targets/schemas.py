"""Programme targets and schedule API shapes."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from services.registry.domain import ScheduleStatus, Stage, ZoneLevel


class PhaseOut(BaseModel):
    """A work-plan phase, its window and the zones planned in it."""

    model_config = ConfigDict(from_attributes=True)

    number: int
    starts_on: date
    ends_on: date
    summary_zh: str = Field(description="Summary in Chinese (zh-CN)")
    summary_en: str = Field(description="Summary in English")
    zones: list[str] = []


class TargetOut(BaseModel):
    """A target and how far the county is: zones of the level accepted within its period."""

    code: str
    level: ZoneLevel
    zones: int = Field(description="How many zones the target asks for")
    period_start: date
    period_end: date
    source: str
    accepted: int = Field(description="Zones of the level accepted within the period")
    met: bool


class ZoneSchedule(BaseModel):
    """A zone against its plan."""

    code: str
    name_zh: str = Field(description="Name in Chinese (zh-CN)")
    name_en: str = Field(description="Name in English")
    level: ZoneLevel
    stage: Stage
    phase: int | None
    plan_start: date | None
    plan_end: date | None
    accepted_on: date | None
    schedule_status: ScheduleStatus
    days_overdue: int = Field(description="Days past plan_end while overdue, else 0")


class TargetsOut(BaseModel):
    """The guidance's targets and plan phases as data, actual counts by level and stage, and
    each zone's schedule status, as of `as_of` (China time)."""

    as_of: date
    targets: list[TargetOut]
    phases: list[PhaseOut]
    actual: dict[ZoneLevel, dict[Stage, int]]
    zones: list[ZoneSchedule]
    overdue: list[str] = Field(description="Codes of the overdue zones")
