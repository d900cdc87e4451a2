"""Alliance standards (联盟标准): publishing one, enterprises adopting it, 同线同质同标
declarations on it, and the adoption counted per zone among its admitted members."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.pagination import PageParams
from kit.problems import Conflict, ProblemError
from services.registry.programme.shared import today
from services.registry.programme.standards import service
from services.registry.programme.standards.models import SameLineDeclaration, StandardAdoption
from services.registry.programme.standards.schemas import AdoptionIn, DeclarationIn, StandardIn
from services.registry.zones import service as zones
from services.registry.zones.schemas import ZoneIn
from tests.integration.conftest import emitted
from tests.integration.registry.conftest import enterprise_in_zone

ZONE = "lighting-provincial"
ADMIN = Principal(subject="office-admin", scopes=frozenset({"admin"}))
TEXT = "LED 灯具出口质量联盟标准：光生物安全、电气安全、能效……"


async def _zone(session: AsyncSession) -> None:
    zone_in = {"code": ZONE, "name_zh": "灯具示范区", "name_en": "Lighting zone"}
    await zones.create(
        session,
        zone_in=ZoneIn.model_validate({**zone_in, "industry": "lighting", "level": "provincial"}),
    )


async def _enterprise(session: AsyncSession, *, admitted: bool = True) -> str:
    uscc = await enterprise_in_zone(session, ZONE if admitted else None)
    return uscc


def _standard(**fields: Any) -> StandardIn:
    body = {
        "code": "T/NHDJ 001-2018",
        "version": "2018",
        "title": "LED 灯具",
        "zone_code": ZONE,
        "effective_on": date(2018, 6, 1),
        "text": TEXT,
    }
    return StandardIn.model_validate({**body, **fields})


async def test_a_standard_is_published_once_by_its_text_digest(session: AsyncSession) -> None:
    await _zone(session)
    standard = await service.publish_standard(session, standard_in=_standard(), principal=ADMIN)
    digest = hashlib.sha256(TEXT.encode("utf-8")).hexdigest()
    assert standard.text_sha256 == digest and standard.published_by == "office-admin"
    with pytest.raises(Conflict) as twin:
        await service.publish_standard(
            session, standard_in=_standard(title="另一个"), principal=ADMIN
        )
    assert twin.value.extensions == {"standard_id": str(standard.id)}
    with pytest.raises(ProblemError) as wrong_industry:
        await service.publish_standard(
            session, standard_in=_standard(version="2019", industry="molds"), principal=ADMIN
        )
    assert [e["field"] for e in wrong_industry.value.extensions["errors"]] == ["industry"]
    published = [(s, d) for t, s, d in await emitted(session) if t.startswith("registry.standard")]
    assert published == [
        (
            "T/NHDJ 001-2018",
            {
                "standard_id": str(standard.id),
                "code": "T/NHDJ 001-2018",
                "version": "2018",
                "title": "LED 灯具",
                "zone_code": ZONE,
                "industry": None,
                "effective_on": "2018-06-01",
                "text_sha256": digest,
            },
        )
    ]


async def test_adopting_again_answers_the_first_adoption(session: AsyncSession) -> None:
    await _zone(session)
    standard = await service.publish_standard(session, standard_in=_standard(), principal=ADMIN)
    uscc = await _enterprise(session)
    on = today() - timedelta(days=7)
    adoption, created = await service.adopt(
        session, standard, adoption_in=AdoptionIn(uscc=uscc, adopted_on=on), principal=ADMIN
    )
    repeat, created_again = await service.adopt(
        session, standard, adoption_in=AdoptionIn(uscc=uscc), principal=ADMIN
    )
    assert (created, created_again) == (True, False)
    assert repeat.adopted_on == adoption.adopted_on == on
    assert len((await session.scalars(select(StandardAdoption))).all()) == 1
    adopted = [(s, d) for t, s, d in await emitted(session) if t == "registry.standard.adopted.v1"]
    assert [(s, d["standard_id"], d["code"], d["on"]) for s, d in adopted] == [
        (uscc, str(standard.id), "T/NHDJ 001-2018", str(on))
    ]


async def test_a_product_is_declared_once_and_only_after_adoption(session: AsyncSession) -> None:
    await _zone(session)
    standard = await service.publish_standard(session, standard_in=_standard(), principal=ADMIN)
    uscc = await _enterprise(session)
    lamp = DeclarationIn(uscc=uscc, product="LED 筒灯", hs_code="9405420000")
    with pytest.raises(Conflict) as not_adopted:
        await service.declare(session, standard, declaration_in=lamp, principal=ADMIN)
    assert not_adopted.value.extensions["rule"] == "adopted_first"

    await service.adopt(session, standard, adoption_in=AdoptionIn(uscc=uscc), principal=ADMIN)
    declaration = await service.declare(session, standard, declaration_in=lamp, principal=ADMIN)
    assert declaration.declared_on == today()
    with pytest.raises(Conflict) as twice:
        await service.declare(session, standard, declaration_in=lamp, principal=ADMIN)
    assert twice.value.extensions == {"declaration_id": str(declaration.id)}
    assert len((await session.scalars(select(SameLineDeclaration))).all()) == 1
    declared = [
        (s, d) for t, s, d in await emitted(session) if t == "registry.standard.declared.v1"
    ]
    assert [(s, d["product"], d["hs_code"], d["code"]) for s, d in declared] == [
        (uscc, "LED 筒灯", "9405420000", "T/NHDJ 001-2018")
    ]


async def test_adoption_by_zone_counts_admitted_members_only(session: AsyncSession) -> None:
    await _zone(session)
    zone_standard = await service.publish_standard(
        session, standard_in=_standard(), principal=ADMIN
    )
    # an industry-wide standard applies to the zone too
    industry_standard = await service.publish_standard(
        session,
        standard_in=_standard(code="T/NHDJ 002-2019", zone_code=None, industry="lighting"),
        principal=ADMIN,
    )
    adopter, idle = await _enterprise(session), await _enterprise(session)
    outsider = await _enterprise(session, admitted=False)
    for standard, uscc in (
        (zone_standard, adopter),
        (industry_standard, adopter),
        (zone_standard, outsider),
    ):
        await service.adopt(session, standard, adoption_in=AdoptionIn(uscc=uscc), principal=ADMIN)
    for uscc in (adopter, outsider):
        await service.declare(
            session,
            zone_standard,
            declaration_in=DeclarationIn(uscc=uscc, product="LED 筒灯"),
            principal=ADMIN,
        )
    (figures,), _ = await service.adoption_by_zone(
        session, page=PageParams(cursor=None, limit=10), zone_code=ZONE
    )
    assert idle  # admitted, adopting nothing
    assert (figures.standards, figures.members, figures.adopters) == (2, 2, 1)
    assert (figures.adoption_rate, figures.declarations) == (0.5, 1)
