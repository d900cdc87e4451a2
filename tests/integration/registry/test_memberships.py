"""Admission (准入/退出), integrity commitments and the removal review a credit level of D
raises: the rows written, the events announced, the decisions refused."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.events import CloudEvent, CreditLevelChanged
from kit.pagination import PageParams
from kit.problems import Conflict, ProblemError
from services.registry import consumers
from services.registry.enterprises.models import Enterprise
from services.registry.memberships import commitment_events, service
from services.registry.memberships.models import Commitment, Membership
from services.registry.memberships.schemas import (
    ApplicationIn,
    BreachIn,
    BreachSeverity,
    CommitmentIn,
    Decision,
    DecisionIn,
)
from services.registry.zones import service as zones
from services.registry.zones.schemas import TransitionIn
from tests.integration.conftest import emitted
from tests.integration.registry.conftest import enterprise_in_zone

Registered = Callable[[], Awaitable[str]]


async def _membership_events(session: AsyncSession) -> list[tuple[str, str, dict[str, object]]]:
    return [e for e in await emitted(session) if e[0].startswith("registry.membership.")]


async def test_admission_is_recorded_step_by_step_and_announced(
    session: AsyncSession, office: Principal, zone: str, registered: Registered
) -> None:
    uscc = await registered()
    m = await service.apply(
        session, zone, application=ApplicationIn(uscc=uscc, note="申请加入"), principal=office
    )
    await service.decide(
        session, m, decision_in=DecisionIn(decision=Decision.assess), principal=office
    )
    await service.decide(
        session, m, decision_in=DecisionIn(decision=Decision.admit), principal=office
    )

    row = await session.get(Membership, m.id, populate_existing=True)
    assert row is not None and row.status == "admitted" and row.decided_at is not None
    steps = [(d.from_status, d.to_status, d.actor) for d in await service.history(session, m.id)]
    assert steps == [
        (None, "applied", "office-staff"),
        ("applied", "assessing", "office-staff"),
        ("assessing", "admitted", "office-staff"),
    ]
    events = await _membership_events(session)
    assert [(t, s) for t, s, _ in events] == [
        ("registry.membership.applied.v1", uscc),
        ("registry.membership.assessing.v1", uscc),
        ("registry.membership.admitted.v1", uscc),
    ]
    assert events[-1][2] == {
        "membership_id": str(m.id),
        "zone_code": zone,
        "uscc": uscc,
        "status": "admitted",
        "reason": None,
        "actor": "office-staff",
        "effective_at": None,  # decided now: the event's time
    }


async def test_one_open_membership_per_zone_until_it_is_closed(
    session: AsyncSession, office: Principal, zone: str, registered: Registered
) -> None:
    uscc = await registered()
    application = ApplicationIn(uscc=uscc)
    first = await service.apply(session, zone, application=application, principal=office)
    with pytest.raises(Conflict) as refused:
        await service.apply(session, zone, application=application, principal=office)
    assert refused.value.extensions["membership_id"] == str(first.id)

    rejected = DecisionIn(decision=Decision.reject, reason="产品结构不符合示范区要求")
    await service.decide(session, first, decision_in=rejected, principal=office)
    second = await service.apply(session, zone, application=application, principal=office)
    assert second.id != first.id and second.status == "applied"


async def test_decisions_that_do_not_fit_are_refused_and_not_announced(
    session: AsyncSession, office: Principal, zone: str, registered: Registered
) -> None:
    uscc = await registered()
    m = await service.apply(session, zone, application=ApplicationIn(uscc=uscc), principal=office)
    await service.decide(
        session, m, decision_in=DecisionIn(decision=Decision.admit), principal=office
    )
    before = await _membership_events(session)

    with pytest.raises(ProblemError) as illegal:
        await service.decide(
            session, m, decision_in=DecisionIn(decision=Decision.admit), principal=office
        )
    assert illegal.value.slug == "illegal-transition"
    assert illegal.value.extensions["allowed"] == ["suspend", "remove"]
    assert illegal.value.detail_zh is not None
    assert "入区记录当前为“已准入”" in illegal.value.detail_zh  # the status's name, not `admitted`
    with pytest.raises(ProblemError) as no_reason:
        await service.decide(
            session, m, decision_in=DecisionIn(decision=Decision.remove), principal=office
        )
    assert no_reason.value.slug == "validation"

    assert m.status == "admitted"
    assert await _membership_events(session) == before

    await zones.transition(
        session,
        await zones.get(session, zone),
        transition_in=TransitionIn(to="revoked", reason="撤销"),  # type: ignore[arg-type]
        principal=office,
    )
    other = await registered()
    with pytest.raises(Conflict):
        await service.apply(session, zone, application=ApplicationIn(uscc=other), principal=office)


def _commitment(
    zone: str, text: str = "本企业承诺：严格执行质量安全主体责任，诚信经营。"
) -> CommitmentIn:
    return CommitmentIn(
        zone_code=zone,
        signatory="王伟",
        signed_on=date(2026, 3, 1),
        text_version="2017-v1",
        text=text,
    )


async def _commitment_events(session: AsyncSession) -> list[tuple[str, str, dict[str, object]]]:
    return [e for e in await emitted(session) if e[0].startswith("registry.commitment.")]


async def test_a_commitment_is_kept_by_its_hash_countersigned_and_breached_once(
    session: AsyncSession, office: Principal, zone: str
) -> None:
    uscc = await enterprise_in_zone(session, zone)
    text = "本企业承诺：严格执行质量安全主体责任，诚信经营。"
    signed = await service.sign_commitment(
        session, uscc, commitment_in=_commitment(zone, text), principal=office
    )
    assert (signed.status, signed.version, signed.supersedes_id) == ("signed", 1, None)
    countersigned = await service.countersign_commitment(session, uscc, signed.id, principal=office)
    assert countersigned.status == "countersigned"
    assert (countersigned.countersigned_by, countersigned.countersigning_agency) == (
        "office-staff",
        "commerce",
    )
    assert countersigned.countersigned_at is not None
    with pytest.raises(ProblemError) as again:
        await service.countersign_commitment(session, uscc, signed.id, principal=office)
    assert again.value.slug == "illegal-transition"

    breach = BreachIn(
        severity=BreachSeverity.general,
        evidence="宁检罚〔2026〕12号",
        reason="出口产品抽检不合格且隐瞒",
    )
    await service.breach_commitment(session, uscc, signed.id, breach_in=breach, principal=office)
    with pytest.raises(Conflict):
        await service.breach_commitment(
            session, uscc, signed.id, breach_in=breach, principal=office
        )

    row = await session.get(Commitment, signed.id)
    assert row is not None and row.status == "breached" and row.breached_at is not None
    assert (row.breach_severity, row.breach_evidence) == ("general", "宁检罚〔2026〕12号")
    assert row.text_sha256 == hashlib.sha256(text.encode()).hexdigest()
    events = await _commitment_events(session)
    assert [(t, s, d["status"], d["agency"]) for t, s, d in events] == [
        ("registry.commitment.signed.v1", uscc, "signed", None),
        ("registry.commitment.countersigned.v1", uscc, "countersigned", "commerce"),
        ("registry.commitment.breached.v1", uscc, "breached", "commerce"),
    ]
    assert (events[2][2]["severity"], events[2][2]["evidence"]) == ("general", "宁检罚〔2026〕12号")
    assert events[2][2]["text_sha256"] == row.text_sha256


async def test_a_second_signature_supersedes_the_commitment_in_force(
    session: AsyncSession, office: Principal, zone: str
) -> None:
    uscc = await enterprise_in_zone(session, zone)
    first = await service.sign_commitment(
        session, uscc, commitment_in=_commitment(zone), principal=office
    )
    await service.countersign_commitment(session, uscc, first.id, principal=office)
    second = await service.sign_commitment(
        session, uscc, commitment_in=_commitment(zone, "第二版承诺"), principal=office
    )

    await session.refresh(first)
    assert (first.status, first.superseded_at is not None) == ("superseded", True)
    assert (second.status, second.version, second.supersedes_id) == ("signed", 2, first.id)
    rows, _ = await service.list_commitments(session, uscc, page=PageParams(cursor=None, limit=10))
    assert {(c.version, c.status) for c in rows} == {(1, "superseded"), (2, "signed")}
    events = await _commitment_events(session)
    assert [(t, d["version"], d["supersedes"]) for t, _, d in events][-2:] == [
        ("registry.commitment.superseded.v1", 1, None),
        ("registry.commitment.signed.v1", 2, str(first.id)),
    ]
    # a superseded commitment is history: neither countersigned nor breached
    with pytest.raises(ProblemError):
        await service.countersign_commitment(session, uscc, first.id, principal=office)
    breach = BreachIn(severity=BreachSeverity.serious, evidence="x", reason="y")
    with pytest.raises(Conflict) as not_in_force:
        await service.breach_commitment(session, uscc, first.id, breach_in=breach, principal=office)
    assert not_in_force.value.extensions["rule"] == "in_force"


async def test_only_an_applicant_or_member_signs_and_never_for_a_revoked_zone(
    session: AsyncSession, office: Principal, zone: str, registered: Registered
) -> None:
    outsider = await registered()
    with pytest.raises(Conflict) as not_member:
        await service.sign_commitment(
            session, outsider, commitment_in=_commitment(zone), principal=office
        )
    assert not_member.value.extensions["rule"] == "applicant_or_member"

    applicant = await registered()
    await service.apply(session, zone, application=ApplicationIn(uscc=applicant), principal=office)
    signed = await service.sign_commitment(
        session, applicant, commitment_in=_commitment(zone), principal=office
    )
    assert signed.status == "signed"

    await zones.transition(
        session,
        await zones.get(session, zone),
        transition_in=TransitionIn(to="revoked", reason="撤销"),  # type: ignore[arg-type]
        principal=office,
    )
    with pytest.raises(Conflict) as revoked:
        await service.sign_commitment(
            session, applicant, commitment_in=_commitment(zone), principal=office
        )
    assert revoked.value.extensions["rule"] == "zone_revoked"


async def test_only_the_zone_office_countersigns(
    session: AsyncSession, office: Principal, zone: str
) -> None:
    uscc = await enterprise_in_zone(session, zone)
    signed = await service.sign_commitment(
        session, uscc, commitment_in=_commitment(zone), principal=office
    )
    ciq = Principal(subject="ciq-staff", scopes=frozenset({"registry:write"}), agency="ciq")
    with pytest.raises(ProblemError) as refused:
        await service.countersign_commitment(session, uscc, signed.id, principal=ciq)
    assert refused.value.slug == "forbidden"
    clerk = Principal(subject="clerk", scopes=frozenset({"registry:write"}), agency="commerce")
    done = await service.countersign_commitment(session, uscc, signed.id, principal=clerk)
    assert (done.countersigned_by, done.countersigning_agency) == ("clerk", "commerce")


async def test_ending_a_zone_s_commitments_ends_those_in_force(
    session: AsyncSession, office: Principal, zone: str
) -> None:
    uscc = await enterprise_in_zone(session, zone)
    first = await service.sign_commitment(
        session, uscc, commitment_in=_commitment(zone), principal=office
    )
    second = await service.sign_commitment(
        session, uscc, commitment_in=_commitment(zone), principal=office
    )
    ended = await commitment_events.end_for_zone(session, zone, reason="zone revoked")
    assert [c.id for c in ended] == [second.id]
    await session.refresh(first)
    assert (first.status, second.status, second.end_reason) == (
        "superseded",
        "ended",
        "zone revoked",
    )
    events = await _commitment_events(session)
    assert (events[-1][0], events[-1][2]["reason"]) == (
        "registry.commitment.ended.v1",
        "zone revoked",
    )


def _level_event(uscc: str, to_level: str, sequence: int, from_level: str) -> CloudEvent:
    change = {"uscc": uscc, "from_level": from_level, "to_level": to_level, "cause": "penalty"}
    return CloudEvent(
        id=str(uuid.uuid4()),
        source="/services/credit",
        type="credit.level.changed.v1",
        subject=uscc,
        time=datetime.now(UTC),
        data=CreditLevelChanged.model_validate(change | {"sequence": sequence}).model_dump(),
    )


async def test_a_fall_to_level_d_puts_admitted_memberships_under_review(
    session: AsyncSession, office: Principal, zone: str, registered: Registered
) -> None:
    uscc = await registered()
    admitted = await service.apply(
        session, zone, application=ApplicationIn(uscc=uscc), principal=office
    )
    await service.decide(
        session, admitted, decision_in=DecisionIn(decision=Decision.admit), principal=office
    )

    fall = _level_event(uscc, "D", sequence=3, from_level="B")
    await consumers.on_credit_level_changed(
        session, CreditLevelChanged.model_validate(fall.data), fall
    )
    late = _level_event(uscc, "C", sequence=2, from_level="B")  # older, arriving after
    await consumers.on_credit_level_changed(
        session, CreditLevelChanged.model_validate(late.data), late
    )

    enterprise = await session.get(Enterprise, uscc, populate_existing=True)
    assert enterprise is not None
    assert (enterprise.credit_level, enterprise.credit_level_seq) == ("D", 3)
    row = await session.get(Membership, admitted.id, populate_existing=True)
    assert row is not None and row.review_requested_at is not None
    assert row.review_reason == "credit level fell to D: penalty"
    reviews = [e for e in await emitted(session) if e[0].endswith("review_requested.v1")]
    assert [(s, d["membership_id"], d["actor"]) for _, s, d in reviews] == [
        (uscc, str(admitted.id), "/services/credit")
    ]

    # a person's decision settles the review
    suspended = DecisionIn(decision=Decision.suspend, reason="信用等级 D")
    await service.decide(session, row, decision_in=suspended, principal=office)
    assert row.review_requested_at is None and row.review_reason is None


async def test_a_run_of_level_changes_is_mirrored_in_one_call(
    session: AsyncSession, office: Principal, zone: str, registered: Registered
) -> None:
    """A rescoring storm's run: several enterprises at once, one of them twice (in order),
    a stale change skipped, an unknown enterprise ignored, the fall to D still reviewed."""
    first, second = await registered(), await registered()
    admitted = await service.apply(
        session, zone, application=ApplicationIn(uscc=second), principal=office
    )
    await service.decide(
        session, admitted, decision_in=DecisionIn(decision=Decision.admit), principal=office
    )
    run = [
        _level_event(first, "B", sequence=2, from_level="A"),
        _level_event(second, "C", sequence=5, from_level="B"),
        _level_event("91330226MA2XXXXX0X", "D", sequence=1, from_level="B"),
        _level_event(first, "C", sequence=3, from_level="B"),
        _level_event(second, "D", sequence=6, from_level="C"),
        _level_event(second, "B", sequence=4, from_level="A"),  # older, arriving last
    ]
    await consumers.on_credit_levels(
        session, [(CreditLevelChanged.model_validate(e.data), e) for e in run]
    )
    levels = {
        u: (e.credit_level, e.credit_level_seq)
        for u in (first, second)
        if (e := await session.get(Enterprise, u, populate_existing=True)) is not None
    }
    assert levels == {first: ("C", 3), second: ("D", 6)}
    reviews = [e for e in await emitted(session) if e[0].endswith("review_requested.v1")]
    assert [s for _, s, _ in reviews] == [second]
