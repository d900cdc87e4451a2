"""Subscription API shapes."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, model_validator

from kit.problem_text import BilingualError
from kit.uscc import Uscc
from kit.validation import Input, PatchModel
from kit.vocabulary import Language

Pattern = Annotated[
    str,
    Field(
        pattern=r"^(>|(\*|[a-z_]+)(\.(\*|[a-z_]+)){0,3}(\.>)?)$",
        max_length=120,
        description="An event type without its version; `*` is one part, `>` the rest",
        examples=["inspection.alert.*", "registry.>", "credit.level.changed"],
    ),
]


class Filters(BaseModel):
    """Only events about these (each list: any of; empty: no restriction)."""

    model_config = ConfigDict(extra="forbid")

    zones: list[Annotated[str, Field(min_length=1, max_length=60)]] = Field(
        default_factory=list, max_length=50
    )
    industries: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(
        default_factory=list, max_length=50
    )
    usccs: list[Uscc] = Field(default_factory=list, max_length=1000)
    severities: list[Literal["minor", "general", "serious"]] = Field(
        default_factory=list, max_length=3
    )


class SubscriptionIn(Input):
    """A subscription. A webhook gets a secret, shown once in the answer."""

    event_types: list[Pattern] = Field(min_length=1, max_length=50)
    filters: Filters = Field(default_factory=Filters)
    channel: Literal["webhook", "inbox"] = "inbox"
    url: AnyHttpUrl | None = Field(
        default=None, description="The webhook endpoint (https in production)"
    )
    language: Language = "zh-CN"

    @model_validator(mode="after")
    def _url(self) -> "SubscriptionIn":
        if (self.channel == "webhook") != (self.url is not None):
            raise BilingualError(
                "a webhook subscription has a url, an inbox one has none",
                "webhook 订阅须有地址（url），站内收件箱订阅则不能有",
            )
        return self


class SubscriptionPatch(PatchModel):
    """Change patterns, filters, URL or language; `status: active` re-enables a webhook."""

    not_null = ("event_types", "filters", "language", "status")

    event_types: list[Pattern] | None = Field(default=None, min_length=1, max_length=50)
    filters: Filters | None = None
    url: AnyHttpUrl | None = None
    language: Language | None = None
    status: Literal["active", "paused"] | None = None


class SubscriptionOut(BaseModel):
    """A subscription (the secret is never shown again)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    owner_kind: str
    owner: str
    event_types: list[str]
    filters: dict[str, Any]
    channel: str
    url: str | None
    language: str
    status: Literal["active", "paused", "disabled"]
    consecutive_failures: int
    failing_since: datetime | None = Field(description="First failure since the last success")
    disabled_reason: str | None
    previous_secret_until: datetime | None = Field(
        description="Until then the previous secret also signs (a rotation's overlap)"
    )
    created_at: datetime
    version: int


class SubscriptionCreated(SubscriptionOut):
    """The answer to a create or a rotation: the webhook secret, this once."""

    secret: str | None = Field(description="whsec_… (Standard Webhooks); shown only now")


class RotateIn(Input):
    """A new secret; the old one keeps signing for the overlap."""

    overlap_s: int = Field(default=86_400, ge=0, le=7 * 86_400)
