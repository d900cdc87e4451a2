"""Bulletin API shapes."""

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kit.problem_text import BilingualError
from kit.validation import Country, Input

HsPrefix = Annotated[str, Field(pattern=r"^\d{2,10}$", description="HS code or prefix")]


class BulletinIn(Input):
    """A notice the zone office publishes."""

    kind: Literal["wto_tbt", "regulation"]
    symbol: str | None = Field(
        default=None,
        max_length=60,
        pattern=r"^G/(TBT|SPS)/N/[A-Z]{2,3}/\d{1,5}(/(Add|Rev|Corr)\.\d{1,3}){0,3}$",
        description="WTO document symbol, e.g. G/TBT/N/EU/1234 (required for wto_tbt)",
    )
    member: str | None = Field(default=None, max_length=60, examples=["European Union"])
    title: str = Field(min_length=1, max_length=500)
    products: list[HsPrefix] = Field(default_factory=list, max_length=200)
    markets: list[Country] = Field(default_factory=list, max_length=250)
    objective: str | None = Field(default=None, max_length=2000)
    body: str | None = Field(default=None, max_length=20_000)
    comment_deadline: date | None = None
    adoption_date: date | None = None

    @model_validator(mode="after")
    def _shape(self) -> "BulletinIn":
        if self.kind == "wto_tbt" and not self.symbol:
            raise BilingualError(
                "a WTO/TBT notification has its symbol", "WTO/TBT 通报须有其文号（symbol）"
            )
        if not (self.products or self.markets):
            raise BilingualError(
                "name the products (HS codes) or the markets it touches",
                "请写明涉及的产品（HS 编码）或市场",
            )
        return self


class BulletinOut(BaseModel):
    """A published bulletin with its read receipts."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    symbol: str | None
    member: str | None
    title: str
    products: list[str]
    markets: list[str]
    objective: str | None
    body: str | None
    comment_deadline: date | None
    adoption_date: date | None
    recipients: int = Field(description="Enterprises it was delivered to")
    read: int = Field(default=0, description="Of them, how many have read it")
    published_by: str
    published_at: datetime
