"""Credit repair (信用修复): an approval ends the fact's effect, rescores and announces both;
what is refused, and who may ask and decide."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.problems import Conflict, ProblemError
from kit.validation import CHINA
from services.credit.facts import service as facts
from services.credit.facts.models import Fact
from services.credit.facts.schemas import FactIn
from services.credit.policy import service as policy
from services.credit.policy.schemas import ModelIn
from services.credit.repairs import service
from services.credit.repairs.models import Repair
from services.credit.repairs.schemas import DecisionIn, RepairIn
from services.credit.scores.models import CreditEnterprise
from services.credit.scoring import DEFAULT_MODEL
from tests.integration.conftest import emitted

Announced = Callable[..., Awaitable[str]]


async def _fact(
    session: AsyncSession,
    uscc: str,
    kind: str,
    agency: Principal,
    *,
    severity: str = "general",
    days_ago: int = 100,  # past the 90-day waiting period of a general fact
) -> Fact:
    fact_in = FactIn.model_validate(
        {
            "uscc": uscc,
            "kind": kind,
            "severity": severity,
            "occurred_at": datetime.now(UTC) - timedelta(days=days_ago),
        }
    )
    fact, _, _ = await facts.submit(session, fact_in=fact_in, principal=agency)
    return fact


def _enterprise_user(uscc: str) -> Principal:
    return Principal(subject=f"user-{uscc}", scopes=frozenset({"credit:write"}), uscc=uscc)


async def test_an_approved_repair_ends_the_fact_s_effect_and_restores_the_level(
    session: AsyncSession, samr: Principal, announced: Announced
) -> None:
    uscc = await announced()
    penalty = await _fact(session, uscc, "penalty", samr)
    assert (await session.get_one(CreditEnterprise, uscc)).level == "C"

    asked = RepairIn(fact_id=penalty.id, reason="已整改并缴清罚款", evidence_ref="整改报告 2026-07")
    repair = await service.request(session, repair_in=asked, principal=_enterprise_user(uscc))
    assert (repair.status, repair.source_agency) == ("pending", "samr")
    await service.decide(
        session, repair, decision_in=DecisionIn(decision="approve", note="同意"), principal=samr
    )

    fact = await session.get_one(Fact, penalty.id)
    row = await session.get_one(Repair, repair.id)
    assert fact.ended_at is not None and fact.ended_at == row.effective_from
    assert (row.status, row.decided_by, row.decision_note) == ("approved", "samr-system", "同意")
    enterprise = await session.get_one(CreditEnterprise, uscc)
    assert (enterprise.score, enterprise.level, enterprise.version) == (100, "B", 3)
    events = [(t, d) for t, s, d in await emitted(session) if s == uscc]
    assert [(t, d.get("to_level"), d.get("sequence")) for t, d in events[-2:]] == [
        ("credit.level.changed.v1", "B", 3),
        ("credit.repair.decided.v1", None, None),
    ]
    assert events[-2][1]["cause"] == "credit repair of penalty fact"
    assert events[-1][1]["status"] == "approved" and events[-1][1]["fact_id"] == str(penalty.id)


async def test_a_rejected_repair_changes_no_score(
    session: AsyncSession, samr: Principal, office: Principal, announced: Announced
) -> None:
    uscc = await announced()
    recall = await _fact(session, uscc, "recall", samr)
    before = await session.get_one(CreditEnterprise, uscc)
    score, version = before.score, before.version
    repair = await service.request(
        session,
        repair_in=RepairIn(fact_id=recall.id, reason="已召回"),
        principal=office,  # for the enterprise
    )
    await service.decide(
        session, repair, decision_in=DecisionIn(decision="reject", note="证据不足"), principal=samr
    )

    assert (await session.get_one(Fact, recall.id)).ended_at is None
    after = await session.get_one(CreditEnterprise, uscc)
    assert (after.score, after.version) == (score, version)
    (decided,) = [d for t, _, d in await emitted(session) if t == "credit.repair.decided.v1"]
    assert (decided["status"], decided["effective_from"]) == ("rejected", None)
    with pytest.raises(Conflict):  # decided once
        await service.decide(
            session, repair, decision_in=DecisionIn(decision="approve"), principal=samr
        )


async def test_repairs_are_refused_for_favourable_facts_twins_and_the_wrong_people(
    session: AsyncSession, samr: Principal, announced: Announced
) -> None:
    uscc, other = await announced(), await announced()
    award = await _fact(session, uscc, "award", samr)
    penalty = await _fact(session, uscc, "penalty", samr)
    user = _enterprise_user(uscc)

    with pytest.raises(ProblemError) as favourable:
        await service.request(
            session, repair_in=RepairIn(fact_id=award.id, reason="x"), principal=user
        )
    assert favourable.value.slug == "validation"
    with pytest.raises(ProblemError) as not_theirs:
        await service.request(
            session,
            repair_in=RepairIn(fact_id=penalty.id, reason="x"),
            principal=_enterprise_user(other),
        )
    assert not_theirs.value.slug == "forbidden"

    repair = await service.request(
        session, repair_in=RepairIn(fact_id=penalty.id, reason="已整改"), principal=user
    )
    with pytest.raises(Conflict):
        await service.request(
            session, repair_in=RepairIn(fact_id=penalty.id, reason="再次"), principal=user
        )
    customs = Principal(
        subject="customs-system", scopes=frozenset({"credit:write"}), agency="customs"
    )
    with pytest.raises(ProblemError) as wrong_agency:
        await service.decide(
            session, repair, decision_in=DecisionIn(decision="approve"), principal=customs
        )
    assert wrong_agency.value.slug == "forbidden"
    assert repair.status == "pending"
    assert [t for t, _, _ in await emitted(session) if t == "credit.repair.decided.v1"] == []


async def test_a_repair_before_its_waiting_period_is_refused_naming_the_date(
    session: AsyncSession, samr: Principal, announced: Announced
) -> None:
    """信用修复 has a policy: a 200,000 CNY serious penalty a week old waits a year, a general
    fact 90 days; a minor one needs no repair at all."""
    uscc = await announced()
    user = _enterprise_user(uscc)
    fact_in = FactIn.model_validate(
        {
            "uscc": uscc,
            "kind": "penalty",
            "severity": "serious",
            "amount": 200_000,
            "occurred_at": datetime.now(UTC) - timedelta(days=7),
        }
    )
    serious, _, _ = await facts.submit(session, fact_in=fact_in, principal=samr)
    general = await _fact(session, uscc, "spot_check_fail", samr, days_ago=30)
    minor = await _fact(session, uscc, "tax_arrears", samr, severity="minor", days_ago=30)

    for fact, days in ((serious, 365), (general, 90)):
        with pytest.raises(Conflict) as early:
            await service.request(
                session, repair_in=RepairIn(fact_id=fact.id, reason="已整改"), principal=user
            )
        earliest = fact.occurred_at.astimezone(CHINA).date() + timedelta(days=days)
        assert early.value.extensions["rule"] == "repair_waiting_period"
        assert early.value.extensions["earliest_repair_date"] == earliest.isoformat()
        assert str(earliest) in early.value.detail
    with pytest.raises(ProblemError) as needless:
        await service.request(
            session, repair_in=RepairIn(fact_id=minor.id, reason="已缴清"), principal=user
        )
    assert needless.value.slug == "validation"
    assert needless.value.extensions["errors"][0]["field"] == "fact_id"
    assert await session.scalar(select(func.count()).select_from(Repair)) == 0


async def test_waiting_periods_are_model_data_and_the_decision_records_its_reasons(
    session: AsyncSession,
    samr: Principal,
    office: Principal,
    announced: Announced,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(policy, "_parsed", {})  # a version 2 of this test is rolled back
    uscc = await announced()
    recent = await _fact(session, uscc, "spot_check_fail", samr, days_ago=30)
    body = DEFAULT_MODEL.model_dump(mode="json")
    body["repair_waiting_days_by_kind"] = {"spot_check_fail": {"general": 14}}
    await policy.publish_version(
        session,
        model_in=ModelIn.model_validate(body),
        principal=office,
        after=await policy.lock_current(session),
    )

    repair = await service.request(
        session,
        repair_in=RepairIn(fact_id=recent.id, reason="已整改"),
        principal=_enterprise_user(uscc),
    )
    occurred = recent.occurred_at.astimezone(CHINA).date()
    assert (repair.earliest_repair_date, repair.model_version) == (
        occurred + timedelta(days=14),
        2,
    )
    with pytest.raises(ProblemError) as bare:  # a rejection says why
        await service.decide(
            session, repair, decision_in=DecisionIn(decision="reject"), principal=samr
        )
    assert bare.value.extensions["errors"][0]["field"] == "note"
    with pytest.raises(Conflict) as backdated:  # effective before the waiting period ended
        await service.decide(
            session,
            repair,
            decision_in=DecisionIn(
                decision="approve", effective_from=recent.occurred_at + timedelta(days=1)
            ),
            principal=samr,
        )
    assert backdated.value.extensions["rule"] == "repair_waiting_period"
    await service.decide(
        session, repair, decision_in=DecisionIn(decision="approve", note="整改到位"), principal=samr
    )
    row = await session.get_one(Repair, repair.id)
    assert [r["code"] for r in row.decision_reasons or []] == ["waiting_period", "agency_note"]
    assert "14-day waiting period" in (row.decision_reasons or [])[0]["detail"]
    assert "model v2" in (row.decision_reasons or [])[0]["detail"]
