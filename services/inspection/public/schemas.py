"""Public shapes (一公开): no personal data beyond inspectors' badge numbers."""

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class PublicTask(BaseModel):
    """A drawn check as published."""

    task_id: uuid.UUID
    campaign_id: uuid.UUID
    campaign: str
    agencies: list[str]
    uscc: str
    enterprise: str
    badge_numbers: list[str] = Field(description="执法证号 of the assigned inspectors")
    drawn_at: datetime | None
    verdict: str | None = Field(description="pass, minor or fail, once completed")
    completed_at: datetime | None


class PublicDraw(BaseModel):
    """A made draw, everything needed to check it: the seed revealed, the commitment it was
    published under before the draw, the hashes of its inputs, and its result."""

    campaign_id: uuid.UUID
    campaign: str = Field(description="The campaign's title")
    agencies: list[str]
    status: str = Field(description="drawn or closed")
    seed_sha256: str = Field(description="The seed's commitment (SHA-256), published beforehand")
    seed: str = Field(description="The seed, revealed at the draw")
    snapshot_sha256: str = Field(description="SHA-256 of the population and exclusions drawn from")
    pool_sha256: str = Field(description="SHA-256 of the inspector pool drawn from")
    model_version: int | None = Field(description="Credit model version of the levels used")
    population: dict[str, int] = Field(description="Candidates per credit level")
    sampled: dict[str, int] = Field(description="Drawn per credit level")
    excluded: int = Field(description="Spared by a recognised result or a higher-level check")
    drawn_at: datetime
    tasks: list[PublicTask] = Field(description="The result: each drawn check")
