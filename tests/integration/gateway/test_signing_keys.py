"""Signing keys (gateway/signing/): the configured or first key on record, rotation that
publishes a key before signing with it, revocation, and private halves encrypted at rest."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth.tokens import kid_of, new_private_key_pem
from gateway.signing import service
from gateway.signing.models import SigningKey
from kit.crypto import PREFIX
from kit.db import utcnow


@pytest.fixture
def database() -> str:
    return "gateway"


async def _clear(session: AsyncSession) -> None:
    await session.execute(text("DELETE FROM signing_keys"))


async def test_the_configured_key_is_on_record_once_and_current(session: AsyncSession) -> None:
    await _clear(session)
    pem = new_private_key_pem()
    await service.ensure(session, pem)
    await service.ensure(session, pem)  # a second worker, a restart
    await session.flush()
    keys = await service.in_force(session)
    assert keys.kids == (kid_of(pem),) and keys.current_pem == pem
    stored = await session.scalar(text("SELECT private_pem FROM signing_keys"))
    assert str(stored).startswith(PREFIX) and "PRIVATE KEY" not in str(stored)


async def test_without_a_configured_key_one_is_generated_once(session: AsyncSession) -> None:
    await _clear(session)
    await service.ensure(session, "")
    await session.flush()
    await service.ensure(session, "")
    await session.flush()
    assert len((await service.in_force(session)).kids) == 1


async def test_a_rotated_key_is_published_first_then_current(session: AsyncSession) -> None:
    await _clear(session)
    await service.ensure(session, "")
    await session.flush()
    old = (await service.in_force(session)).kids[0]
    new = await service.rotate(session, by="sec", revoke_previous=False, token_max_lifetime_s=1200)
    keys = await service.in_force(session)
    assert keys.kids == (old, new.kid)  # the old one still signs; the new one is published
    previous = await session.get(SigningKey, old)
    assert previous is not None and previous.retired_at is not None
    assert previous.retired_at >= new.active_from + timedelta(seconds=1200)
    previous.active_from = utcnow() - timedelta(hours=1)
    new.active_from = utcnow() - timedelta(seconds=1)  # its activation delay has passed
    await session.flush()
    assert (await service.in_force(session)).kids == (new.kid, old)
    previous.retired_at = utcnow() - timedelta(seconds=1)  # its grace has passed
    await session.flush()
    assert (await service.in_force(session)).kids == (new.kid,)


async def test_revoking_makes_the_new_key_current_and_retires_the_rest_now(
    session: AsyncSession,
) -> None:
    await _clear(session)
    await service.ensure(session, "")
    await session.flush()
    await service.rotate(session, by="sec", revoke_previous=False, token_max_lifetime_s=1200)
    new = await service.rotate(session, by="sec", revoke_previous=True, token_max_lifetime_s=1200)
    assert (await service.in_force(session)).kids == (new.kid,)
    listed, _ = await service.list_page(session, page=_page())
    assert listed[0].kid == new.kid and len(listed) == 3


def _page():  # type: ignore[no-untyped-def]
    from kit.pagination import PageParams

    return PageParams(cursor=None, limit=50)
