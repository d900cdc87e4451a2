"""Score, history and simulation API shapes."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from kit.uscc import Uscc
from kit.validation import Input
from services.credit.facts.schemas import FactBase
from services.credit.scoring import Measure, ScoringModel

LevelCode = Literal["A", "B", "C", "D"]


class ContributionOut(BaseModel):
    """One fact's part in the score."""

    model_config = ConfigDict(from_attributes=True)

    fact_id: str
    kind: str
    severity: str
    weight: float = Field(description="Points before decay (weight plus amount points)")
    decay: float = Field(description="0–1: halved every half-life since the fact occurred")
    points: float = Field(description="What it adds to the score (after any cap of its kind)")
    state: Literal["counted", "capped", "expired", "repaired", "future"]


class EnterpriseLevel(BaseModel):
    """An enterprise's current score and level."""

    model_config = ConfigDict(from_attributes=True)

    uscc: str
    name: str
    industry: str | None
    score: float
    level: LevelCode
    model_version: int
    computed_at: datetime


class ScoreOut(EnterpriseLevel):
    """The score explained: each fact's contribution, overrides in force, measures of the level."""

    level_name_zh: str = Field(
        description="The level's one Chinese name (kit/vocabulary.py, SAMR's risk classes)"
    )
    level_name_en: str = Field(description="The level's one English name (kit/vocabulary.py)")
    band_level: LevelCode = Field(description="The level by score alone, before overrides")
    base_score: float
    contributions: list[ContributionOut]
    overrides: list[str] = Field(description="Override rules that capped the level")
    measures: list[Measure] = Field(description="联合奖惩: joint rewards or punishments")


class LevelChangeOut(BaseModel):
    """A level change and its cause."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    from_level: LevelCode | None
    to_level: LevelCode
    score: float
    model_version: int
    cause: str
    fact_id: uuid.UUID | None
    changed_at: datetime


class HypotheticalFact(FactBase, Input):
    """A fact that might be added (never stored)."""


class SimulateIn(Input):
    """What would this enterprise's score be, if …"""

    uscc: Uscc
    add_facts: list[HypotheticalFact] = Field(default=[], max_length=200)
    remove_fact_ids: list[uuid.UUID] = Field(
        default=[], max_length=1000, description="Its facts to leave out"
    )
    model: ScoringModel | None = Field(
        default=None, description="A draft model; the one in force when omitted"
    )


class SimulationOut(BaseModel):
    """Current and simulated outcome; nothing is written."""

    uscc: str
    current_score: float
    current_level: LevelCode
    score: float
    level: LevelCode
    band_level: LevelCode
    level_changes: bool
    model_version: int | None = Field(description="null when a draft model was given")
    contributions: list[ContributionOut]
    overrides: list[str]


class DistributionOut(BaseModel):
    """Enterprises per level."""

    industry: str | None
    counts: dict[LevelCode, int]
    total: int
