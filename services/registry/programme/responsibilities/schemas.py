"""Responsibility and routing API shapes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kit.problem_text import BilingualError
from kit.uscc import Uscc
from kit.validation import AgencyCode, Input
from services.registry.programme.shared import ZONE_CODE, NonBlank

TOPIC = r"^[a-z][a-z0-9_]{1,39}$"


class Tier(StrEnum):
    """地方政府负总责 / 监管部门各负其责 / 企业第一责任人."""

    overall = "overall"
    supervisory = "supervisory"
    primary = "primary"


class ResponsibilityIn(Input):
    """Who answers for what: the county government overall, an agency for a topic, an
    enterprise as first responsible. Recording the same party for the same zone, tier and
    topic again replaces its duty."""

    zone_code: str | None = Field(
        default=None, pattern=ZONE_CODE, description="The zone; null for county-wide"
    )
    tier: Tier = Field(description="overall, supervisory or primary")
    topic: str = Field(
        default="all",
        pattern=TOPIC,
        examples=["export_inspection", "spot_checks", "traceability", "all"],
        description="What it covers; `all` for everything (the overall and primary tiers)",
    )
    agency_code: AgencyCode | None = Field(
        default=None, description="The agency (overall and supervisory tiers)"
    )
    uscc: Uscc | None = Field(default=None, description="The enterprise (primary tier)")
    duty: NonBlank = Field(min_length=1, max_length=4000, description="The duty, as worded")
    responsible_person: NonBlank | None = Field(
        default=None, min_length=1, max_length=100, description="The person answering for it"
    )

    @model_validator(mode="after")
    def _party(self) -> ResponsibilityIn:
        if self.tier is Tier.primary:
            if self.uscc is None or self.agency_code is not None:
                raise BilingualError(
                    "the primary tier names an enterprise (uscc), not an agency",
                    "企业第一责任（primary）须指明企业（uscc），而不是部门",
                )
            if self.zone_code is None:
                raise BilingualError(
                    "an enterprise is first responsible within a zone (zone_code)",
                    "企业在某个示范区（zone_code）内承担第一责任",
                )
        elif self.agency_code is None or self.uscc is not None:
            raise BilingualError(
                f"the {self.tier.value} tier names an agency (agency_code)",
                f"{self.tier.value} 层级须指明部门（agency_code）",
            )
        return self


class ResponsibilityOut(BaseModel):
    """A recorded responsibility."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID = Field(description="Responsibility id")
    zone_code: str | None = Field(description="The zone; null for county-wide")
    tier: Tier = Field(description="overall, supervisory or primary")
    topic: str = Field(description="What it covers")
    agency_code: str | None = Field(description="The agency")
    uscc: str | None = Field(description="The enterprise")
    duty: str = Field(description="The duty")
    responsible_person: str | None = Field(description="Who answers for it")
    recorded_by: str = Field(description="Who recorded it")
    updated_at: datetime = Field(description="Last change")


class RoutedParty(BaseModel):
    """A party on a problem's route, and where the answer came from."""

    tier: Tier = Field(description="overall, supervisory or primary")
    agency_code: str | None = Field(description="The agency")
    uscc: str | None = Field(description="The enterprise")
    duty: str = Field(description="The duty")
    responsible_person: str | None = Field(description="Who answers for it")
    source: Literal["zone", "county", "rule"] = Field(
        description="zone: recorded for the zone; county: recorded county-wide; rule: the "
        "guidance's rule that each enterprise is first responsible for its products"
    )


class RouteOut(BaseModel):
    """Where a problem goes: its owner, and the whole chain of responsibility."""

    zone_code: str = Field(description="The zone")
    topic: str = Field(description="The problem's topic")
    owner: RoutedParty = Field(
        description="Who the problem is routed to: the supervising agency for the topic, "
        "else the party with overall responsibility"
    )
    first_responsible: RoutedParty | None = Field(
        description="The enterprise, when the problem names one (企业第一责任人)"
    )
    chain: list[RoutedParty] = Field(description="primary, supervisory, overall, in that order")
