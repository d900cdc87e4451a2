"""Checklist API shapes."""

import uuid
from datetime import datetime

from pydantic import ConfigDict, Field, model_validator

from kit.industries import Industry
from kit.problem_text import BilingualError
from kit.validation import Input


class Item(Input):
    """One inspection item: what is checked, on what legal basis, and when it passes."""

    code: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,59}$", examples=["LED-01"])
    title: str = Field(min_length=1, max_length=300)
    legal_basis: str = Field(min_length=1, max_length=500, examples=["GB 7000.1-2015 §4"])
    criterion: str = Field(min_length=1, max_length=1000, description="The pass criterion")


class ChecklistIn(Input):
    """A checklist; posting an existing code makes its next version."""

    code: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{1,59}$", examples=["lighting-export"])
    industry: Industry
    title: str = Field(min_length=1, max_length=200)
    items: list[Item] = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _unique_items(self) -> "ChecklistIn":
        codes = [i.code for i in self.items]
        if len(set(codes)) != len(codes):
            raise BilingualError(
                "item codes must be unique within a checklist", "同一检查表内的项目代码不能重复"
            )
        return self


class ChecklistOut(ChecklistIn):
    """A checklist version."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    version: int
    created_by: str
    created_at: datetime
