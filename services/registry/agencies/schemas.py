"""Agency API shapes."""

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field

from kit.validation import AGENCY_PATTERN, Input


class AgencyIn(Input):
    """A member agency to add."""

    code: str = Field(pattern=AGENCY_PATTERN, examples=["commerce"])
    name_zh: str = Field(min_length=1, max_length=200, description="Name in Chinese (zh-CN)")
    name_en: str = Field(min_length=1, max_length=200, description="Name in English")
    group_role: Literal["leader", "deputy", "member", "office", "none"] = Field(
        default="member", description="Role in the county's leadership group (`none`: outside it)"
    )
    kind: Literal["member", "external_authority"] = Field(
        default="member",
        description="`external_authority`: an accepting authority (验收单位) outside the county",
    )


class AgencyOut(AgencyIn):
    """A member agency."""

    model_config = ConfigDict(from_attributes=True)

    created_at: datetime
