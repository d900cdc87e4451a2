"""Alliance standard, adoption and declaration API shapes."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kit.problem_text import BilingualError
from kit.uscc import Uscc
from kit.validation import HsCode, Input, PastDate, refuse_fields
from services.registry.domain import Industry
from services.registry.programme.shared import ZONE_CODE, NonBlank, NonBlankExact

SHA256 = r"^[0-9a-f]{64}$"


class StandardIn(Input):
    """An alliance standard for a zone or an industry; send its text or its SHA-256."""

    _server_owned = refuse_fields("published_by", "adopters")

    code: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9/ .\-]{1,59}$",
        examples=["T/NHWJ 001-2018"],
        description="Standard number (团体标准编号)",
    )
    version: NonBlank = Field(min_length=1, max_length=20, examples=["2018"], description="Version")
    title: NonBlank = Field(min_length=1, max_length=300, description="Title")
    alliance: str | None = Field(
        default=None, max_length=200, description="The industry alliance or association"
    )
    zone_code: str | None = Field(default=None, pattern=ZONE_CODE, description="The zone")
    industry: Industry | None = Field(default=None, description="The industry")
    effective_on: date = Field(description="Date it takes effect")
    text: NonBlankExact | None = Field(
        default=None, min_length=1, max_length=1_000_000, description="The text; kept by hash"
    )
    text_sha256: str | None = Field(
        default=None, pattern=SHA256, description="SHA-256 of the text (lower-case hex)"
    )

    @model_validator(mode="after")
    def _scope_and_text(self) -> StandardIn:
        if self.zone_code is None and self.industry is None:
            raise BilingualError(
                "a standard applies to a zone (zone_code) or an industry",
                "标准须适用于一个示范区（zone_code）或一个行业（industry）",
            )
        if (self.text is None) == (self.text_sha256 is None):
            raise BilingualError(
                "send the text or its text_sha256, one of them",
                "请发送正文（text）或其 text_sha256，二者选一",
            )
        return self

    def digest(self) -> str:
        """The text's SHA-256."""
        if self.text is not None:
            return hashlib.sha256(self.text.encode("utf-8")).hexdigest()
        assert self.text_sha256 is not None
        return self.text_sha256


class StandardOut(BaseModel):
    """An alliance standard and how many enterprises adopted it."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID = Field(description="Standard id")
    code: str = Field(description="Standard number")
    version: str = Field(description="Version")
    title: str = Field(description="Title")
    alliance: str | None = Field(description="The alliance")
    zone_code: str | None = Field(description="The zone")
    industry: str | None = Field(description="The industry")
    effective_on: date = Field(description="Date it takes effect")
    text_sha256: str = Field(description="SHA-256 of the text")
    adopters: int = Field(default=0, description="Enterprises that adopted it")
    published_by: str = Field(description="Who recorded it")
    created_at: datetime = Field(description="When it was recorded")


class AdoptionIn(Input):
    """An enterprise adopts a standard (an enterprise token adopts for itself)."""

    uscc: Uscc
    adopted_on: PastDate | None = Field(default=None, description="Defaults to today")


class AdoptionOut(BaseModel):
    """An adoption."""

    model_config = ConfigDict(from_attributes=True)

    standard_id: UUID = Field(description="The standard")
    uscc: str = Field(description="The enterprise")
    adopted_on: date = Field(description="Date adopted")
    recorded_by: str = Field(description="Who recorded it")
    created_at: datetime = Field(description="When it was recorded")


class DeclarationIn(Input):
    """同线同质同标: a product made on one line, to this standard, for export and at home."""

    uscc: Uscc
    product: NonBlank = Field(min_length=1, max_length=200, description="The product")
    hs_code: HsCode | None = Field(default=None, description="Its HS code")
    declared_on: PastDate | None = Field(default=None, description="Defaults to today")


class DeclarationOut(BaseModel):
    """A same-line, same-standard, same-quality declaration."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID = Field(description="Declaration id")
    standard_id: UUID = Field(description="The standard")
    uscc: str = Field(description="The enterprise")
    product: str = Field(description="The product")
    hs_code: str | None = Field(description="Its HS code")
    declared_on: date = Field(description="Date declared")
    recorded_by: str = Field(description="Who recorded it")
    created_at: datetime = Field(description="When it was recorded")


class ZoneAdoption(BaseModel):
    """标准领跑 per zone: how many admitted members produce to a standard that applies."""

    zone_code: str = Field(description="The zone")
    standards: int = Field(description="Standards that apply: the zone's and its industry's")
    members: int = Field(description="Admitted member enterprises")
    adopters: int = Field(description="Members that adopted at least one applicable standard")
    adoption_rate: float | None = Field(description="adopters / members, 4 decimals")
    declarations: int = Field(description="Members' 同线同质同标 declarations on them")
