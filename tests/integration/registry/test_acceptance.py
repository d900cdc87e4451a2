"""Acceptance as the guidance describes it (四(四)): the leadership group's office applies for
a zone in `assessing`, only the zone's accepting authority (or an admin for it, recorded)
decides; `accepted` needs a filed application and an admitted member; a stage move never
reaches `accepted`. Revoking a zone ends its memberships and commitments, with events."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.problems import ProblemError
from services.registry.agencies.models import Agency
from services.registry.domain import Stage
from services.registry.memberships import service as memberships
from services.registry.memberships.models import Commitment, Membership, MembershipDecision
from services.registry.memberships.schemas import ApplicationIn as MembershipApplication
from services.registry.memberships.schemas import CommitmentIn
from services.registry.programme.acceptance import service
from services.registry.programme.acceptance.models import AcceptanceApplication
from services.registry.programme.acceptance.schemas import (
    AcceptanceApplicationIn as ApplicationIn,
)
from services.registry.programme.acceptance.schemas import (
    AcceptanceDecisionIn as DecisionIn,
)
from services.registry.programme.shared import today
from services.registry.zones import service as zones
from services.registry.zones.models import ZoneTransition
from services.registry.zones.schemas import TransitionIn
from tests.integration.conftest import emitted
from tests.integration.registry.conftest import OFFICE_ADMIN, enterprise_in_zone

DOSSIER = "ab" * 32
AUTHORITY = Principal(
    subject="ningbo-ciq-officer", scopes=frozenset({"registry:write"}), agency="ningbo_ciq"
)
NATIONAL = Principal(subject="aqsiq-officer", scopes=frozenset({"registry:write"}), agency="aqsiq")
ECON_IT = Principal(subject="econ-it", scopes=frozenset({"registry:write"}), agency="econ_it")
COMMERCE = Principal(
    subject="commerce-officer", scopes=frozenset({"registry:write"}), agency="commerce"
)


async def _assessing(session: AsyncSession, code: str) -> None:
    zone = await zones.get(session, code)
    for stage in (Stage.launching, Stage.implementing, Stage.assessing):
        await zones.transition(
            session, zone, transition_in=TransitionIn(to=stage), principal=OFFICE_ADMIN
        )


def _decision(outcome: str = "accepted", on: date | None = None) -> DecisionIn:
    return DecisionIn(
        outcome=outcome,  # type: ignore[arg-type]
        document_number="甬检验〔2026〕7号",
        decided_on=on or today(),
        inspection_team=["李明", "王芳"],
        findings="五大体系运行有效，同意通过验收",
    )


async def _apply(session: AsyncSession, code: str, principal: Principal = OFFICE_ADMIN) -> None:
    zone = await zones.get(session, code)
    await service.file_application(
        session,
        zone,
        application_in=ApplicationIn(
            self_assessment="自查总结：各项任务完成", dossier_sha256=DOSSIER
        ),
        principal=principal,
    )


async def test_the_authority_accepts_a_zone_with_an_application_and_members(
    session: AsyncSession, zone: str
) -> None:
    await _assessing(session, zone)
    await enterprise_in_zone(session, zone)
    session.add(
        Agency(code="commerce", name_zh="县商务局", name_en="Commerce", group_role="office")
    )
    await session.flush()
    await _apply(session, zone, COMMERCE)  # the office's own agency token
    row = await zones.get(session, zone)
    decision = await service.decide(session, row, decision_in=_decision(), principal=AUTHORITY)
    assert (decision.authority, decision.on_behalf, decision.recorded_by) == (
        "ningbo_ciq",
        False,
        "ningbo-ciq-officer",
    )
    assert row.stage == "accepted"
    move = await session.scalar(
        select(ZoneTransition).where(
            ZoneTransition.zone_code == zone, ZoneTransition.to_stage == "accepted"
        )
    )
    assert (
        move is not None
        and move.agency == "ningbo_ciq"
        and "甬检验〔2026〕7号" in (move.reason or "")
    )
    kinds = [t for t, _, _ in await emitted(session)]
    assert kinds[-3:] == [
        "registry.acceptance.applied.v1",
        "registry.zone.transitioned.v1",
        "registry.acceptance.decided.v1",
    ]
    record = await service.record(session, row)
    assert [a.status for a in record.applications] == ["accepted"]
    assert record.decisions[0].inspection_team == ["李明", "王芳"]


async def test_any_agency_but_the_authority_is_refused(session: AsyncSession, zone: str) -> None:
    await _assessing(session, zone)
    await enterprise_in_zone(session, zone)
    await _apply(session, zone)
    row = await zones.get(session, zone)
    for other in (ECON_IT, NATIONAL):  # a county bureau; the other level's authority
        with pytest.raises(ProblemError) as refused:
            await service.decide(session, row, decision_in=_decision(), principal=other)
        assert refused.value.status == 403 and refused.value.extensions["authority"] == "ningbo_ciq"
    assert row.stage == "assessing"


async def test_an_admin_decides_for_the_authority_and_is_recorded(
    session: AsyncSession, zone: str
) -> None:
    await _assessing(session, zone)
    await _apply(session, zone)
    row = await zones.get(session, zone)
    decision = await service.decide(
        session, row, decision_in=_decision("returned"), principal=OFFICE_ADMIN
    )
    assert (decision.on_behalf, decision.recorded_by, decision.outcome) == (
        True,
        "office-admin",
        "returned",
    )
    assert row.stage == "assessing"  # returned: the office applies again
    await _apply(session, zone)
    assert [a.status for a in (await service.record(session, row)).applications] == [
        "returned",
        "filed",
    ]


async def test_acceptance_needs_an_application_and_an_admitted_member(
    session: AsyncSession, zone: str
) -> None:
    await _assessing(session, zone)
    row = await zones.get(session, zone)
    with pytest.raises(ProblemError) as no_application:
        await service.decide(session, row, decision_in=_decision(), principal=AUTHORITY)
    assert (no_application.value.status, no_application.value.extensions["rule"]) == (
        409,
        "application_filed",
    )
    await _apply(session, zone)
    with pytest.raises(ProblemError) as no_members:
        await service.decide(session, row, decision_in=_decision(), principal=AUTHORITY)
    assert (no_members.value.status, no_members.value.extensions["rule"]) == (
        409,
        "admitted_members",
    )
    with pytest.raises(ProblemError) as twice:
        await _apply(session, zone)
    assert twice.value.extensions["rule"] == "one_open_application"
    await enterprise_in_zone(session, zone)
    with pytest.raises(ProblemError) as future:
        await service.decide(
            session, row, decision_in=_decision(on=today() + timedelta(days=1)), principal=AUTHORITY
        )
    assert future.value.extensions["errors"][0]["field"] == "decided_on"
    await service.decide(session, row, decision_in=_decision(), principal=AUTHORITY)
    assert row.stage == "accepted"


async def test_only_the_office_applies_and_only_in_assessing(
    session: AsyncSession, zone: str
) -> None:
    with pytest.raises(ProblemError) as early:
        await _apply(session, zone)
    assert early.value.extensions["rule"] == "zone_assessing"
    await _assessing(session, zone)
    with pytest.raises(ProblemError) as not_office:
        await _apply(session, zone, ECON_IT)
    assert not_office.value.status == 403
    assert await session.scalar(select(AcceptanceApplication.id)) is None


async def test_a_stage_move_never_reaches_accepted(session: AsyncSession, zone: str) -> None:
    await _assessing(session, zone)
    await enterprise_in_zone(session, zone)
    row = await zones.get(session, zone)
    with pytest.raises(ProblemError) as refused:
        await zones.transition(
            session, row, transition_in=TransitionIn(to=Stage.accepted), principal=ECON_IT
        )
    assert refused.value.status == 409
    assert refused.value.extensions["rule"] == "acceptance_decision"
    assert refused.value.extensions["allowed"] == ["revoked"]
    assert row.stage == "assessing" and zones.to_out(row).allowed_transitions == [Stage.revoked]


async def test_revoking_a_zone_ends_its_memberships_and_commitments(
    session: AsyncSession, zone: str
) -> None:
    admitted = await enterprise_in_zone(session, zone)
    applicant = await enterprise_in_zone(session, None)
    await memberships.apply(
        session, zone, application=MembershipApplication(uscc=applicant), principal=OFFICE_ADMIN
    )
    await memberships.sign_commitment(
        session,
        admitted,
        commitment_in=CommitmentIn(
            zone_code=zone,
            signatory="王伟",
            signed_on=today(),
            text_version="2017-v1",
            text="本企业承诺严格遵守产品质量法律法规。",
        ),
        principal=OFFICE_ADMIN,
    )
    row = await zones.get(session, zone)
    await zones.transition(
        session,
        row,
        transition_in=TransitionIn(to=Stage.revoked, reason="考核不合格"),
        principal=OFFICE_ADMIN,
    )
    rows = list(await session.scalars(select(Membership).where(Membership.zone_code == zone)))
    assert {(m.uscc, m.status, m.reason) for m in rows} == {
        (admitted, "removed", "zone revoked"),
        (applicant, "removed", "zone revoked"),
    }
    last = await session.scalar(
        select(MembershipDecision)
        .where(MembershipDecision.membership_id == next(m.id for m in rows if m.uscc == admitted))
        .order_by(MembershipDecision.at.desc())
        .limit(1)
    )
    assert last is not None and (last.from_status, last.to_status) == ("admitted", "removed")
    commitment = await session.scalar(select(Commitment).where(Commitment.zone_code == zone))
    assert commitment is not None and commitment.status == "ended"
    events = [(t, s, d) for t, s, d in await emitted(session)]
    removed = [(s, d["reason"]) for t, s, d in events if t == "registry.membership.removed.v1"]
    assert sorted(removed) == sorted([(admitted, "zone revoked"), (applicant, "zone revoked")])
    ended = [d for t, _, d in events if t == "registry.commitment.ended.v1"]
    assert [(d["uscc"], d["status"], d["reason"]) for d in ended] == [
        (admitted, "ended", "zone revoked")
    ]
