"""Scoring model and rescoring job API shapes."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kit.measures import LevelEffects
from kit.validation import Input
from services.credit.scoring import Measure, ScoringModel, check_measures


class ModelIn(ScoringModel):
    """A new scoring model version; every enterprise is rescored under it."""

    note: str | None = Field(default=None, max_length=2000, description="Why it changed")

    @model_validator(mode="after")
    def _measures_have_effects(self) -> "ModelIn":
        check_measures(self)
        return self


class JobOut(BaseModel):
    """A rescoring job and its progress."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    model_version: int
    reason: Literal["model", "decay", "manual"]
    status: Literal["queued", "running", "done", "superseded", "failed"]
    total: int = Field(description="Enterprises to rescore")
    processed: int
    level_changes: int = Field(description="Enterprises whose level changed so far")
    error: str | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ModelOut(BaseModel):
    """A scoring model version."""

    version: int
    note: str | None
    created_by: str
    created_at: datetime
    model: ScoringModel
    rescore_job: JobOut | None = Field(
        default=None, description="The job that rescores everyone under this version"
    )


class ModelVersionSummary(BaseModel):
    """A model version in the list."""

    model_config = ConfigDict(from_attributes=True)

    version: int
    note: str | None
    created_by: str
    created_at: datetime


class JobIn(Input):
    """Rescore every enterprise now under the model in force (e.g. after fixing data)."""

    reason: Literal["manual"] = "manual"


class LevelMeasures(BaseModel):
    """The joint rewards or punishments (联合奖惩) of one level."""

    level: Literal["A", "B", "C", "D"]
    name_zh: str = Field(description="The level's one Chinese name (kit/vocabulary.py)")
    name_en: str = Field(description="The level's one English name (kit/vocabulary.py)")
    min_score: float
    max_score: float
    measures: list[Measure]
    in_force: LevelEffects = Field(
        description="What the level's measures do: the ratio a campaign draws it at, honours, "
        "zone admission, removal review (defaults where no measure says)"
    )


class MeasuresOut(BaseModel):
    """Measures per level under the model in force."""

    model_version: int
    levels: list[LevelMeasures]
