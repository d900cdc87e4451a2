"""Registry rules that are pure data: lifecycle and membership decisions."""

from datetime import date

import pytest

from services.registry.domain import (
    STAGE_TASKS,
    Stage,
    allowed_transitions,
    manual_transitions,
    schedule_status,
)
from services.registry.memberships.schemas import Decision, MembershipStatus
from services.registry.memberships.service import DECISIONS


@pytest.mark.parametrize(
    ("stage", "allowed"),
    [
        (Stage.planned, [Stage.launching, Stage.revoked]),
        (Stage.launching, [Stage.implementing, Stage.revoked]),
        (Stage.implementing, [Stage.assessing, Stage.revoked]),
        (Stage.assessing, [Stage.accepted, Stage.revoked]),
        (Stage.accepted, [Stage.revoked]),
        (Stage.revoked, []),
    ],
)
def test_lifecycle(stage: Stage, allowed: list[Stage]) -> None:
    assert allowed_transitions(stage) == allowed


def test_a_stage_move_never_reaches_accepted() -> None:
    """Only the accepting authority's decision does (指导意见 四(四))."""
    assert all(Stage.accepted not in manual_transitions(s) for s in Stage)
    assert manual_transitions(Stage.assessing) == [Stage.revoked]
    assert manual_transitions(Stage.planned) == allowed_transitions(Stage.planned)


@pytest.mark.parametrize(
    ("stage", "plan_end", "status"),
    [
        (Stage.implementing, date(2020, 2, 29), "overdue"),
        (Stage.assessing, date(2020, 3, 1), "on_schedule"),  # the last day is still on time
        (Stage.accepted, date(2018, 2, 28), "on_schedule"),
        (Stage.revoked, date(2018, 2, 28), "on_schedule"),
        (Stage.planned, None, "on_schedule"),
    ],
)
def test_schedule_status(stage: Stage, plan_end: date | None, status: str) -> None:
    assert schedule_status(stage, plan_end, date(2020, 3, 1)) == status


def test_every_working_stage_has_the_work_plans_tasks() -> None:
    assert [t[0] for t in STAGE_TASKS[Stage.launching]] == [
        "survey",
        "apply_upward",
        "kickoff_meeting",
    ]
    assert len(STAGE_TASKS[Stage.implementing]) == 4
    assert "acceptance" in [t[0] for t in STAGE_TASKS[Stage.assessing]]


def test_decisions_cover_the_membership_lifecycle() -> None:
    S = MembershipStatus
    assert DECISIONS[Decision.admit][1] is S.admitted
    assert S.removed not in DECISIONS[Decision.reinstate][0]
    # reasons are required exactly for the adverse decisions
    assert {d for d, (_, _, needs) in DECISIONS.items() if needs} == {
        Decision.reject,
        Decision.suspend,
        Decision.remove,
    }
    # no decision leaves a final state
    finals = {S.rejected, S.removed}
    assert all(not (src & finals) for src, _, _ in DECISIONS.values())
