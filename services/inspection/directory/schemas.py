"""Directory API shapes."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from kit.validation import Input


class DirectoryOut(BaseModel):
    """An enterprise in inspection's directory."""

    model_config = ConfigDict(from_attributes=True)

    uscc: str
    name: str
    industry: str | None
    zones: list[str] = Field(description="Zones where it is an admitted member")
    level: str = Field(description="Credit level (B until credit has spoken)")
    unit: str | None = Field(description="The unit supervising it day to day (属地监管单位)")
    updated_at: datetime


class DirectoryPatch(Input):
    """Set the supervising unit: its inspectors are never drawn for this enterprise."""

    unit: str | None = Field(max_length=100)
