"""Campaign and draw API shapes."""

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kit.industries import Industry
from kit.problem_text import BilingualError
from kit.validation import AgencyCode, Input
from services.inspection.domain import CampaignLevel

Ratio = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
LevelCode = Literal["A", "B", "C", "D"]
RatioSource = Literal["measures", "override", "default"]


class CampaignIn(Input):
    """A spot-check campaign; joint (跨部门联合) when several agencies take part."""

    title: str = Field(min_length=1, max_length=200)
    level: CampaignLevel = CampaignLevel.county
    agencies: list[AgencyCode] = Field(
        min_length=1, max_length=10, description="Agencies whose inspectors are drawn"
    )
    zones: list[Annotated[str, Field(min_length=1, max_length=60)]] = Field(
        default=[], max_length=50, description="Members of these zones; empty = any"
    )
    industries: list[Industry] = Field(default=[], max_length=10, description="Empty = any")
    checklist_id: uuid.UUID
    ratios: dict[LevelCode, Ratio] = Field(
        default={},
        description="Share of a credit level to draw (at least one where any), overriding "
        "credit's measures: a level not named here is drawn at the `inspection_ratio` of "
        "the measures in force when the draw runs (联合奖惩)",
    )
    inspectors_per_task: int = Field(default=2, ge=2, le=10)
    window_start: date
    window_end: date
    seed_sha256: str | None = Field(
        default=None,
        pattern="^[0-9a-f]{64}$",
        description="Commit to your own seed: its SHA-256 now, the seed at the draw. "
        "Omitted: the service draws a seed and publishes its SHA-256",
    )

    @model_validator(mode="after")
    def _consistent(self) -> "CampaignIn":
        if self.window_end < self.window_start:
            raise BilingualError(
                "window_end must not be before window_start",
                "时间窗口止（window_end）不能早于时间窗口起（window_start）",
            )
        if len(set(self.agencies)) != len(self.agencies):
            raise BilingualError("agencies must not repeat", "部门不能重复")
        return self


class CampaignOut(BaseModel):
    """A campaign; `seed` appears once drawn."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    level: CampaignLevel
    agencies: list[str]
    joint: bool
    zones: list[str]
    industries: list[str]
    checklist_id: uuid.UUID
    ratios: dict[str, float] = Field(description="The campaign's own ratios (overrides)")
    inspectors_per_task: int
    window_start: date
    window_end: date
    seed_sha256: str
    seed: str | None
    status: Literal["planned", "drawn", "closed", "cancelled"]
    created_by: str
    created_at: datetime
    drawn_at: datetime | None


class DrawIn(Input):
    """Reveal the committed seed (when you committed your own)."""

    seed: str | None = Field(default=None, min_length=16, max_length=200)


class DrawOut(BaseModel):
    """The draw: its inputs' hashes, per-level figures and the list (一公开)."""

    campaign_id: uuid.UUID
    seed: str
    seed_sha256: str
    snapshot_sha256: str = Field(description="SHA-256 of the population and exclusions")
    pool_sha256: str = Field(description="SHA-256 of the inspector pool drawn from")
    model_version: int | None = Field(description="Credit model version of the levels used")
    ratios: dict[str, float] = Field(description="The ratio each level was drawn at")
    ratio_sources: dict[str, RatioSource] = Field(
        description="Where each ratio came from: credit's `measures` in force, the "
        "campaign's own `override`, or the platform `default` (no measures announced yet)"
    )
    measures_version: int | None = Field(
        description="Credit model version whose measures supplied the ratios not overridden"
    )
    population: dict[str, int]
    sampled: dict[str, int]
    excluded: int = Field(description="Spared by a recognised result or a higher-level check")
    tasks: int = Field(description="Drawn tasks: `/v1/tasks?campaign_id=`, `/v1/public/draws`")
    cap_per_inspector: int
    drawn_at: datetime


class VerifyOut(BaseModel):
    """A replay of the draw from its stored inputs."""

    campaign_id: uuid.UUID
    matches: bool
    seed_matches_commitment: bool
    snapshot_matches: bool
    pool_matches: bool
    tasks_match: bool
    detail: str
