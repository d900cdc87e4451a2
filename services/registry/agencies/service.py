"""Agencies: list and add."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.problems import Conflict
from services.registry.agencies.models import Agency
from services.registry.agencies.schemas import AgencyIn


async def list_all(session: AsyncSession) -> list[Agency]:
    """Every member agency, by code."""
    return list((await session.scalars(select(Agency).order_by(Agency.code))).all())


async def create(session: AsyncSession, *, agency_in: AgencyIn) -> Agency:
    """Add an agency; 409 if the code exists."""
    if await session.get(Agency, agency_in.code) is not None:
        raise Conflict(f"agency '{agency_in.code}' already exists")
    agency = Agency(**agency_in.model_dump())
    session.add(agency)
    await session.flush()
    return agency
