"""The enterprise list (`service.search`): one Core statement per set of filters (rows and
admitted zones together, kit.db.Prepared), read as dicts; the same views as the ORM path."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.pagination import PageParams, decode_cursor
from kit.problems import ProblemError
from services.registry.enterprises import service
from services.registry.enterprises.models import Enterprise
from services.registry.enterprises.schemas import EnterpriseIn, EnterpriseOut
from tests.helpers import enterprise_body, new_uscc
from tests.integration.registry.conftest import enterprise_in_zone

STRANGER = Principal(subject="other", scopes=frozenset({"registry:read"}), agency="customs")


async def _search(
    session: AsyncSession, principal: Principal, *, limit: int = 50, **filters: Any
) -> tuple[list[EnterpriseOut], str | None]:
    cursor = filters.pop("cursor", None)
    given: dict[str, Any] = {
        "q": None,
        "industry": None,
        "zone": None,
        "level": None,
        "hs_code": None,
        "market": None,
    }
    given.update(filters)
    return await service.search(
        session, page=PageParams(cursor=cursor, limit=limit), principal=principal, **given
    )


async def _named(session: AsyncSession, tag: str, n: int, **extra: object) -> list[str]:
    """`n` enterprises whose names carry `tag`, their USCCs in order."""
    usccs = sorted(new_uscc() for _ in range(n))
    for uscc in usccs:
        body = enterprise_body(uscc, name=f"宁海{tag}{uscc[-4:]}有限公司", **extra)
        await service.register(session, enterprise_in=EnterpriseIn.model_validate(body))
    return usccs


async def test_the_list_shows_what_the_orm_path_shows(
    session: AsyncSession, zone: str, office: Principal
) -> None:
    uscc = await enterprise_in_zone(session, zone)
    loaded = await service.to_out(session, [await service.get(session, uscc)], principal=office)
    listed, cursor = await _search(session, office, only_uscc=uscc)
    assert listed == loaded and cursor is None
    assert listed[0].zones == [zone] and listed[0].legal_representative == "王伟"
    masked, _ = await _search(session, STRANGER, only_uscc=uscc)
    assert masked[0].legal_representative == "王*"
    assert masked[0].model_dump(exclude={"legal_representative"}) == listed[0].model_dump(
        exclude={"legal_representative"}
    )


async def test_each_filter_narrows_the_list(
    session: AsyncSession, zone: str, office: Principal
) -> None:
    tag = uuid.uuid4().hex[:8]
    plain = await _named(session, tag, 2)
    other = await _named(session, tag, 1, industry="molds", hs_codes=["848071"])
    other += await _named(session, tag, 1, export_markets=["JP"])
    await session.execute(
        update(Enterprise).where(Enterprise.uscc == plain[0]).values(credit_level="A")
    )
    admitted = await enterprise_in_zone(session, zone)

    async def found(**filters: Any) -> list[str]:
        filters = {"q": tag, **filters}
        return [e.uscc for e in (await _search(session, office, **filters))[0]]

    assert await found() == sorted(plain + other)
    assert await found(q=tag.upper()) == sorted(plain + other)  # ILIKE
    assert await found(industry="molds") == [other[0]]
    assert await found(hs_code="848071") == [other[0]]
    assert await found(market="jp") == [other[1]]
    assert await found(level="A") == [plain[0]]
    assert await found(only_uscc=plain[1]) == [plain[1]]
    assert await found(zone=zone) == []
    in_zone, _ = await _search(session, office, zone=zone)
    assert [e.uscc for e in in_zone] == [admitted]


async def test_wildcards_in_the_text_are_literal(session: AsyncSession, office: Principal) -> None:
    tag = uuid.uuid4().hex[:8]
    [percent] = await _named(session, f"{tag}%_", 1)
    await _named(session, f"{tag}xy", 1)
    assert [e.uscc for e in (await _search(session, office, q=f"{tag}%_"))[0]] == [percent]
    assert (await _search(session, office, q=f"{tag}_"))[0] == []


async def test_the_cursor_walks_the_list_in_uscc_order(
    session: AsyncSession, office: Principal
) -> None:
    tag = uuid.uuid4().hex[:8]
    usccs = await _named(session, tag, 3)
    seen: list[str] = []
    cursor: dict[str, Any] | None = None
    while True:
        page, next_cursor = await _search(session, office, q=tag, limit=1, cursor=cursor)
        seen += [e.uscc for e in page]
        if next_cursor is None:
            break
        cursor = decode_cursor(next_cursor)
    assert seen == usccs


@pytest.mark.parametrize("cursor", [{"uscc": 5}, {"id": "x"}, {"uscc": None}])
async def test_a_cursor_of_another_list_is_a_400(
    session: AsyncSession, office: Principal, cursor: dict[str, Any]
) -> None:
    with pytest.raises(ProblemError) as raised:
        await _search(session, office, cursor=cursor)
    assert raised.value.status == 400
