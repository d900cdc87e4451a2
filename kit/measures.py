"""Joint rewards and punishments (联合奖惩) in force per credit level: what a measure can say.

Credit's scoring model attaches measures to levels; each measure sets one or more of the
effects below, and every effect is read by a service at the moment of decision:

- `inspection_ratio` — the share of the level drawn in a random-inspection campaign
  (inspection, at the draw, unless the campaign names its own ratio);
- `honours_eligible` — whether the level may be nominated or granted an award (registry);
- `zone_admission` — `allowed`, `review` (admitted only with a reason) or `refused`
  (registry, when a membership is admitted);
- `removal_review` — a fall into the level raises a zone removal review (registry).

An effect no measure of a level sets takes the platform default of `DEFAULTS`. Credit
announces the resolved effects with every model version (`credit.model.published`);
registry and inspection keep the newest and fall back to `DEFAULTS` until they hear one.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Admission = Literal["allowed", "review", "refused"]
LEVELS = ("A", "B", "C", "D")


class LevelEffects(BaseModel):
    """The effects of one level's measures, resolved."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    inspection_ratio: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
    honours_eligible: bool
    zone_admission: Admission
    removal_review: bool


EFFECTS = tuple(LevelEffects.model_fields)

DEFAULTS: dict[str, LevelEffects] = {
    "A": LevelEffects(
        inspection_ratio=0.05, honours_eligible=True, zone_admission="allowed", removal_review=False
    ),
    "B": LevelEffects(
        inspection_ratio=0.10, honours_eligible=True, zone_admission="allowed", removal_review=False
    ),
    "C": LevelEffects(
        inspection_ratio=0.30, honours_eligible=True, zone_admission="review", removal_review=False
    ),
    "D": LevelEffects(
        inspection_ratio=1.0, honours_eligible=False, zone_admission="refused", removal_review=True
    ),
}


def effects_of(measures: dict[str, dict[str, object]] | None, level: str) -> LevelEffects:
    """A level's effects from a mirrored `{level: effects}` map, or the default."""
    found = (measures or {}).get(level)
    return LevelEffects.model_validate(found) if found else DEFAULTS[level]
