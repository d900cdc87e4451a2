"""Adding member agencies: the row, and the announcement other services copy codes from."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kit.problems import Conflict
from services.registry.agencies import service
from services.registry.agencies.models import Agency
from services.registry.agencies.schemas import AgencyIn
from tests.integration.conftest import emitted


def _agency(code: str) -> AgencyIn:
    return AgencyIn(
        code=code, name_zh="县市场监督管理局", name_en="County SAMR", group_role="deputy"
    )


async def test_an_agency_is_stored_and_announced_with_its_role(session: AsyncSession) -> None:
    code = f"samr_{uuid.uuid4().hex[:8]}"
    await service.create(session, agency_in=_agency(code))
    row = await session.get(Agency, code)
    assert row is not None and row.group_role == "deputy"
    assert await emitted(session) == [
        (
            "registry.agency.registered.v1",
            code,
            {
                "code": code,
                "name_zh": "县市场监督管理局",
                "name_en": "County SAMR",
                "group_role": "deputy",
                "kind": "member",
            },
        )
    ]


async def test_an_accepting_authority_is_an_agency_of_its_own_kind(session: AsyncSession) -> None:
    code = f"ningbo_{uuid.uuid4().hex[:8]}"
    authority = AgencyIn(
        code=code,
        name_zh="宁波检验检疫局",
        name_en="Ningbo Inspection and Quarantine Bureau",
        group_role="none",
        kind="external_authority",
    )
    await service.create(session, agency_in=authority)
    row = await session.get(Agency, code)
    assert row is not None and (row.kind, row.group_role) == ("external_authority", "none")
    (announced,) = await emitted(session)
    assert announced[2]["kind"] == "external_authority"


async def test_an_agency_code_is_added_once(session: AsyncSession) -> None:
    code = f"ciq_{uuid.uuid4().hex[:8]}"
    await service.create(session, agency_in=_agency(code))
    with pytest.raises(Conflict):
        await service.create(session, agency_in=_agency(code))
    assert len(await emitted(session)) == 1
