"""The `zone` filter of registry's lists: a zone the registry does not hold is a 422."""

from typing import Annotated

from fastapi import Depends
from sqlalchemy import select

from kit.db import SessionDep
from kit.validation import ZoneFilter, unknown_value
from services.registry.zones.models import Zone


async def known_zone(session: SessionDep, zone: ZoneFilter = None) -> str | None:
    """The filter's zone code, checked against the zones (data, not an enum)."""
    if zone is None:
        return None
    if await session.scalar(select(Zone.code).where(Zone.code == zone)) is not None:
        return zone
    codes = list((await session.scalars(select(Zone.code).order_by(Zone.code))).all())
    raise unknown_value("zone", zone, codes, what="zone", what_zh="示范区")


KnownZone = Annotated[str | None, Depends(known_zone)]
