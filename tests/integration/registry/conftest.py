"""Registry's integration tests run against the registry database."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.industries import Industry
from services.registry.domain import ZoneLevel
from services.registry.enterprises import service as enterprises
from services.registry.enterprises.schemas import EnterpriseIn
from services.registry.memberships import service as memberships
from services.registry.memberships.schemas import ApplicationIn, Decision, DecisionIn
from services.registry.zones import service as zones
from services.registry.zones.schemas import ZoneIn
from tests.helpers import enterprise_body, new_uscc


@pytest.fixture
def database() -> str:
    """The database this folder's `session` opens."""
    return "registry"


@pytest.fixture
def office() -> Principal:
    """The zone office's staff: an admin token of the commerce bureau."""
    return Principal(subject="office-staff", scopes=frozenset({"admin"}), agency="commerce")


@pytest.fixture
async def zone(session: AsyncSession) -> str:
    """The code of a zone just planned."""
    code = f"zone-{uuid.uuid4().hex[:10]}"
    await zones.create(
        session,
        zone_in=ZoneIn(
            code=code,
            name_zh="出口灯具质量安全示范区",
            name_en="Export lighting quality zone",
            industry=Industry.lighting,
            level=ZoneLevel.provincial,
        ),
    )
    return code


@pytest.fixture
def registered(session: AsyncSession) -> Callable[[], Awaitable[str]]:
    """`await registered()`: the USCC of an enterprise just registered."""

    async def register() -> str:
        uscc = new_uscc()
        enterprise_in = EnterpriseIn.model_validate(enterprise_body(uscc))
        await enterprises.register(session, enterprise_in=enterprise_in)
        return uscc

    return register


OFFICE_ADMIN = Principal(subject="office-admin", scopes=frozenset({"admin"}))


async def enterprise_in_zone(session: AsyncSession, zone: str | None) -> str:
    """The USCC of an enterprise just registered and, when `zone` names one, admitted to it
    (applied and admitted by the office)."""
    uscc = new_uscc()
    enterprise_in = EnterpriseIn.model_validate(enterprise_body(uscc))
    await enterprises.register(session, enterprise_in=enterprise_in)
    if zone is not None:
        membership = await memberships.apply(
            session, zone, application=ApplicationIn(uscc=uscc), principal=OFFICE_ADMIN
        )
        await memberships.decide(
            session,
            membership,
            decision_in=DecisionIn(decision=Decision.admit),
            principal=OFFICE_ADMIN,
        )
    return uscc
