"""Applying incoming events (credit's consumer handlers): the enterprise announced once, one
fact per event however often it is delivered, the facts' kinds, agencies and levels."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.events import (
    AlertRaised,
    CloudEvent,
    CommitmentChanged,
    EnterpriseRegistered,
    TaskCompleted,
    make_event,
)
from services.credit import consumers
from services.credit.facts.models import Fact
from services.credit.scores.models import CreditEnterprise, LevelChange
from tests.helpers import new_uscc
from tests.integration.conftest import emitted

Announced = Callable[..., Awaitable[str]]


def _event(source: str, type_: str, subject: str, data: BaseModel) -> CloudEvent:
    return make_event(source=f"/services/{source}", type=type_, subject=subject, data=data)


async def _facts(session: AsyncSession, uscc: str) -> list[Fact]:
    return list(await session.scalars(select(Fact).where(Fact.uscc == uscc).order_by(Fact.id)))


async def test_an_announced_enterprise_starts_at_the_base_score_once(
    session: AsyncSession,
) -> None:
    uscc = new_uscc()
    registered = EnterpriseRegistered(uscc=uscc, name="宁海灯具有限公司", industry="lighting")
    first = _event("registry", "registry.enterprise.registered.v1", uscc, registered)
    await consumers.on_registered(session, [(registered, first)])
    again = _event("registry", "registry.enterprise.registered.v1", uscc, registered)
    await consumers.on_registered(session, [(registered, again)])

    row = await session.get_one(CreditEnterprise, uscc)
    assert (row.score, row.level, row.model_version, row.industry) == (100, "B", 1, "lighting")
    assert row.registered_at == first.time
    assert [(t, d["to_level"], d["sequence"]) for t, _, d in await emitted(session)] == [
        ("credit.level.changed.v1", "B", 1)
    ]


async def test_a_run_of_announcements_is_applied_at_once(session: AsyncSession) -> None:
    """An import's registrations in one call: each new enterprise once, at its own event's
    time, with one level change and one event each; one announced twice counts once."""
    usccs = [new_uscc() for _ in range(3)]
    run = []
    for uscc in [*usccs, usccs[0]]:
        registered = EnterpriseRegistered(uscc=uscc, name=f"企业{uscc[-4:]}", industry="toys")
        run.append(
            (registered, _event("registry", "registry.enterprise.registered.v1", uscc, registered))
        )
    await consumers.on_registered(session, run)

    rows = {u: await session.get_one(CreditEnterprise, u) for u in usccs}
    assert {u: (r.level, r.registered_at) for u, r in rows.items()} == {
        u: ("B", event.time) for (_, event), u in zip(run, usccs, strict=False)
    }
    changes = await session.scalars(select(LevelChange).where(LevelChange.uscc.in_(usccs)))
    assert sorted(c.uscc for c in changes) == sorted(usccs)
    assert sorted(s for _, s, _ in await emitted(session)) == sorted(usccs)


async def test_a_spot_check_result_is_one_fact_however_often_it_is_delivered(
    session: AsyncSession, announced: Announced
) -> None:
    uscc = await announced()
    task = TaskCompleted(
        task_id="task-1",
        campaign_id="campaign-1",
        uscc=uscc,
        agency="ciq",
        outcome="fail",
        severity="general",
        checklist_items=["LED-01", "LED-02"],
        completed_at=datetime.now(UTC) - timedelta(hours=2),
    )
    event = _event("inspection", "inspection.task.completed.v1", uscc, task)
    await consumers.on_task(session, task, event)
    await consumers.on_task(session, task, event)  # redelivered

    (fact,) = await _facts(session, uscc)
    assert (fact.kind, fact.severity, fact.source_agency) == ("spot_check_fail", "general", "ciq")
    assert fact.source_event_id is not None and str(fact.source_event_id) == event.id
    assert fact.occurred_at == task.completed_at and fact.recorded_by == "/services/inspection"
    assert fact.details["checklist_items"] == ["LED-01", "LED-02"]
    recorded = [d for t, _, d in await emitted(session) if t == "credit.fact.recorded.v1"]
    assert [(d["kind"], d["checklist_items"]) for d in recorded] == [
        ("spot_check_fail", ["LED-01", "LED-02"])
    ]
    assert (await session.get_one(CreditEnterprise, uscc)).score == 88  # 100 − 12


async def test_a_breach_from_before_severities_is_the_office_s_serious_fact_forcing_d(
    session: AsyncSession, announced: Announced
) -> None:
    uscc = await announced()
    breach = CommitmentChanged(
        commitment_id="c-1",
        zone_code="lighting-provincial",
        uscc=uscc,
        text_sha256="0" * 64,
        signed_on=date(2026, 1, 5),
        status="breached",
        reason="隐瞒不合格批次",
    )
    event = _event("registry", "registry.commitment.breached.v1", uscc, breach)
    await consumers.on_commitment_breached(session, breach, event)

    (fact,) = await _facts(session, uscc)
    assert (fact.kind, fact.severity, fact.source_agency) == (
        "commitment_breached",
        "serious",
        "commerce",
    )
    assert fact.description == "隐瞒不合格批次"
    assert fact.details == {"zone_code": "lighting-provincial", "text_sha256": "0" * 64}
    assert (await session.get_one(CreditEnterprise, uscc)).level == "D"
    levels = [d for t, _, d in await emitted(session) if t == "credit.level.changed.v1"]
    assert [(d["to_level"], d["sequence"], d["fact_id"]) for d in levels][-1] == (
        "D",
        2,
        str(fact.id),
    )


def _commitment(uscc: str, status: str, commitment_id: str, **more: object) -> CommitmentChanged:
    return CommitmentChanged.model_validate(
        {
            "commitment_id": commitment_id,
            "zone_code": "lighting-provincial",
            "uscc": uscc,
            "text_sha256": "1" * 64,
            "signed_on": date(2026, 1, 5),
            "status": status,
            **more,
        }
    )


async def test_a_countersigned_commitment_is_one_fact_from_the_countersigning_agency(
    session: AsyncSession, announced: Announced
) -> None:
    uscc = await announced()
    first = _commitment(uscc, "countersigned", "c-1", agency="commerce", actor="clerk")
    await consumers.on_commitment_countersigned(
        session, first, _event("registry", "registry.commitment.countersigned.v1", uscc, first)
    )
    # signing again supersedes it; the new version countersigned adds no second fact
    second = _commitment(
        uscc, "countersigned", "c-2", agency="ciq", actor="other", version=2, supersedes="c-1"
    )
    await consumers.on_commitment_countersigned(
        session, second, _event("registry", "registry.commitment.countersigned.v1", uscc, second)
    )

    (fact,) = await _facts(session, uscc)
    assert (fact.kind, fact.severity, fact.source_agency) == (
        "commitment_signed",
        "general",
        "commerce",
    )
    assert fact.details["countersigned_by"] == "clerk" and fact.details["version"] == 1
    assert (await session.get_one(CreditEnterprise, uscc)).score > 100


async def test_a_commitment_ended_with_its_zone_stops_counting(
    session: AsyncSession, announced: Announced
) -> None:
    uscc = await announced()
    signed = _commitment(uscc, "countersigned", "c-1", agency="commerce", actor="clerk")
    await consumers.on_commitment_countersigned(
        session, signed, _event("registry", "registry.commitment.countersigned.v1", uscc, signed)
    )
    raised = (await session.get_one(CreditEnterprise, uscc)).score
    ended = _commitment(uscc, "ended", "c-1", reason="zone revoked")
    event = _event("registry", "registry.commitment.ended.v1", uscc, ended)
    await consumers.on_commitment_ended(session, ended, event)
    (fact,) = await _facts(session, uscc)
    assert fact.ended_at == event.time
    assert (await session.get_one(CreditEnterprise, uscc)).score < raised
    await consumers.on_commitment_ended(session, ended, event)  # again: nothing left to end


async def test_a_breach_is_a_fact_of_its_severity_on_its_evidence(
    session: AsyncSession, announced: Announced
) -> None:
    uscc = await announced()
    breach = _commitment(
        uscc,
        "breached",
        "c-3",
        agency="market_supervision",
        severity="general",
        evidence="宁市监罚〔2026〕7号",
        reason="标签不实",
    )
    await consumers.on_commitment_breached(
        session, breach, _event("registry", "registry.commitment.breached.v1", uscc, breach)
    )
    (fact,) = await _facts(session, uscc)
    assert (fact.kind, fact.severity, fact.source_agency, fact.evidence_ref) == (
        "commitment_breached",
        "general",
        "market_supervision",
        "宁市监罚〔2026〕7号",
    )
    assert (await session.get_one(CreditEnterprise, uscc)).level != "D"


async def test_only_alerts_that_are_findings_about_an_enterprise_become_facts(
    session: AsyncSession, announced: Announced
) -> None:
    uscc = await announced()
    raised_at = datetime.now(UTC) - timedelta(days=1)

    def alert(signal: str, about: str | None) -> AlertRaised:
        return AlertRaised.model_validate(
            {
                "alert_id": f"alert-{signal}",
                "uscc": about,
                "signal_kind": signal,
                "severity": "serious",
                "agency": "ciq",
                "batch_id": "b-1",
                "reference": f"RASFF {signal}",
                "raised_at": raised_at,
            }
        )

    for data in (alert("complaint", uscc), alert("recall", None), alert("return", uscc)):
        event = _event("inspection", "inspection.alert.raised.v1", uscc, data)
        await consumers.on_alert(session, data, event)

    (fact,) = await _facts(session, uscc)
    assert (fact.kind, fact.severity, fact.evidence_ref) == ("return", "serious", "RASFF return")
    assert fact.details == {"alert_id": "alert-return", "batch_id": "b-1"}
    count = select(func.count()).select_from(Fact).where(Fact.kind == "recall")
    assert await session.scalar(count) == 0
