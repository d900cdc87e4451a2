"""Credit's integration tests run against the credit database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.events import AgencyRegistered, EnterpriseRegistered, make_event
from services.credit import consumers
from services.credit.agencies import service as agencies
from tests.helpers import new_uscc


@pytest.fixture
def database() -> str:
    """The database this folder's `session` opens."""
    return "credit"


# The agencies these tests' tokens name, announced as registry would: a fact's source must be
# a member agency credit was told of.
TEST_AGENCIES = ("commerce", "ciq", "customs", "market_supervision", "samr")


@pytest.fixture(autouse=True)
async def member_agencies(session: AsyncSession) -> None:
    """Credit knows the test agencies (rolled back with the test)."""
    for code in TEST_AGENCIES:
        agency = AgencyRegistered(code=code, name_zh=code, name_en=code, group_role="member")
        await agencies.mirror(session, agency)


@pytest.fixture
def office() -> Principal:
    """The zone office's staff: an admin token naming no agency (it speaks for commerce)."""
    return Principal(subject="office-staff", scopes=frozenset({"admin"}))


@pytest.fixture
def samr() -> Principal:
    """The market regulator's system: an agency token."""
    return Principal(subject="samr-system", scopes=frozenset({"credit:write"}), agency="samr")


@pytest.fixture
def announced(session: AsyncSession) -> Callable[..., Awaitable[str]]:
    """`await announced(industry=...)`: the USCC of an enterprise registry just announced,
    applied through credit's consumer as the event would be."""

    async def announce(industry: str | None = "lighting") -> str:
        uscc = new_uscc()
        registered = EnterpriseRegistered(uscc=uscc, name=f"企业{uscc[-4:]}", industry=industry)
        event = make_event(
            source="/services/registry",
            type="registry.enterprise.registered.v1",
            subject=uscc,
            data=registered,
        )
        await consumers.on_registered(session, [(registered, event)])
        return uscc

    return announce
