"""Notify's integration tests run against the notify database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.events import CloudEvent, EnterpriseRegistered, make_event, parse_data
from services.notify.fanout import on_event
from tests.helpers import new_uscc

Deliver = Callable[[str, str, BaseModel], Awaitable[CloudEvent]]


@pytest.fixture
def database() -> str:
    """The database this folder's `session` opens."""
    return "notify"


@pytest.fixture
def office() -> Principal:
    """The zone office's staff: an admin token naming no agency."""
    return Principal(subject="office-staff", scopes=frozenset({"admin"}))


@pytest.fixture
def samr() -> Principal:
    """The market regulator's system: an agency token."""
    return Principal(subject="samr-system", scopes=frozenset({"notify:write"}), agency="samr")


def enterprise_user(uscc: str) -> Principal:
    """An enterprise's token."""
    return Principal(subject=f"user-{uscc}", scopes=frozenset({"notify:write"}), uscc=uscc)


@pytest.fixture
def deliver(session: AsyncSession) -> Deliver:
    """`await deliver(type, subject, data)`: the event as its service would publish it, routed
    by notify's consumer handler (then flushed and forgotten, as the consumer does)."""

    async def route(type_: str, subject: str, data: BaseModel) -> CloudEvent:
        source = f"/services/{type_.split('.', 1)[0]}"
        event = make_event(source=source, type=type_, subject=subject, data=data)
        await on_event(session, parse_data(event), event)
        await session.flush()
        session.expunge_all()
        return event

    return route


@pytest.fixture
def announced(deliver: Deliver) -> Callable[..., Awaitable[str]]:
    """`await announced(hs_codes=[...], export_markets=[...])`: the USCC of an enterprise
    registry just announced (notify keeps it as a recipient)."""

    async def announce(hs_codes: list[str], export_markets: list[str]) -> str:
        uscc = new_uscc()
        registered = EnterpriseRegistered(
            uscc=uscc,
            name=f"企业{uscc[-4:]}",
            industry="lighting",
            hs_codes=hs_codes,
            export_markets=export_markets,
        )
        await deliver("registry.enterprise.registered.v1", uscc, registered)
        return uscc

    return announce
