"""User API shapes."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from kit.auth import NonAdminScope, Scope
from kit.uscc import Uscc
from kit.validation import Input, PatchModel

POLICY_TEXT = (
    "At least 12 characters (`GATEWAY_PASSWORD_MIN_LENGTH` may ask for more) and not "
    "containing the user name (case-insensitive); a 422 names `password` otherwise"
)
MIN_PASSWORD = 12  # the schema's floor, so generated clients know it; the setting may raise it
Password = Field(min_length=MIN_PASSWORD, max_length=200, description=POLICY_TEXT)


class _UserBase(BaseModel):
    username: str = Field(pattern=r"^[a-z0-9][a-z0-9._@-]{2,99}$")
    password: str = Password
    name: str = Field(min_length=1, max_length=200)
    agency: str | None = Field(default=None, max_length=40)


class EnterpriseUserIn(_UserBase, Input):
    """Enterprise staff: bound to one USCC."""

    kind: Literal["enterprise"]
    uscc: Uscc
    scopes: list[NonAdminScope] = Field(min_length=1)


class InspectorUserIn(_UserBase, Input):
    """An enforcement officer: bound to one inspector id."""

    kind: Literal["inspector"]
    inspector_id: str = Field(min_length=1, max_length=64)
    scopes: list[NonAdminScope] = Field(min_length=1)


class OfficeUserIn(_UserBase, Input):
    """Zone office or agency staff."""

    kind: Literal["office"]
    scopes: list[Scope] = Field(min_length=1)


UserIn = Annotated[EnterpriseUserIn | InspectorUserIn | OfficeUserIn, Field(discriminator="kind")]


class UserPatch(PatchModel):
    """Change name, scopes, active flag or password."""

    not_null = ("name", "scopes", "active", "password")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    scopes: list[Scope] | None = Field(default=None, min_length=1)
    active: bool | None = None
    password: str | None = Field(
        default=None, min_length=MIN_PASSWORD, max_length=200, description=POLICY_TEXT
    )


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
