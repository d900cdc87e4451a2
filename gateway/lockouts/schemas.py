"""Lockout API shapes."""

from datetime import datetime

from pydantic import BaseModel, Field


class LockoutOut(BaseModel):
    """An account locked after too many failed logins."""

    account: str = Field(
        description="`client:<client_id>` or `user:<username>`", examples=["user:wang.wei"]
    )
    source: str | None = Field(
        description="The address the failures came from; null: locked from every address"
    )
    failures: int = Field(description="Failed logins in the window that led to the lockout")
    locked_until: datetime
