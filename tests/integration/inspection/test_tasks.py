"""Recording a drawn task's result: one inspector records, each other assigned inspector
confirms with their own token, and only then is the task completed, the result announced for
the agency that checked and a failure's corrective action opened; the results refused."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.problems import Conflict, ProblemError
from services.inspection.campaigns import service as campaigns
from services.inspection.campaigns.schemas import CampaignIn, DrawIn
from services.inspection.checklists.models import Checklist
from services.inspection.inspectors.models import Inspector
from services.inspection.tasks import service
from services.inspection.tasks.models import Task
from services.inspection.tasks.schemas import ResultIn
from tests.integration.conftest import emitted
from tests.integration.inspection.conftest import Listed

Pool = Callable[..., Awaitable[list[Inspector]]]


async def _drawn_task(
    session: AsyncSession,
    office: Principal,
    checklist: Checklist,
    listed: Listed,
    inspectors: list[Inspector],
    agencies: list[str],
) -> Task:
    """The one task of a campaign drawing the zone's single level-D member."""
    zone = f"zone-{uuid.uuid4().hex[:8]}"
    await listed(zone=zone, level="D")
    campaign_in = CampaignIn.model_validate(
        {
            "title": "专项抽查",
            "agencies": agencies,
            "zones": [zone],
            "checklist_id": checklist.id,
            "window_start": date(2026, 9, 1),
            "window_end": date(2026, 9, 30),
        }
    )
    campaign = await campaigns.create(session, campaign_in, office)
    await campaigns.draw(session, campaign, DrawIn(), office)
    task = await session.scalar(select(Task).where(Task.campaign_id == campaign.id))
    assert task is not None and len(task.inspector_ids) == 2
    assert set(task.inspector_ids) <= {i.id for i in inspectors}
    return task


def _result(task: Task, verdict: str, **outcomes: str) -> ResultIn:
    return ResultIn.model_validate(
        {
            "findings": [
                {
                    "item": item,
                    "outcome": outcome,
                    "note": "样品标识不全" if outcome == "fail" else None,
                }
                for item, outcome in outcomes.items()
            ],
            "verdict": verdict,
            "checked_at": datetime.now(UTC) - timedelta(hours=3),
        }
    )


def _as_inspector(inspector_id: uuid.UUID) -> Principal:
    return Principal(
        subject=f"inspector-{inspector_id}",
        scopes=frozenset({"inspection:write"}),
        inspector_id=str(inspector_id),
    )


def _completed(events: list[tuple[str, str, dict[str, Any]]]) -> list[dict[str, Any]]:
    return [d for t, _, d in events if t == "inspection.task.completed.v1"]


async def test_a_pass_is_announced_for_the_agency_of_the_inspector_who_recorded_it(
    session: AsyncSession, office: Principal, checklist: Checklist, listed: Listed, pool: Pool
) -> None:
    staff = await pool("samr", 1) + await pool("customs", 1)  # a joint campaign
    task = await _drawn_task(session, office, checklist, listed, staff, ["samr", "customs"])
    customs_officer = next(i for i in staff if i.agency == "customs")

    result = _result(
        task, "pass", **{"LED-01": "pass", "LED-02": "pass", "LED-03": "not_applicable"}
    )
    partner = next(i for i in task.inspector_ids if i != customs_officer.id)
    await service.record_result(session, task, result, _as_inspector(customs_officer.id))
    assert task.status == "open" and _completed(await emitted(session)) == []
    await service.confirm(session, task, _as_inspector(partner))

    row = await session.get_one(Task, task.id, populate_existing=True)
    assert (row.status, row.verdict, row.version) == ("completed", "pass", 3)
    assert row.completed_at == result.checked_at and row.result is not None
    (completed,) = _completed(await emitted(session))
    assert {k: completed[k] for k in ("task_id", "uscc", "agency", "outcome", "severity")} == {
        "task_id": str(task.id),
        "uscc": task.uscc,
        "agency": "customs",
        "outcome": "pass",
        "severity": "general",
    }
    assert completed["checklist_items"] == ["LED-01", "LED-02"]  # what was actually checked
    with pytest.raises(Conflict):
        await service.record_result(session, row, result, _as_inspector(partner))


async def test_a_failure_opens_a_corrective_action_due_in_thirty_days(
    session: AsyncSession, office: Principal, checklist: Checklist, listed: Listed, pool: Pool
) -> None:
    staff = await pool("samr", 2)
    task = await _drawn_task(session, office, checklist, listed, staff, ["samr"])

    first, second = task.inspector_ids
    failed = _result(task, "fail", **{"LED-01": "pass", "LED-02": "fail"})
    await service.record_result(session, task, failed, _as_inspector(first))
    assert not [t for t, _, _ in await emitted(session) if t == "inspection.capa.opened.v1"]
    await service.confirm(session, task, _as_inspector(second))

    events = await emitted(session)
    (completed,) = _completed(events)
    assert (completed["outcome"], completed["agency"]) == ("fail", "samr")
    opened = [(s, d) for t, s, d in events if t == "inspection.capa.opened.v1"]
    assert [(s, d["task_id"], d["status"]) for s, d in opened] == [
        (task.uscc, str(task.id), "open")
    ]
    due = datetime.fromisoformat(str(opened[0][1]["due_at"]))
    assert timedelta(days=29) < due - datetime.now(UTC) <= timedelta(days=30)


async def test_results_not_of_the_checklist_or_not_by_the_task_inspectors_are_refused(
    session: AsyncSession, office: Principal, checklist: Checklist, listed: Listed, pool: Pool
) -> None:
    staff = await pool("samr", 3)
    task = await _drawn_task(session, office, checklist, listed, staff, ["samr"])
    outsider = next(i for i in staff if i.id not in task.inspector_ids)
    recorder = _as_inspector(task.inspector_ids[0])

    with pytest.raises(ProblemError) as unknown_item:
        await service.record_result(
            session, task, _result(task, "pass", **{"LED-99": "pass"}), recorder
        )
    assert unknown_item.value.slug == "validation"
    with pytest.raises(ProblemError) as nothing_to_confirm:
        await service.confirm(session, task, recorder)
    assert nothing_to_confirm.value.slug == "conflict"
    with pytest.raises(ProblemError) as not_assigned:
        result = _result(task, "pass", **{"LED-01": "pass"})
        await service.record_result(session, task, result, _as_inspector(outsider.id))
    assert not_assigned.value.slug == "forbidden"
    agency_system = Principal(
        subject="samr-api", scopes=frozenset({"inspection:write"}), agency="samr"
    )
    for not_an_inspector in (agency_system, office):
        with pytest.raises(ProblemError) as refused:
            await service.record_result(
                session, task, _result(task, "pass", **{"LED-01": "pass"}), not_an_inspector
            )
        assert refused.value.slug == "forbidden"

    await service.record_result(
        session, task, _result(task, "pass", **{"LED-01": "pass"}), recorder
    )
    await service.confirm(session, task, recorder)  # the recorder's own again: no-op
    with pytest.raises(ProblemError) as confirming_for_another:
        await service.confirm(session, task, _as_inspector(outsider.id))
    assert confirming_for_another.value.slug == "forbidden"

    assert (await session.get_one(Task, task.id, populate_existing=True)).status == "open"
    assert _completed(await emitted(session)) == []
