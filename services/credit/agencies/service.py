"""Member agencies, mirrored from registry: a fact's source must be one of them."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kit.events import AgencyRegistered
from kit.problems import NotFound
from services.credit.agencies.models import AgencyMirror


async def mirror(session: AsyncSession, agency: AgencyRegistered) -> None:
    """Registry added (or renamed) a member agency: an upsert, so a replay agrees."""
    names = {"name_zh": agency.name_zh, "name_en": agency.name_en}
    await session.execute(
        insert(AgencyMirror)
        .values(code=agency.code, **names)
        .on_conflict_do_update(index_elements=["code"], set_=names)
    )


async def ensure_known(session: AsyncSession, code: str) -> None:
    """404 naming the agency when registry has not announced one of this code (an unknown
    reference, like an unknown enterprise)."""
    if await session.get(AgencyMirror, code) is None:
        raise NotFound("agency", code)
