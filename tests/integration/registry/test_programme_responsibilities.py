"""The responsibility system (责任体系): recording who answers for what, the rule that an
enterprise is first responsible only in a zone it belongs to, and routing a problem."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.problems import Conflict, NotFound
from services.registry.agencies import service as agencies
from services.registry.agencies.schemas import AgencyIn
from services.registry.memberships import service as memberships
from services.registry.memberships.schemas import ApplicationIn
from services.registry.programme.responsibilities import service
from services.registry.programme.responsibilities.models import Responsibility
from services.registry.programme.responsibilities.schemas import ResponsibilityIn
from services.registry.zones import service as zones
from services.registry.zones.schemas import ZoneIn
from tests.integration.conftest import emitted
from tests.integration.registry.conftest import enterprise_in_zone

ZONE, OTHER_ZONE = "lighting-provincial", "molds-provincial"
ADMIN = Principal(subject="office-admin", scopes=frozenset({"admin"}))
ASSIGNED = "registry.responsibility.assigned.v1"


async def _setting(session: AsyncSession) -> None:
    for code, industry in ((ZONE, "lighting"), (OTHER_ZONE, "molds")):
        zone_in = {"code": code, "name_zh": code, "name_en": code, "level": "provincial"}
        await zones.create(
            session, zone_in=ZoneIn.model_validate({**zone_in, "industry": industry})
        )
    for code in ("county_gov_office", "commerce", "ciq", "market_supervision"):
        await agencies.create(session, agency_in=AgencyIn(code=code, name_zh=code, name_en=code))


async def _enterprise(session: AsyncSession, *, admitted_to: str | None = None) -> str:
    uscc = await enterprise_in_zone(session, admitted_to)
    return uscc


async def _assign(session: AsyncSession, **fields: Any) -> tuple[Responsibility, bool]:
    return await service.assign_responsibility(
        session, responsibility_in=ResponsibilityIn.model_validate(fields), principal=ADMIN
    )


async def test_assigning_the_same_party_again_replaces_its_duty(session: AsyncSession) -> None:
    await _setting(session)
    party = {"zone_code": ZONE, "tier": "supervisory", "topic": "spot_checks", "agency_code": "ciq"}
    first, created = await _assign(session, **party, duty="出口检验")
    again, created_again = await _assign(
        session, **party, duty="出口检验和追溯", responsible_person="李明"
    )
    assert (created, created_again) == (True, False) and again.id == first.id
    rows = (await session.scalars(select(Responsibility))).all()
    assert [(r.duty, r.responsible_person) for r in rows] == [("出口检验和追溯", "李明")]
    county, _ = await _assign(
        session, tier="overall", agency_code="county_gov_office", duty="县政府负总责"
    )
    assigned = [(s, d) for t, s, d in await emitted(session) if t == ASSIGNED]
    assert [(s, d["responsibility_id"], d["tier"]) for s, d in assigned] == [
        (ZONE, str(first.id), "supervisory"),
        (ZONE, str(first.id), "supervisory"),
        ("county", str(county.id), "overall"),
    ]


async def test_an_enterprise_is_first_responsible_only_where_it_is_admitted(
    session: AsyncSession,
) -> None:
    await _setting(session)
    member = await _enterprise(session, admitted_to=ZONE)
    duty = {"tier": "primary", "topic": "all", "duty": "企业对产品质量安全负第一责任"}
    with pytest.raises(Conflict) as refused:
        await _assign(session, **duty, zone_code=OTHER_ZONE, uscc=member)
    assert refused.value.extensions["rule"] == "zone_member"
    applied_only = await _enterprise(session)
    await memberships.apply(
        session, ZONE, application=ApplicationIn(uscc=applied_only), principal=ADMIN
    )
    with pytest.raises(Conflict):
        await _assign(session, **duty, zone_code=ZONE, uscc=applied_only)
    assert [t for t, _, _ in await emitted(session) if t == ASSIGNED] == []

    row, created = await _assign(
        session, **duty, zone_code=ZONE, uscc=member, responsible_person="王伟"
    )
    assert created and (row.zone_code, row.uscc, row.agency_code) == (ZONE, member, None)
    assigned = [(s, d) for t, s, d in await emitted(session) if t == ASSIGNED]
    assert [(s, d["uscc"], d["tier"]) for s, d in assigned] == [(ZONE, member, "primary")]


async def test_a_problem_is_routed_to_the_nearest_supervising_agency(session: AsyncSession) -> None:
    await _setting(session)
    with pytest.raises(NotFound):  # nobody answers for anything yet
        await service.route(
            session, zone_code=ZONE, topic="spot_checks", uscc=None, principal=ADMIN
        )
    await _assign(session, tier="overall", agency_code="county_gov_office", duty="县政府负总责")
    fallback = await service.route(
        session, zone_code=ZONE, topic="spot_checks", uscc=None, principal=ADMIN
    )
    assert (fallback.owner.agency_code, fallback.owner.source) == ("county_gov_office", "county")

    # recorded in this order, so the oldest-first tie-break cannot explain the answers
    await _assign(session, tier="supervisory", topic="all", agency_code="commerce", duty="综合监管")
    await _assign(
        session, tier="supervisory", topic="spot_checks", agency_code="ciq", duty="全县抽查"
    )
    await _assign(
        session,
        zone_code=ZONE,
        tier="supervisory",
        topic="all",
        agency_code="market_supervision",
        duty="示范区监管",
    )
    member = await _enterprise(session, admitted_to=ZONE)
    routed = await service.route(
        session, zone_code=ZONE, topic="spot_checks", uscc=member, principal=ADMIN
    )
    assert (routed.owner.agency_code, routed.owner.source) == ("market_supervision", "zone")
    assert [(p.tier.value, p.source) for p in routed.chain] == [
        ("primary", "rule"),
        ("supervisory", "zone"),
        ("overall", "county"),
    ]
    assert routed.first_responsible is not None
    assert routed.first_responsible.uscc == member
    assert routed.first_responsible.responsible_person == "王伟"  # the legal representative
    await _assign(
        session,
        zone_code=ZONE,
        tier="primary",
        topic="spot_checks",
        uscc=member,
        duty="企业自检",
        responsible_person="张强",
    )
    recorded = await service.route(
        session, zone_code=ZONE, topic="spot_checks", uscc=member, principal=ADMIN
    )
    assert recorded.first_responsible is not None
    assert (recorded.first_responsible.source, recorded.first_responsible.responsible_person) == (
        "zone",
        "张强",
    )
    # elsewhere the county-wide supervisors: the topic's before the one for `all`
    elsewhere = await service.route(
        session, zone_code=OTHER_ZONE, topic="spot_checks", uscc=None, principal=ADMIN
    )
    assert (elsewhere.owner.agency_code, elsewhere.owner.source) == ("ciq", "county")
    assert elsewhere.first_responsible is None
    other_topic = await service.route(
        session, zone_code=OTHER_ZONE, topic="traceability", uscc=None, principal=ADMIN
    )
    assert other_topic.owner.agency_code == "commerce"
