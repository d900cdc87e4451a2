"""Who may inspect an enterprise (回避): the rule the draw and targeted tasks share.

Never an inspector who declared a conflict with the enterprise, never one of the unit that
supervises it day to day (属地监管单位). Pure, so the draw can replay it.
"""

from __future__ import annotations


def of_own_unit(inspector_unit: str | None, target_unit: str | None) -> bool:
    """Whether the inspector is of the unit supervising the target; no unit (None) has none."""
    return target_unit is not None and inspector_unit == target_unit


def may_inspect(*, conflicted: bool, inspector_unit: str | None, target_unit: str | None) -> bool:
    """Neither in declared conflict with the target nor of its own unit."""
    return not conflicted and not of_own_unit(inspector_unit, target_unit)
