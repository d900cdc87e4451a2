"""Agencies: list and add (each addition announced, so other services know its code)."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.db import get_or_404
from kit.events import AgencyRegistered
from kit.pagination import PageParams, keyset_page
from kit.problems import Conflict
from services.registry.agencies.models import Agency
from services.registry.agencies.schemas import AgencyIn
from services.registry.events import publish


async def list_page(session: AsyncSession, *, page: PageParams) -> tuple[list[Agency], str | None]:
    """Member agencies, by code."""
    return await keyset_page(session, select(Agency), keys=[Agency.code], page=page)


async def get(session: AsyncSession, code: str) -> Agency:
    """A member agency, or 404."""
    return await get_or_404(session, Agency, code, "agency")


async def create(session: AsyncSession, *, agency_in: AgencyIn) -> Agency:
    """Add an agency; 409 if the code exists."""
    if await session.get(Agency, agency_in.code) is not None:
        raise Conflict(
            f"agency '{agency_in.code}' already exists", detail_zh=f"部门“{agency_in.code}”已存在"
        )
    agency = Agency(**agency_in.model_dump())
    session.add(agency)
    await session.flush()
    await publish(
        session,
        "registry.agency.registered.v1",
        agency.code,
        AgencyRegistered(**agency_in.model_dump()),
    )
    return agency
