"""`POST /v1/enterprises`'s registration (`service.register_one`, one prebuilt statement):
the same row and event as the ORM's `register`, its conflicts and refusals, the personal
fields encrypted at rest, and the answer as the registering caller may see it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.outbox import OutboxMessage
from kit.problems import Conflict, ProblemError
from services.registry.enterprises import service
from services.registry.enterprises.models import Enterprise
from services.registry.enterprises.schemas import EnterpriseIn
from tests.helpers import enterprise_body, new_uscc
from tests.integration.conftest import emitted
from tests.integration.registry.test_uscc_org_check import without_org_check

ADMIN = Principal("office-admin", frozenset({"admin"}))
AGENCY = Principal("ciq-system", frozenset({"registry:write"}), agency="ciq")
INSPECTOR = Principal(
    "inspector-7", frozenset({"registry:write"}), agency="ciq", inspector_id="insp-7"
)
PERSONAL = {
    "name": "宁海同名灯具有限公司",
    "legal_representative": "欧阳娜娜",
    "contact_name": "李雷",
    "contact_phone": "13812345678",
}
COLUMNS = [c.name for c in Enterprise.__table__.columns if c.name not in ("uscc",)]


def _enterprise(uscc: str, **extra: Any) -> EnterpriseIn:
    return EnterpriseIn.model_validate(enterprise_body(uscc, hs_codes=["9608100000"], **extra))


def _columns(row: Enterprise) -> dict[str, Any]:
    return {c: getattr(row, c) for c in COLUMNS if c not in ("created_at", "updated_at")}


async def test_the_row_and_event_are_those_register_writes(session: AsyncSession) -> None:
    by_orm, by_statement = new_uscc(), new_uscc()
    await service.register(
        session, enterprise_in=_enterprise(by_orm, **PERSONAL), owner_agency="ciq"
    )
    out = await service.register_one(
        session,
        enterprise_in=_enterprise(by_statement, **PERSONAL),
        owner_agency="ciq",
        principal=ADMIN,
    )
    session.expire_all()
    orm_row = await session.get(Enterprise, by_orm)
    row = await session.get(Enterprise, by_statement)
    assert orm_row is not None and row is not None
    assert _columns(row) == _columns(orm_row)
    assert row.created_at == row.updated_at == out.created_at
    assert out.model_dump() == {
        **{f: getattr(row, f) for f in out.model_dump() if f != "zones"},
        "zones": [],
    }
    (_, _, orm_data), (kind, subject, data) = await emitted(session)
    assert (kind, subject) == ("registry.enterprise.registered.v1", by_statement)
    assert data == {**orm_data, "uscc": by_statement}


async def test_the_outbox_row_is_keyed_by_the_event_id(session: AsyncSession) -> None:
    uscc = new_uscc()
    await service.register_one(
        session, enterprise_in=_enterprise(uscc), owner_agency=None, principal=ADMIN
    )
    [message] = (await session.scalars(select(OutboxMessage))).all()
    assert str(message.id) == message.payload["id"]  # the relay's Nats-Msg-Id
    assert message.subject == "registry.enterprise.registered"
    assert message.sent_at is None  # for the relay


async def test_personal_fields_are_encrypted_at_rest(session: AsyncSession) -> None:
    uscc = new_uscc()
    await service.register_one(
        session, enterprise_in=_enterprise(uscc, **PERSONAL), owner_agency="ciq", principal=AGENCY
    )
    stored = (
        await session.execute(
            text(
                "SELECT legal_representative, contact_name, contact_phone FROM enterprises"
                " WHERE uscc = :uscc"
            ),
            {"uscc": uscc},
        )
    ).one()
    assert all(value.startswith("enc:v1:") for value in stored)
    assert not any(plain in value for value in stored for plain in PERSONAL.values())


async def test_a_registered_uscc_is_a_conflict_and_writes_nothing(session: AsyncSession) -> None:
    uscc = new_uscc()
    await service.register_one(
        session, enterprise_in=_enterprise(uscc), owner_agency=None, principal=ADMIN
    )
    with pytest.raises(Conflict) as caught:
        await service.register_one(
            session,
            enterprise_in=_enterprise(uscc, name="另一家有限公司"),
            owner_agency=None,
            principal=ADMIN,
        )
    assert caught.value.status == 409 and caught.value.extensions["uscc"] == uscc
    assert len(await emitted(session)) == 1
    row = await session.get(Enterprise, uscc)
    assert row is not None and row.name != "另一家有限公司"


async def test_a_uscc_registered_through_the_orm_is_a_conflict(session: AsyncSession) -> None:
    uscc = new_uscc()
    await service.register(session, enterprise_in=_enterprise(uscc))
    with pytest.raises(Conflict):
        await service.register_one(
            session, enterprise_in=_enterprise(uscc), owner_agency=None, principal=ADMIN
        )


async def test_a_code_failing_the_organisation_check_is_refused(session: AsyncSession) -> None:
    uscc = without_org_check(new_uscc())
    with pytest.raises(ProblemError) as caught:
        await service.register_one(
            session, enterprise_in=_enterprise(uscc), owner_agency=None, principal=ADMIN
        )
    assert caught.value.status == 422
    assert [e["field"] for e in caught.value.extensions["errors"]] == ["uscc"]
    assert await session.get(Enterprise, uscc) is None
    assert await emitted(session) == []


@pytest.mark.parametrize(
    ("principal", "owner", "plain"),
    [(AGENCY, "ciq", True), (ADMIN, None, True), (INSPECTOR, None, False)],
    ids=["owning-agency", "admin", "inspector"],
)
async def test_the_answer_shows_personal_fields_as_the_caller_may_see_them(
    session: AsyncSession, principal: Principal, owner: str | None, plain: bool
) -> None:
    uscc = new_uscc()
    out = await service.register_one(
        session,
        enterprise_in=_enterprise(uscc, **PERSONAL),
        owner_agency=owner,
        principal=principal,
    )
    shown = (out.legal_representative, out.contact_name, out.contact_phone)
    assert shown == (
        ("欧阳娜娜", "李雷", "13812345678") if plain else ("欧阳**", "李*", "138****5678")
    )
    (expected,) = await service.to_out(
        session, [await service.get(session, uscc)], principal=principal
    )
    assert out == expected


async def test_the_enterprise_itself_sees_its_own_fields(session: AsyncSession) -> None:
    uscc = new_uscc()
    itself = Principal("ent", frozenset({"registry:write"}), uscc=uscc)
    out = await service.register_one(
        session, enterprise_in=_enterprise(uscc, **PERSONAL), owner_agency=None, principal=itself
    )
    assert out.legal_representative == "欧阳娜娜" and out.owner_agency is None
