"""Registering and updating enterprises: the rows written and the events in the outbox."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.problems import Conflict, NotFound
from services.registry.enterprises import service
from services.registry.enterprises.models import Enterprise
from services.registry.enterprises.schemas import EnterpriseIn, EnterprisePatch
from tests.helpers import enterprise_body, new_uscc
from tests.integration.conftest import emitted
from tests.integration.registry.conftest import enterprise_in_zone


def _enterprise(uscc: str) -> EnterpriseIn:
    return EnterpriseIn.model_validate(enterprise_body(uscc, hs_codes=["9608100000"]))


async def test_register_writes_the_row_and_announces_it(session: AsyncSession) -> None:
    uscc = new_uscc()
    await service.register(session, enterprise_in=_enterprise(uscc))
    row = await session.get(Enterprise, uscc)
    assert row is not None and "9608100000" in row.hs_codes
    assert [(t, s) for t, s, _ in await emitted(session)] == [
        ("registry.enterprise.registered.v1", uscc)
    ]


async def test_a_second_registration_is_a_conflict(session: AsyncSession) -> None:
    uscc = new_uscc()
    await service.register(session, enterprise_in=_enterprise(uscc))
    with pytest.raises(Conflict):
        await service.register(session, enterprise_in=_enterprise(uscc))


async def test_update_announces_only_what_changed(session: AsyncSession) -> None:
    uscc = new_uscc()
    enterprise = await service.register(session, enterprise_in=_enterprise(uscc))
    await service.update(session, enterprise, patch=EnterprisePatch(name="新名称有限公司"))
    await service.update(session, enterprise, patch=EnterprisePatch(name="新名称有限公司"))
    events = await emitted(session)
    assert [t for t, _, _ in events] == [
        "registry.enterprise.registered.v1",
        "registry.enterprise.updated.v1",
    ]
    assert events[1][2]["changed"] == ["name"]


async def test_the_key_lookup_shows_what_the_orm_loads(
    session: AsyncSession, zone: str, office: Principal
) -> None:
    """`service.view` reads through kit.db.Prepared (raw asyncpg, the columns' own result
    processors): the personal fields decrypted, arrays and JSON as the ORM gives them, and
    the zone it is admitted to; a stranger sees the personal fields masked."""
    uscc = await enterprise_in_zone(session, zone)
    loaded = await service.to_out(session, [await service.get(session, uscc)], principal=office)
    viewed = await service.view(session, uscc.lower(), office)
    assert viewed == loaded[0]
    assert viewed.zones == [zone] and viewed.legal_representative
    stranger = Principal(subject="other", scopes=frozenset({"registry:read"}), agency="customs")
    masked = await service.view(session, uscc, stranger)
    assert masked.legal_representative != viewed.legal_representative
    with pytest.raises(NotFound):
        await service.view(session, new_uscc(), office)
