"""Request-shape helpers shared by every service's schemas."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, model_validator


class PatchModel(BaseModel):
    """A partial update: omitted fields stay as they are; `null` only where the field allows it.

    Subclasses list in `not_null` the fields that may be omitted but never set to null.
    """

    not_null: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _no_null_for_required(self) -> PatchModel:
        nulled = [
            f for f in self.not_null if f in self.model_fields_set and getattr(self, f) is None
        ]
        if nulled:
            raise ValueError(f"{', '.join(nulled)} cannot be null; omit a field to leave it as is")
        return self
