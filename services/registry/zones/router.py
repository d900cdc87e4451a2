"""Zone endpoints (示范区)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from kit.auth import Principal, ensure_office, require
from kit.concurrency import check_if_match, set_etag
from kit.db import SessionDep, read_pool
from kit.pagination import Page, PageParams, page_params, page_response
from kit.validation import ZoneCodePath
from services.registry.domain import Industry, Stage, ZoneLevel
from services.registry.zones import service
from services.registry.zones.schemas import (
    PublicZoneOut,
    TaskUpdate,
    TransitionIn,
    TransitionOut,
    ZoneIn,
    ZoneOut,
    ZonePatch,
    ZoneTaskOut,
)

router = APIRouter(prefix="/v1/zones", tags=["zones"])
public_router = APIRouter(prefix="/v1/public", tags=["public"])
Reader = Annotated[Principal, Depends(require("registry:read"))]


async def office_writer(
    principal: Annotated[Principal, Depends(require("registry:write"))],
) -> Principal:
    """registry:write held by the zone office or an agency, not an enterprise or inspector."""
    ensure_office(principal)
    return principal


Writer = Annotated[Principal, Depends(office_writer)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Zone not found"}}


@router.get("", summary="List zones", response_model=Page[ZoneOut])
async def list_zones(
    request: Request,
    _: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    industry: Annotated[Industry | None, Query()] = None,
    level: Annotated[ZoneLevel | None, Query()] = None,
    stage: Annotated[Stage | None, Query()] = None,
) -> Response:
    """Zones with stage, allowed transitions and checklists; filter by industry, level, stage."""
    items, next_cursor = await service.list_zones(
        read_pool(request),
        page=page,
        view=ZoneOut,
        industry=industry,
        level=level,
        stage=stage,
    )
    return page_response(items, next_cursor)


@router.post(
    "",
    status_code=201,
    summary="Plan a zone",
    response_model=ZoneOut,
    responses={409: {"description": "Zone code already exists"}},
)
async def create_zone(
    zone_in: ZoneIn, session: SessionDep, _: Writer, response: Response
) -> ZoneOut:
    """A new zone starts `planned`, with the work plan's tasks for each stage."""
    zone = await service.create(session, zone_in=zone_in)
    set_etag(response, zone.version)
    response.headers["Location"] = f"/v1/zones/{zone.code}"
    return service.to_out(zone)


@router.get("/{code}", summary="Get a zone", response_model=ZoneOut, responses=NOT_FOUND)
async def get_zone(
    code: ZoneCodePath, session: SessionDep, _: Reader, response: Response
) -> ZoneOut:
    """One zone; the ETag is its version."""
    zone = await service.get(session, code)
    set_etag(response, zone.version)
    return service.to_out(zone)


@router.patch(
    "/{code}",
    summary="Update a zone",
    response_model=ZoneOut,
    responses={**NOT_FOUND, 412: {"description": "If-Match does not match"}},
)
async def patch_zone(
    code: ZoneCodePath,
    patch: ZonePatch,
    request: Request,
    session: SessionDep,
    _: Writer,
    response: Response,
) -> ZoneOut:
    """Partial update; send `If-Match` with the ETag you read."""
    zone = await service.get(session, code, for_update=True)
    check_if_match(request, zone.version)
    zone = await service.update(session, zone, patch=patch)
    set_etag(response, zone.version)
    return service.to_out(zone)


@router.post(
    "/{code}/transitions",
    status_code=201,
    summary="Move a zone to another stage",
    response_model=TransitionOut,
    responses={**NOT_FOUND, 409: {"description": "Not allowed from the current stage"}},
)
async def transition_zone(
    code: ZoneCodePath,
    transition_in: TransitionIn,
    request: Request,
    session: SessionDep,
    principal: Writer,
) -> TransitionOut:
    """planned → launching → implementing → assessing → accepted; revoked from any state."""
    zone = await service.get(session, code, for_update=True)
    check_if_match(request, zone.version)
    record = await service.transition(
        session, zone, transition_in=transition_in, principal=principal
    )
    return TransitionOut.model_validate(record)


@router.get(
    "/{code}/transitions",
    summary="A zone's stage history",
    response_model=Page[TransitionOut],
    responses=NOT_FOUND,
)
async def list_transitions(
    code: ZoneCodePath,
    session: SessionDep,
    _: Reader,
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[TransitionOut]:
    """Every transition, oldest first, with who, when, why and the tasks left open."""
    rows, next_cursor = await service.list_transitions(session, code, page=page)
    return Page(items=[TransitionOut.model_validate(t) for t in rows], next_cursor=next_cursor)


@router.put(
    "/{code}/tasks/{task_code}",
    summary="Mark a stage task done or open",
    response_model=ZoneTaskOut,
    responses=NOT_FOUND,
)
async def set_task(
    code: ZoneCodePath,
    task_code: str,
    task_update: TaskUpdate,
    session: SessionDep,
    principal: Writer,
) -> ZoneTaskOut:
    """Records who completed the task and when."""
    zone = await service.get(session, code, for_update=True)
    task = await service.set_task(
        session, zone, task_code, task_update=task_update, principal=principal
    )
    return ZoneTaskOut.model_validate(task)


@public_router.get(
    "/zones", summary="Public zone list (一公开)", response_model=Page[PublicZoneOut]
)
async def public_zones(
    request: Request, page: Annotated[PageParams, Depends(page_params)]
) -> Response:
    """No token needed: the county's zones, their stages and which stage tasks are done;
    no task notes, no user ids."""
    items, next_cursor = await service.list_zones(read_pool(request), page=page, view=PublicZoneOut)
    return page_response(items, next_cursor)
