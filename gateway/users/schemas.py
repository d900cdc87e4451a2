"""User API shapes."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gateway.clients.schemas import _check_scopes
from kit.uscc import Uscc
from kit.validation import PatchModel

Password = Field(min_length=12, max_length=200, description="At least 12 characters")


class UserIn(BaseModel):
    """A user to create; an enterprise user needs a USCC, an inspector an inspector id."""

    username: str = Field(pattern=r"^[a-z0-9][a-z0-9._@-]{2,99}$")
    password: str = Password
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["enterprise", "inspector", "office"]
    agency: str | None = Field(default=None, max_length=40)
    uscc: Uscc | None = None
    inspector_id: str | None = Field(default=None, max_length=64)
    scopes: list[str] = Field(min_length=1)

    @field_validator("scopes")
    @classmethod
    def _known_scopes(cls, scopes: list[str]) -> list[str]:
        return _check_scopes(scopes)

    @model_validator(mode="after")
    def _binding_fits_kind(self) -> "UserIn":
        if self.kind == "enterprise" and not self.uscc:
            raise ValueError("an enterprise user needs a uscc")
        if self.kind == "inspector" and not self.inspector_id:
            raise ValueError("an inspector user needs an inspector_id")
        if self.kind != "enterprise" and self.uscc:
            raise ValueError("only enterprise users are bound to a uscc")
        if "admin" in self.scopes and self.kind != "office":
            raise ValueError("only office users may hold the admin scope")
        return self


class UserPatch(PatchModel):
    """Change name, scopes, active flag or password."""

    not_null = ("name", "scopes", "active", "password")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    scopes: list[str] | None = Field(default=None, min_length=1)
    active: bool | None = None
    password: str | None = Field(default=None, min_length=12, max_length=200)

    @field_validator("scopes")
    @classmethod
    def _known_scopes(cls, scopes: list[str] | None) -> list[str] | None:
        return None if scopes is None else _check_scopes(scopes)


class UserOut(BaseModel):
    """A user (never the password or its hash)."""

    model_config = ConfigDict(from_attributes=True)

    username: str
    name: str
    kind: str
    agency: str | None
    uscc: str | None
    inspector_id: str | None
    scopes: list[str]
    active: bool
    created_at: datetime
