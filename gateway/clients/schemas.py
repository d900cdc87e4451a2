"""Client API shapes."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from kit.auth import ALL_SCOPES, Scope
from kit.uscc import Uscc
from kit.validation import Input, PatchModel


class ClientIn(Input):
    """A client to create; the secret is generated and shown once."""

    client_id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{2,99}$", examples=["customs-ningbo"])
    name: str = Field(min_length=1, max_length=200)
    agency: str | None = Field(default=None, max_length=40, examples=["customs"])
    scopes: list[Scope] = Field(min_length=1, description="Any of: " + ", ".join(ALL_SCOPES))
    uscc: Uscc | None = Field(default=None, description="Binds the client to one enterprise")
    inspector_id: str | None = Field(default=None, max_length=64)
    rate_limit_per_s: float | None = Field(
        default=None, ge=0, le=100_000, description="Requests per second; null = default, 0 = none"
    )
    rate_limit_burst: int | None = Field(default=None, ge=0, le=1_000_000)


class ClientOut(BaseModel):
    """A client (never its secret)."""

    model_config = ConfigDict(from_attributes=True)

    client_id: str
    name: str
    agency: str | None
    scopes: list[str]
    uscc: str | None
    inspector_id: str | None
    active: bool
    rate_limit_per_s: float | None
    rate_limit_burst: int | None
    created_at: datetime
    created_by: str | None


class ClientCreated(ClientOut):
    """The new client with its secret: store it now, it is not shown again."""

    client_secret: str


class ClientPatch(PatchModel):
    """Change scopes, name or active flag."""

    not_null = ("name", "scopes", "active")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    scopes: list[Scope] | None = Field(default=None, min_length=1)
    active: bool | None = None
    rate_limit_per_s: float | None = Field(default=None, ge=0, le=100_000)
    rate_limit_burst: int | None = Field(default=None, ge=0, le=1_000_000)


class TokenOut(BaseModel):
    """RFC 6749 access token response."""

    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int
    scope: str
