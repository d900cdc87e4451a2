"""Agency API shapes."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class AgencyIn(BaseModel):
    """A member agency to add."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,39}$", examples=["commerce"])
    name_zh: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    group_role: Literal["leader", "deputy", "member", "office"] = "member"


class AgencyOut(AgencyIn):
    """A member agency."""

    model_config = ConfigDict(from_attributes=True)

    created_at: datetime
