"""Quality analysis API shapes: a quarter's figures per industry, and published releases."""

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from kit.industries import Industry
from services.inspection.analysis.quarters import ANALYSABLE, FIRST, Quarter, ensure_analysable


class CreditLevels(BaseModel):
    """Members per credit level as of the period's end: the last level credit announced
    before it (credit's level history)."""

    A: int = Field(default=0, description="Level A (守信)")
    B: int = Field(default=0, description="Level B")
    C: int = Field(default=0, description="Level C")
    D: int = Field(default=0, description="Level D (失信)")
    unrated: int = Field(default=0, description="Members credit had not rated by then")


class AnalysisFigures(BaseModel):
    """One industry's figures for a quarter, computed from live data (质量分析评价)."""

    industry: Industry = Field(description="The industry")
    industry_name_zh: str = Field(description="Its Chinese name")
    industry_name_en: str = Field(description="Its English name")
    quarter: str = Field(description="The quarter, e.g. 2026Q3")
    first_day: date = Field(description="Its first day (China calendar)")
    last_day: date = Field(description="Its last day (China calendar)")
    enterprises: int = Field(
        description="Enterprises of the industry that were zone members at some moment of the "
        "quarter (membership as it was, not today's)"
    )
    exports_usd: int = Field(description="Declared value of export batches shipped in the quarter")
    notifications: int = Field(description="Matched foreign notifications (国外通报)")
    returns: int = Field(description="Matched returns (退运)")
    notifications_per_100m_usd: float | None = Field(
        description="Foreign notifications per US$100M of exports (null without exports)"
    )
    returns_per_100m_usd: float | None = Field(
        description="Returns per US$100M of exports (null without exports)"
    )
    spot_checks: int = Field(description="Random spot checks (双随机) completed in the quarter")
    spot_checks_passed: int = Field(description="… whose verdict was not a fail")
    spot_check_pass_rate: float | None = Field(
        description="spot_checks_passed / spot_checks, 4 decimals (null without checks)"
    )
    capas: int = Field(description="Corrective actions opened in the quarter")
    capas_closed: int = Field(description="… of them closed (verified effective)")
    capa_closure_rate: float | None = Field(
        description="capas_closed / capas, 4 decimals (null without CAPAs)"
    )
    credit_levels: CreditLevels = Field(
        description="Those enterprises per credit level at the quarter's end (as it was)"
    )
    computed_at: datetime = Field(description="When the figures were computed")


class AnalysisPreview(BaseModel):
    """A quarter's live figures, one item per industry (or the one asked for), with the
    industries already published."""

    quarter: str = Field(description="The quarter")
    ended: bool = Field(description="The quarter is over (China time): it may be published")
    items: list[AnalysisFigures] = Field(description="One item per industry")
    published: list[Industry] = Field(description="Industries whose release exists already")


def _analysable(text: str) -> str:
    return str(ensure_analysable(Quarter.parse(text)))


AnalysableQuarter = Annotated[
    str,
    Field(
        pattern=ANALYSABLE,
        description=f"Calendar quarter in China time, e.g. 2026Q3; not before {FIRST} (the "
        "programme's first zone was planned from March 2015): an earlier one is a 422",
        examples=["2026Q3"],
    ),
    AfterValidator(_analysable),
]


class ReleaseIn(BaseModel):
    """Approve and publish a quarter's figures for an industry (权威发布)."""

    model_config = ConfigDict(extra="forbid")

    quarter: AnalysableQuarter
    industry: Industry = Field(description="The industry whose figures are published")
    note: str | None = Field(
        default=None, max_length=4000, description="The office's commentary, published with it"
    )


class PublicRelease(BaseModel):
    """A published release, as anyone reads it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="Release id")
    industry: Industry = Field(description="The industry")
    quarter: str = Field(description="The quarter, e.g. 2026Q3")
    figures: AnalysisFigures = Field(description="The figures as approved (frozen)")
    note: str | None = Field(description="The office's commentary")
    published_at: datetime = Field(description="When it was published")


class ReleaseOut(PublicRelease):
    """A release with who approved it."""

    published_by: str = Field(description="Who approved it")


class PublicQuarter(BaseModel):
    """Every industry's published figures for a quarter."""

    quarter: str = Field(description="The quarter")
    items: list[PublicRelease] = Field(description="Each industry's release, at most one")
