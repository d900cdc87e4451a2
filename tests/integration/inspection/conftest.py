"""Inspection's integration tests run against the inspection database."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import pytest
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.events import (
    AgencyRegistered,
    CloudEvent,
    CreditLevelChanged,
    EnterpriseRegistered,
    MembershipChanged,
    make_event,
)
from services.inspection import consumers
from services.inspection.checklists import service as checklists
from services.inspection.checklists.models import Checklist
from services.inspection.checklists.schemas import ChecklistIn
from services.inspection.directory import service as directory
from services.inspection.inspectors import service as inspectors
from services.inspection.inspectors.models import Inspector
from services.inspection.inspectors.schemas import InspectorIn
from tests.helpers import new_uscc

Listed = Callable[..., Awaitable[str]]


@pytest.fixture
def database() -> str:
    """The database this folder's `session` opens."""
    return "inspection"


# Member agencies these tests' campaigns and inspectors name, as registry would announce them
# (not `ciq`: the labs' tests announce it themselves, after checking it is refused before).
TEST_AGENCIES = ("commerce", "customs", "market_supervision", "samr")


async def member_agency(session: AsyncSession, code: str) -> None:
    """Inspection learns `code` as a member agency, as from `registry.agency.registered`."""
    agency = AgencyRegistered(code=code, name_zh=code, name_en=code, group_role="member")
    await directory.mirror_agency(session, agency)


@pytest.fixture(autouse=True)
async def member_agencies(session: AsyncSession) -> None:
    """The test agencies are member agencies (rolled back with the test)."""
    for code in TEST_AGENCIES:
        await member_agency(session, code)


@pytest.fixture
def office() -> Principal:
    """The zone office's staff: an admin token."""
    return Principal(subject="office-staff", scopes=frozenset({"admin"}), agency="commerce")


def event(source: str, type_: str, subject: str, data: BaseModel) -> CloudEvent:
    """An event as `source` (registry, credit …) would publish it."""
    return make_event(source=f"/services/{source}", type=type_, subject=subject, data=data)


@pytest.fixture
def listed(session: AsyncSession) -> Listed:
    """`await listed(zone=..., level=...)`: the USCC of an enterprise put in the directory
    by the consumers' handlers, as registry's and credit's events would."""

    async def put(zone: str | None = None, level: str | None = None, sequence: int = 2) -> str:
        uscc = new_uscc()
        registered = EnterpriseRegistered(uscc=uscc, name=f"企业{uscc[-4:]}", industry="lighting")
        await consumers.on_enterprise(
            session,
            registered,
            event("registry", "registry.enterprise.registered.v1", uscc, registered),
        )
        if zone is not None:
            admitted = MembershipChanged(
                membership_id=str(uuid.uuid4()),
                zone_code=zone,
                uscc=uscc,
                status="admitted",
                actor="office",
            )
            await consumers.on_membership(True)(
                session,
                admitted,
                event("registry", "registry.membership.admitted.v1", uscc, admitted),
            )
        if level is not None:
            change = CreditLevelChanged.model_validate(
                {"uscc": uscc, "to_level": level, "sequence": sequence, "model_version": 1}
            )
            await consumers.on_level(
                session, change, event("credit", "credit.level.changed.v1", uscc, change)
            )
        return uscc

    return put


@pytest.fixture
async def checklist(session: AsyncSession, office: Principal) -> Checklist:
    """A lighting checklist of three items."""
    body = ChecklistIn.model_validate(
        {
            "code": f"lighting-{uuid.uuid4().hex[:8]}",
            "industry": "lighting",
            "title": "出口灯具检查单",
            "items": [
                {"code": code, "title": code, "legal_basis": "GB 7000.1-2015", "criterion": "符合"}
                for code in ("LED-01", "LED-02", "LED-03")
            ],
        }
    )
    return await checklists.publish(session, body, office)


@pytest.fixture
def pool(session: AsyncSession) -> Callable[..., Awaitable[list[Inspector]]]:
    """`await pool(agency, n)`: n new active inspectors of an agency, each of its own unit."""

    async def add(agency: str, n: int) -> list[Inspector]:
        await member_agency(session, agency)
        return [
            await inspectors.create(
                session,
                InspectorIn(
                    agency=agency,
                    badge_number=f"B-{uuid.uuid4().hex[:12]}",
                    name=f"检查员{i}",
                    unit=f"{agency}-unit-{i}",
                ),
            )
            for i in range(n)
        ]

    return add
