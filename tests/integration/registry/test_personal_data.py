"""Personal information at rest: the database row holds ciphertext, the model plaintext; the
migration that introduced the encryption encrypts the rows already there. In views: masked
for all but the enterprise itself, the zone office and the owning agency."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from sqlalchemy import pool, select, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from deploy.launcher import ALEMBIC_INI, create_databases
from kit.auth import Principal
from kit.crypto import DEV_KEY_ID
from kit.migrations import upgrade
from services.registry.agencies.models import Agency
from services.registry.enterprises import service
from services.registry.enterprises.models import Enterprise
from services.registry.enterprises.schemas import EnterpriseIn
from services.registry.keys import pii
from services.registry.memberships.models import Commitment
from services.registry.programme.leadership.models import GroupMember, LeadershipGroup
from services.registry.programme.responsibilities.models import Responsibility
from services.registry.zones.models import Zone
from tests.helpers import enterprise_body, new_uscc

# the tests run in the test profile without REGISTRY_PII_KEYS: the published dev key
CIPHERTEXT = f"enc:v1:aes256gcm:{DEV_KEY_ID}:"
BEFORE = "5c0e1d7a9b21"  # the revision before the encryption


async def _raw(session: AsyncSession, query: str, **params: object) -> list[str]:
    return list((await session.execute(text(query), params)).scalars())


async def test_the_row_holds_ciphertext_and_the_model_plaintext(session: AsyncSession) -> None:
    uscc = new_uscc()
    body = enterprise_body(
        uscc,
        legal_representative="欧阳娜娜",
        contact_name="赵敏",
        contact_phone="+8613812345678",  # stored normalised
        hs_codes=["9608100000"],
    )
    await service.register(session, enterprise_in=EnterpriseIn.model_validate(body))
    session.add(
        Zone(
            code=f"pii-{uscc[-6:].lower()}",
            name_zh="测",
            name_en="t",
            industry="lighting",
            level="provincial",
        )
    )
    await session.flush()
    session.add_all(
        [
            Commitment(
                zone_code=f"pii-{uscc[-6:].lower()}",
                uscc=uscc,
                signatory="王小明",
                signed_on=date(2017, 5, 1),
                text_version="2017-v1",
                text_sha256="0" * 64,
                recorded_by="test",
            ),
            Responsibility(
                tier="primary",
                topic="all",
                uscc=uscc,
                duty="x",
                responsible_person="司马光",
                recorded_by="test",
            ),
        ]
    )
    await session.flush()

    stored = await _raw(
        session,
        "SELECT legal_representative FROM enterprises WHERE uscc = :u "
        "UNION ALL SELECT contact_name FROM enterprises WHERE uscc = :u "
        "UNION ALL SELECT contact_phone FROM enterprises WHERE uscc = :u "
        "UNION ALL SELECT signatory FROM commitments WHERE uscc = :u "
        "UNION ALL SELECT responsible_person FROM responsibilities WHERE uscc = :u",
        u=uscc,
    )
    assert len(stored) == 5
    plain = ("欧阳娜娜", "赵敏", "13812345678", "王小明", "司马光")
    for value, name in zip(stored, plain, strict=True):
        assert value.startswith(CIPHERTEXT) and name not in value
    # nothing in the table can be matched by the name
    assert (
        await _raw(session, "SELECT uscc FROM enterprises WHERE legal_representative LIKE '%欧阳%'")
        == []
    )

    session.expunge_all()  # read back from the database, not the identity map
    enterprise = await session.get(Enterprise, uscc)
    assert enterprise is not None and enterprise.legal_representative == "欧阳娜娜"
    assert (enterprise.contact_name, enterprise.contact_phone) == ("赵敏", "13812345678")
    assert (
        await session.scalar(select(Commitment.signatory).where(Commitment.uscc == uscc))
        == "王小明"
    )
    person = select(Responsibility.responsible_person).where(Responsibility.uscc == uscc)
    assert await session.scalar(person) == "司马光"
    # the same name twice is two different values (a random nonce each): no equality leak
    again = pii.get().encrypt("欧阳娜娜", context="registry.enterprises.legal_representative")
    assert again != stored[0]


async def test_the_migration_encrypts_existing_rows(postgres: str) -> None:
    """A database at the revision before, with plaintext in it, upgraded to head."""
    url = f"{postgres}/registry_pii_upgrade"

    def migrate(revision: str) -> None:
        asyncio.run(create_databases(postgres, ["registry_pii_upgrade"]))
        upgrade(ALEMBIC_INI, "registry", url, revision)

    def in_thread(action: Callable[[], None]) -> None:  # Alembic runs its own event loop
        with ThreadPoolExecutor(1) as thread:
            thread.submit(action).result()

    in_thread(lambda: migrate(BEFORE))
    engine = create_async_engine(url, poolclass=pool.NullPool)
    uscc = new_uscc()
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO enterprises (uscc, name, legal_representative, products, hs_codes,"
                " export_markets, certifications, version, created_at, updated_at) VALUES (:u,"
                " '旧企业', '张三', '[]', '{}', '{}', '[]', 1, now(), now())"
            ),
            {"u": uscc},
        )
    in_thread(lambda: migrate("head"))
    async with engine.connect() as connection:
        stored = await connection.scalar(
            text("SELECT legal_representative FROM enterprises WHERE uscc = :u"), {"u": uscc}
        )
    await engine.dispose()
    assert stored.startswith(CIPHERTEXT) and "张三" not in stored
    assert pii.get().decrypt(stored, context="registry.enterprises.legal_representative") == "张三"


async def _office(session: AsyncSession, agency: str) -> None:
    """A leadership group whose office (办公室) sits in `agency`."""
    session.add(Agency(code=agency, name_zh="商务局", name_en="Commerce", group_role="office"))
    session.add(LeadershipGroup(code="g-pii", county="宁海县", name_zh="领导小组", name_en="Group"))
    await session.flush()
    session.add(GroupMember(group_code="g-pii", agency_code=agency, role="office"))
    await session.flush()


@pytest.mark.parametrize(
    ("principal", "plain"),
    [
        (Principal("owner", frozenset({"registry:read"}), agency="ciq"), True),
        (Principal("office", frozenset({"registry:read"}), agency="commerce_pii"), True),
        (Principal("admin", frozenset({"admin"})), True),
        (Principal("agency", frozenset({"registry:read"}), agency="finance"), False),
        (
            Principal("insp", frozenset({"registry:read"}), agency="ciq", inspector_id="i-1"),
            False,
        ),
    ],
    ids=lambda v: v.subject if isinstance(v, Principal) else str(v),
)
async def test_views_mask_personal_fields_for_all_but_owner_office_and_enterprise(
    session: AsyncSession, principal: Principal, plain: bool
) -> None:
    await _office(session, "commerce_pii")
    uscc = new_uscc()
    body = enterprise_body(uscc, legal_representative="欧阳娜娜", contact_phone="13812345678")
    enterprise = await service.register(
        session, enterprise_in=EnterpriseIn.model_validate(body), owner_agency="ciq"
    )
    itself = Principal("ent", frozenset({"registry:read"}), uscc=uscc)
    for who, expected in ((principal, plain), (itself, True)):
        (out,) = await service.to_out(session, [enterprise], principal=who)
        shown = (out.legal_representative, out.contact_phone, out.owner_agency)
        assert shown == (
            ("欧阳娜娜", "13812345678", "ciq") if expected else ("欧阳**", "138****5678", "ciq")
        )
    assert enterprise.legal_representative == "欧阳娜娜"  # the row itself is untouched
