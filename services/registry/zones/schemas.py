"""Zone API shapes."""

from datetime import date, datetime
from uuid import UUID

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from kit.validation import Input, PatchModel, refuse_fields
from services.registry.domain import Industry, ScheduleStatus, Stage, ZoneLevel


class ZoneIn(Input):
    """A zone to plan."""

    _server_owned = refuse_fields("stage", "version", "tasks", "created_at", "updated_at")

    code: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{1,59}$",
        examples=["lighting-provincial"],
        description="Stable lower-case code, e.g. `<industry>-<level>`",
    )
    name_zh: str = Field(
        min_length=1,
        max_length=200,
        examples=["出口灯具质量安全示范区（省级）"],
        description="Name in Chinese (zh-CN)",
    )
    name_en: str = Field(min_length=1, max_length=200, description="Name in English")
    industry: Industry
    level: ZoneLevel
    phase: int | None = Field(
        default=None,
        ge=1,
        le=9,
        description="Work-plan phase (阶段): one of the plan's (`GET /v1/programme/targets`); "
        "the planned dates must fall inside its window",
    )
    plan_start: date | None = None
    plan_end: date | None = None
    description: str | None = Field(default=None, max_length=4000)

    @model_validator(mode="after")
    def _plan_in_order(self) -> "ZoneIn":
        if self.plan_start and self.plan_end and self.plan_end < self.plan_start:
            raise ValueError("plan_end must not be before plan_start")
        return self


class ZonePatch(PatchModel):
    """Editable zone fields (send `If-Match` with the ETag you read)."""

    not_null = ("name_zh", "name_en")
    _server_owned = refuse_fields("stage", "version", "tasks")

    name_zh: str | None = Field(
        default=None, min_length=1, max_length=200, description="Name in Chinese (zh-CN)"
    )
    name_en: str | None = Field(
        default=None, min_length=1, max_length=200, description="Name in English"
    )
    phase: int | None = Field(default=None, ge=1, le=9)
    plan_start: date | None = None
    plan_end: date | None = None
    description: str | None = Field(default=None, max_length=4000)


class ZoneTaskOut(BaseModel):
    """A stage task and its completion."""

    model_config = ConfigDict(from_attributes=True)

    stage: Stage
    task_code: str
    title_zh: str = Field(description="Title in Chinese (zh-CN)")
    title_en: str = Field(description="Title in English")
    done_at: datetime | None
    done_by: str | None
    note: str | None


class ZoneOut(BaseModel):
    """A zone with its current stage, allowed next stages and its stage checklists."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    name_zh: str = Field(description="Name in Chinese (zh-CN)")
    name_en: str = Field(description="Name in English")
    industry: Industry
    level: ZoneLevel
    stage: Stage
    phase: int | None
    plan_start: date | None
    plan_end: date | None
    description: str | None
    acceptance_authority: dict[str, str] = Field(
        description="验收单位 {zh, en, agency}: `agency` is the code whose token decides"
    )
    allowed_transitions: list[Stage] = Field(
        description="Where a stage move may take it (`accepted` only by the authority's decision)"
    )
    schedule_status: ScheduleStatus = Field(
        description="`overdue`: past `plan_end` and neither accepted nor revoked (China time)"
    )
    tasks: list[ZoneTaskOut]
    version: int
    created_at: datetime
    updated_at: datetime


class PublicZoneTask(BaseModel):
    """A stage task as the public reads it: done or not, without notes or who did it."""

    stage: Stage
    task_code: str
    title_zh: str = Field(description="Title in Chinese (zh-CN)")
    title_en: str = Field(description="Title in English")
    done_at: datetime | None


class PublicZoneOut(BaseModel):
    """A zone as the public reads it (一公开): named fields only, so nothing internal (task
    notes, user ids, workflow) reaches it when the internal view grows."""

    code: str
    name_zh: str = Field(description="Name in Chinese (zh-CN)")
    name_en: str = Field(description="Name in English")
    industry: Industry
    level: ZoneLevel
    stage: Stage
    phase: int | None
    plan_start: date | None
    plan_end: date | None
    description: str | None
    acceptance_authority: dict[str, str] = Field(description="验收单位 {zh, en}")
    tasks: list[PublicZoneTask]


class TransitionIn(Input):
    """Move a zone to another stage."""

    to: Stage = Field(
        description="Target stage",
        validation_alias=AliasChoices("to", "to_stage", "target", "stage"),
    )
    reason: str | None = Field(default=None, max_length=2000)


class TransitionOut(BaseModel):
    """A recorded transition; `open_tasks` lists the left stage's tasks not marked done."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID
    zone_code: str
    from_stage: Stage
    to_stage: Stage
    reason: str | None
    actor: str
    agency: str | None
    open_tasks: list[str]
    at: datetime


class TaskUpdate(Input):
    """Mark a stage task done or not done."""

    done: bool
    note: str | None = Field(default=None, max_length=2000)
