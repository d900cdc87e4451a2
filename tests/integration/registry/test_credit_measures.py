"""Credit's joint measures (联合奖惩) at the moment of decision: honours refused to a level
whose measures say so whatever the round allows, zone admission refused or reviewed, a
removal review raised on a fall into a level that says so; all as credit announced them."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.events import CloudEvent, CreditLevelChanged, ModelPublished
from kit.measures import DEFAULTS, LevelEffects
from kit.pagination import PageParams
from kit.problems import Conflict, ProblemError
from services.registry.consumers import on_credit_level_changed, on_model_published
from services.registry.memberships import service as memberships
from services.registry.memberships.models import Membership
from services.registry.memberships.schemas import ApplicationIn, Decision, DecisionIn
from services.registry.programme.honours import service as honours
from services.registry.programme.honours.schemas import AwardRoundIn, NominationIn
from tests.integration.registry.conftest import enterprise_in_zone

ADMIN = Principal(subject="office-admin", scopes=frozenset({"admin"}))


async def _level(
    session: AsyncSession, uscc: str, to: str, frm: str | None = None, seq: int = 1
) -> None:
    change = CreditLevelChanged(uscc=uscc, from_level=frm, to_level=to, sequence=seq)
    event = CloudEvent(
        source="/services/credit",
        type="credit.level.changed.v1",
        subject=uscc,
        data=change.model_dump(mode="json"),
    )
    await on_credit_level_changed(session, change, event)


async def _published(session: AsyncSession, version: int, **levels: LevelEffects) -> None:
    published = ModelPublished(version=version, measures={**DEFAULTS, **levels})
    event = CloudEvent(
        source="/services/credit",
        type="credit.model.published.v1",
        subject=str(version),
        data=published.model_dump(mode="json"),
    )
    await on_model_published(session, published, event)


async def _applied(session: AsyncSession, zone: str, uscc: str) -> Membership:
    membership = await memberships.apply(
        session, zone, application=ApplicationIn(uscc=uscc), principal=ADMIN
    )
    await session.flush()
    return membership


async def _admit(session: AsyncSession, membership: Membership, reason: str | None = None) -> None:
    await memberships.decide(
        session,
        membership,
        decision_in=DecisionIn(decision=Decision.admit, reason=reason),
        principal=ADMIN,
    )


async def test_a_d_enterprise_is_refused_honours_in_a_round_that_allows_d(
    session: AsyncSession, zone: str
) -> None:
    uscc = await enterprise_in_zone(session, zone)
    await _level(session, uscc, "D")
    round_in = AwardRoundIn.model_validate(
        {"title": "2026年度示范区优质企业", "year": 2026, "allowed_levels": ["A", "D"]}
    )
    award_round = await honours.open_round(session, round_in=round_in, principal=ADMIN)
    await session.flush()

    with pytest.raises(Conflict) as refused:
        await honours.nominate(
            session, award_round, nomination_in=NominationIn(uscc=uscc), principal=ADMIN
        )
    assert refused.value.extensions["rule"] == "credit_measure"
    assert "honours_eligible false" in refused.value.detail
    listed, _ = await honours.candidates(
        session, award_round, page=PageParams(cursor=None, limit=500), eligible=False
    )
    (mine,) = [c for c in listed if c.uscc == uscc]
    assert [r.rule for r in mine.reasons] == ["credit_measure"]
    eligible, _ = await honours.candidates(
        session, award_round, page=PageParams(cursor=None, limit=500), eligible=True
    )
    assert uscc not in {c.uscc for c in eligible}

    # the county lifts the exclusion in model version 2: the same round now takes it
    await _published(session, 2, D=DEFAULTS["D"].model_copy(update={"honours_eligible": True}))
    nomination = await honours.nominate(
        session, award_round, nomination_in=NominationIn(uscc=uscc), principal=ADMIN
    )
    assert nomination.status == "nominated"


async def test_zone_admission_follows_the_level_s_measures(
    session: AsyncSession, zone: str
) -> None:
    d_level = await enterprise_in_zone(session, None)
    c_level = await enterprise_in_zone(session, None)
    unrated = await enterprise_in_zone(session, None)
    await _level(session, d_level, "D")
    await _level(session, c_level, "C")

    refused = await _applied(session, zone, d_level)
    with pytest.raises(Conflict) as d_refused:
        await _admit(session, refused, reason="考核合格")
    assert d_refused.value.extensions["rule"] == "credit_measure"
    assert d_refused.value.extensions["zone_admission"] == "refused"
    assert refused.status == "applied"

    reviewed = await _applied(session, zone, c_level)
    with pytest.raises(ProblemError) as no_reason:
        await _admit(session, reviewed)
    assert no_reason.value.slug == "validation"
    assert no_reason.value.extensions["errors"][0]["field"] == "reason"
    assert no_reason.value.extensions["rule"] == "credit_measure"
    await _admit(session, reviewed, reason="整改到位，经现场审查同意准入")
    assert reviewed.status == "admitted"

    await _admit(session, await _applied(session, zone, unrated))  # not yet rated: no measure

    # model version 3 refuses C too; and admits D for review
    await _published(
        session,
        3,
        C=DEFAULTS["C"].model_copy(update={"zone_admission": "refused"}),
        D=DEFAULTS["D"].model_copy(update={"zone_admission": "review"}),
    )
    await _admit(session, refused, reason="专项审查通过")
    assert refused.status == "admitted"
    # reinstating is admitting again: the C member, suspended, is now refused
    for decision in (Decision.suspend, Decision.reinstate):
        decide = memberships.decide(
            session,
            reviewed,
            decision_in=DecisionIn(decision=decision, reason="整改"),
            principal=ADMIN,
        )
        if decision is Decision.suspend:
            await decide
            continue
        with pytest.raises(Conflict) as reinstated:
            await decide
        assert reinstated.value.extensions["rule"] == "credit_measure"
    assert reviewed.status == "suspended"


async def test_a_removal_review_follows_the_measures_of_the_level_fallen_into(
    session: AsyncSession, zone: str
) -> None:
    to_c, to_d = await enterprise_in_zone(session, zone), await enterprise_in_zone(session, zone)
    await _level(session, to_c, "B")
    await _level(session, to_d, "B")
    await _level(session, to_c, "C", "B", seq=2)  # C: no review by default
    await _level(session, to_d, "D", "B", seq=2)

    async def under_review() -> set[str]:
        rows = await session.scalars(
            select(Membership.uscc).where(
                Membership.zone_code == zone, Membership.review_requested_at.is_not(None)
            )
        )
        return set(rows)

    assert await under_review() == {to_d}
    await _published(session, 4, C=DEFAULTS["C"].model_copy(update={"removal_review": True}))
    await _level(session, to_c, "B", "C", seq=3)
    await _level(session, to_c, "C", "B", seq=4)
    assert await under_review() == {to_c, to_d}
