"""Responsibility endpoints: record, list, and route a problem to its owner."""

from typing import Annotated

from fastapi import APIRouter, Query, Response

from kit.auth import ensure_own_enterprise
from kit.db import SessionDep
from kit.pagination import Page
from kit.uscc import Uscc, normalize
from kit.validation import ZONE_CODE_PATTERN
from services.registry.programme.responsibilities import service
from services.registry.programme.responsibilities.schemas import (
    ResponsibilityIn,
    ResponsibilityOut,
    RouteOut,
    Tier,
)
from services.registry.programme.shared import (
    Admin,
    AgencyQuery,
    Paging,
    Reader,
    UsccQuery,
    ZoneQuery,
)
from services.registry.zones.filters import known_zone

router = APIRouter(prefix="/v1/responsibilities", tags=["responsibilities"])


@router.post(
    "",
    status_code=201,
    summary="Record a quality-safety responsibility (质量安全责任体系)",
    response_model=ResponsibilityOut,
    responses={
        200: {"model": ResponsibilityOut, "description": "Replaced an existing one's duty"},
        404: {"description": "Zone, agency or enterprise not found"},
        409: {"description": "A primary enterprise not admitted to the zone (`rule`)"},
    },
)
async def assign_responsibility(
    responsibility_in: ResponsibilityIn, session: SessionDep, principal: Admin, response: Response
) -> ResponsibilityOut:
    """Admin only. `overall` (地方政府负总责) and `supervisory` (监管部门各负其责, per topic)
    name an agency; `primary` (企业第一责任人) an admitted member of the zone (409 with
    `rule` `zone_member` otherwise). A zone of null means county-wide. The same party,
    zone, tier and topic again replaces the duty (200), also when such requests race.
    Emits `registry.responsibility.assigned`."""
    row, created = await service.assign_responsibility(
        session, responsibility_in=responsibility_in, principal=principal
    )
    response.status_code = 201 if created else 200
    return (await service.responsibilities_out(session, [row], principal=principal))[0]


@router.get(
    "",
    summary="Responsibilities",
    response_model=Page[ResponsibilityOut],
    responses={403: {"description": "An enterprise token naming another enterprise"}},
)
async def list_responsibilities(
    session: SessionDep,
    principal: Reader,
    page: Paging,
    zone: ZoneQuery = None,
    tier: Annotated[Tier | None, Query(description="overall, supervisory or primary")] = None,
    topic: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]{1,39}$")] = None,
    agency: AgencyQuery = None,
    uscc: UsccQuery = None,
) -> Page[ResponsibilityOut]:
    """With `zone`, the zone's and the county-wide ones; an enterprise token sees the
    agencies' and its own, not another enterprise's (403 when it names one)."""
    wanted = normalize(uscc) if uscc else None
    if wanted:
        ensure_own_enterprise(principal, wanted)
    rows, next_cursor = await service.list_responsibilities(
        session,
        page=page,
        zone_code=zone,
        tier=tier.value if tier else None,
        topic=topic,
        agency_code=agency,
        uscc=wanted,
        viewer_uscc=principal.uscc,
    )
    items = await service.responsibilities_out(session, rows, principal=principal)
    return Page(items=items, next_cursor=next_cursor)


@router.get(
    "/route",
    summary="Route a problem to its owner",
    response_model=RouteOut,
    responses={
        403: {"description": "An enterprise token naming another enterprise"},
        404: {"description": "Enterprise unknown, or nobody is responsible"},
        422: {"description": "A malformed zone, topic or USCC, or a zone registry lacks"},
    },
)
async def route(
    session: SessionDep,
    principal: Reader,
    zone: Annotated[
        str, Query(pattern=ZONE_CODE_PATTERN, description="Zone code; an unknown zone is a 422")
    ],
    topic: Annotated[
        str, Query(pattern=r"^[a-z][a-z0-9_]{1,39}$", description="The problem's topic")
    ],
    uscc: Annotated[Uscc | None, Query(description="The enterprise concerned (USCC)")] = None,
) -> RouteOut:
    """The owner is the agency supervising the topic (the zone's before the county-wide,
    the topic's before `all`), else whoever is responsible overall; a named enterprise is
    first responsible (an enterprise token may name only itself); a malformed USCC is a 422
    naming its fault, and so is a zone registry does not hold (listing those it does)."""
    await known_zone(session, zone)
    if uscc:
        ensure_own_enterprise(principal, uscc)
    return await service.route(session, zone_code=zone, topic=topic, uscc=uscc, principal=principal)
