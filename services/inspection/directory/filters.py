"""The `zone` filter of inspection's lists: a zone registry never announced is a 422."""

from typing import Annotated

from fastapi import Depends

from kit.db import SessionDep
from kit.validation import ZoneFilter
from services.inspection.directory import service


async def known_zone(session: SessionDep, zone: ZoneFilter = None) -> str | None:
    """The filter's zone code, checked against the zones registry announced."""
    return await service.known_zone(session, zone)


KnownZone = Annotated[str | None, Depends(known_zone)]
