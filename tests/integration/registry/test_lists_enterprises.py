"""The enterprise list (`service.search`): one Core statement per set of filters (rows and
admitted zones together, kit.db.Prepared), read as dicts already in the API's shape; the page
they make is the JSON FastAPI made of the ORM path's models, byte for byte."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.pagination import Page, PageParams, decode_cursor, page_json
from kit.problems import ProblemError
from services.registry.enterprises import service
from services.registry.enterprises.models import Enterprise
from services.registry.enterprises.schemas import EnterpriseIn, EnterpriseOut
from tests.helpers import enterprise_body, new_uscc
from tests.integration.registry.conftest import enterprise_in_zone

MASKED = {"legal_representative", "contact_name", "contact_phone"}
STRANGER = Principal(subject="other", scopes=frozenset({"registry:read"}), agency="customs")


async def _search(
    session: AsyncSession, principal: Principal, *, limit: int = 50, **filters: Any
) -> tuple[list[dict[str, Any]], str | None]:
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
    as_models = Page[EnterpriseOut](items=loaded).model_dump_json().encode()
    assert page_json(listed, cursor) == as_models and cursor is None
    assert listed[0]["zones"] == [zone] and listed[0]["legal_representative"] == "王伟"
    masked, _ = await _search(session, STRANGER, only_uscc=uscc)
    assert masked[0]["legal_representative"] == "王*"
    shown = await service.to_out(session, [await service.get(session, uscc)], principal=STRANGER)
    assert page_json(masked, None) == Page[EnterpriseOut](items=shown).model_dump_json().encode()
    assert {k: v for k, v in masked[0].items() if k not in MASKED} == {
        k: v for k, v in listed[0].items() if k not in MASKED
    }


async def test_nested_lines_and_every_personal_field_as_the_models_show_them(
    session: AsyncSession, office: Principal
) -> None:
    """Products and certifications keep their order and their models' member order (a brand
    or number never given is null), a date stays a date; all three personal fields are
    masked for a stranger and shown to the office, as the models would."""
    tag = uuid.uuid4().hex[:8]
    [uscc] = await _named(
        session,
        tag,
        1,
        contact_name="欧阳娜娜",
        contact_phone="13812345678",
        products=[
            {"name": "台灯", "hs_code": "940520", "brand": "明光"},
            {"hs_code": "940542", "name": "LED 灯具"},
        ],
        hs_codes=["850940"],
        certifications=[
            {"valid_until": "2027-06-30", "kind": "CE", "number": "CE-1"},
            {"kind": "ISO9001"},
        ],
    )
    for principal in (office, STRANGER):
        listed, _ = await _search(session, principal, only_uscc=uscc)
        shown = await service.to_out(
            session, [await service.get(session, uscc)], principal=principal
        )
        assert (
            page_json(listed, None) == Page[EnterpriseOut](items=shown).model_dump_json().encode()
        )
    assert [p["hs_code"] for p in listed[0]["products"]] == ["940520", "940542", "850940"]
    assert listed[0]["certifications"][1] == {
        "kind": "ISO9001",
        "number": None,
        "valid_until": None,
    }
    assert (listed[0]["contact_name"], listed[0]["contact_phone"]) == ("欧阳**", "138****5678")


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
        return [e["uscc"] for e in (await _search(session, office, **filters))[0]]

    assert await found() == sorted(plain + other)
    assert await found(q=tag.upper()) == sorted(plain + other)  # ILIKE
    assert await found(industry="molds") == [other[0]]
    assert await found(hs_code="848071") == [other[0]]
    assert await found(market="jp") == [other[1]]
    assert await found(level="A") == [plain[0]]
    assert await found(only_uscc=plain[1]) == [plain[1]]
    assert await found(zone=zone) == []
    in_zone, _ = await _search(session, office, zone=zone)
    assert [e["uscc"] for e in in_zone] == [admitted]


async def test_wildcards_in_the_text_are_literal(session: AsyncSession, office: Principal) -> None:
    tag = uuid.uuid4().hex[:8]
    [percent] = await _named(session, f"{tag}%_", 1)
    await _named(session, f"{tag}xy", 1)
    assert [e["uscc"] for e in (await _search(session, office, q=f"{tag}%_"))[0]] == [percent]
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
        seen += [e["uscc"] for e in page]
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
