"""Award round, candidate and nomination API shapes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kit.uscc import Uscc
from kit.validation import Input, refuse_fields
from services.registry.domain import Industry
from services.registry.programme.shared import ZONE_CODE, NonBlank


class CreditLevel(StrEnum):
    """Credit levels A (best) to D, as credit announces them."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"


class AwardRoundIn(Input):
    """An award round and its criteria; an open serious risk alert always blocks (联合惩戒)."""

    title: NonBlank = Field(min_length=1, max_length=200, description="e.g. 2026年度示范区优质企业")
    year: int = Field(ge=2000, le=2100, description="The year honoured")
    zone_code: str | None = Field(
        default=None, pattern=ZONE_CODE, description="Only admitted members of this zone"
    )
    industry: Industry | None = Field(default=None, description="Only enterprises of it")
    allowed_levels: list[CreditLevel] = Field(
        default=[CreditLevel.A],
        min_length=1,
        max_length=4,
        description="Credit levels eligible (A only by default)",
    )
    description: str | None = Field(default=None, max_length=4000, description="Criteria text")

    @field_validator("allowed_levels")
    @classmethod
    def _distinct(cls, value: list[CreditLevel]) -> list[CreditLevel]:
        return sorted(set(value))


class AwardRoundOut(BaseModel):
    """An award round."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID = Field(description="Round id")
    title: str = Field(description="Title")
    year: int = Field(description="Year")
    zone_code: str | None = Field(description="Zone scope")
    industry: str | None = Field(description="Industry scope")
    allowed_levels: list[str] = Field(description="Eligible credit levels")
    description: str | None = Field(description="Criteria text")
    opened_by: str = Field(description="Who opened it")
    created_at: datetime = Field(description="When")


class BlockingRule(BaseModel):
    """A rule that keeps an enterprise out of a round."""

    rule: Literal["credit_level", "credit_measure", "open_serious_alert", "scope"] = Field(
        description="credit_level: its level is not allowed; credit_measure: its level's "
        "measures in credit's model say honours_eligible false (联合惩戒), whatever the round "
        "allows; open_serious_alert: 联合惩戒; scope: not in the round's zone or industry"
    )
    detail: str = Field(description="Why, in words")


class Candidate(BaseModel):
    """An enterprise in a round's scope and whether it may be honoured."""

    uscc: str = Field(description="The enterprise")
    name: str = Field(description="Its name")
    credit_level: str | None = Field(description="Its credit level as credit announced it")
    eligible: bool = Field(description="No rule blocks it")
    reasons: list[BlockingRule] = Field(description="What blocks it (empty when eligible)")
    nomination: Literal["nominated", "granted"] | None = Field(
        description="Its nomination's status in this round, if any"
    )


class NominationIn(Input):
    """Nominate an enterprise (an enterprise token may put itself forward)."""

    _server_owned = refuse_fields("status", "granted_at", "granted_by")

    uscc: Uscc
    citation: str | None = Field(default=None, max_length=4000, description="Why (推荐理由)")


class NominationOut(BaseModel):
    """A nomination and its status."""

    model_config = ConfigDict(from_attributes=True)

    round_id: UUID = Field(description="The round")
    uscc: str = Field(description="The enterprise")
    status: Literal["nominated", "granted"] = Field(description="nominated → granted")
    citation: str | None = Field(description="Why")
    nominated_by: str = Field(description="Who nominated it")
    nominated_at: datetime = Field(description="When")
    granted_by: str | None = Field(description="Who granted the award")
    granted_at: datetime | None = Field(description="When")
