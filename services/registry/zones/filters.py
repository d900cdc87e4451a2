"""The `zone` filter of registry's lists: a zone the registry does not hold is a 422."""

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import bindparam, select

from kit.db import Prepared, Reads, read_pool
from kit.validation import ZoneFilter, unknown_value
from services.registry.zones.models import Zone

# statements compiled once (kit.db.Prepared): the filter runs on every list request that has it
_ONE = Prepared(select(Zone.code).where(Zone.code == bindparam("code")))
_ALL = Prepared(select(Zone.code).order_by(Zone.code))


async def known_zone(on: Reads, zone: str | None = None) -> str | None:
    """The filter's zone code, checked against the zones (data, not an enum), read through
    `on` (a session or the read pool)."""
    if zone is None:
        return None
    if await _ONE.all(on, code=zone):
        return zone
    codes = [row["code"] for row in await _ALL.all(on)]
    raise unknown_value("zone", zone, codes, what="zone", what_zh="示范区")


async def zone_filter(request: Request, zone: ZoneFilter = None) -> str | None:
    """`known_zone` as a list's dependency, on the read pool (no session for the filter)."""
    return await known_zone(read_pool(request), zone)


KnownZone = Annotated[str | None, Depends(zone_filter)]
