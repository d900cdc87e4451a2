"""Vocabulary shared by the registry's domains: industries, levels, stages and their tasks."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Literal

from kit.industries import INDUSTRY_NAMES, Industry
from kit.vocabulary import TASKS

__all__ = ["INDUSTRY_NAMES", "Industry"]  # shared with every service, defined in kit


class ZoneLevel(StrEnum):
    """国家级 / 省级 示范区."""

    provincial = "provincial"
    national = "national"


ACCEPTANCE_AUTHORITY: dict[ZoneLevel, tuple[str, str]] = {
    ZoneLevel.provincial: (
        "宁波检验检疫局（市级检验检疫机构）",
        "City inspection and quarantine bureau",
    ),
    ZoneLevel.national: ("国家质检总局（国家质量主管部门）", "National quality authority"),
}
# The agency (kind `external_authority`) whose token records a zone's acceptance decision
# (指导意见 四(四)): 宁波检验检疫局 for provincial zones, 国家质检总局 for national ones.
ACCEPTING_AGENCY: dict[ZoneLevel, str] = {
    ZoneLevel.provincial: "ningbo_ciq",
    ZoneLevel.national: "aqsiq",
}


class Stage(StrEnum):
    """Zone lifecycle (实施步骤)."""

    planned = "planned"  # 规划
    launching = "launching"  # 启动建设
    implementing = "implementing"  # 推进实施
    assessing = "assessing"  # 总结考核
    accepted = "accepted"  # 验收通过
    revoked = "revoked"  # 撤销


NEXT_STAGE: dict[Stage, Stage] = {
    Stage.planned: Stage.launching,
    Stage.launching: Stage.implementing,
    Stage.implementing: Stage.assessing,
    Stage.assessing: Stage.accepted,
}


def allowed_transitions(stage: Stage) -> list[Stage]:
    """Where a zone may go from `stage`: the next stage, or revoked from any live state."""
    if stage is Stage.revoked:
        return []
    allowed = [NEXT_STAGE[stage]] if stage in NEXT_STAGE else []
    return [*allowed, Stage.revoked]


def manual_transitions(stage: Stage) -> list[Stage]:
    """Where a stage move may take a zone: anywhere the lifecycle allows but `accepted`, which
    only the accepting authority's decision reaches."""
    return [s for s in allowed_transitions(stage) if s is not Stage.accepted]


# The work plan's tasks per stage (二、实施步骤及任务): (code, zh, en).
STAGE_CODES: dict[Stage, list[str]] = {
    Stage.launching: ["survey", "apply_upward", "kickoff_meeting"],
    Stage.implementing: [
        "assess_applicants",
        "policies_supervision",
        "spot_checks_brand",
        "commitments_awards",
    ],
    Stage.assessing: [
        "guidance_visit",
        "self_check",
        "dossier",
        "acceptance",
        "national_application",
    ],
}
# (code, zh, en), the names from the one vocabulary (kit/vocabulary.py).
STAGE_TASKS: dict[Stage, list[tuple[str, str, str]]] = {
    stage: [(code, *TASKS[code]) for code in codes] for stage, codes in STAGE_CODES.items()
}


# Schedule (建设计划): a zone past its planned end and not accepted is overdue; a revoked one
# is out of the plan, and one with no planned end has no schedule to miss.
ScheduleStatus = Literal["on_schedule", "overdue"]
ON_SCHEDULE: ScheduleStatus = "on_schedule"
OVERDUE: ScheduleStatus = "overdue"


def schedule_status(stage: Stage, plan_end: date | None, today: date) -> ScheduleStatus:
    """`overdue` when `today` is past `plan_end` and the zone is neither accepted nor revoked,
    else `on_schedule`."""
    if plan_end is None or stage in (Stage.accepted, Stage.revoked):
        return ON_SCHEDULE
    return OVERDUE if today > plan_end else ON_SCHEDULE
