"""Inspector pool endpoints (执法检查人员名录库)."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from kit.auth import Principal, ensure_office, require
from kit.concurrency import check_if_match, set_etag
from kit.db import SessionDep
from kit.pagination import Page, PageParams, page_params
from services.inspection.inspectors import service
from services.inspection.inspectors.schemas import (
    ConflictIn,
    ConflictOut,
    InspectorIn,
    InspectorOut,
    InspectorPatch,
)

router = APIRouter(prefix="/v1/inspectors", tags=["inspectors"])
Reader = Annotated[Principal, Depends(require("inspection:read"))]
Writer = Annotated[Principal, Depends(require("inspection:write"))]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such inspector"}}


@router.post(
    "",
    status_code=201,
    summary="Add an inspector to the pool",
    response_model=InspectorOut,
    responses={
        404: {"description": "The agency is not a member agency registry announced"},
        409: {"description": "Badge number already in the pool"},
    },
)
async def create_inspector(
    body: InspectorIn, session: SessionDep, principal: Writer, response: Response
) -> InspectorOut:
    """Agencies maintain their own officers; the ETag is the version."""
    ensure_office(principal)
    service.ensure_own_agency(principal, body.agency)
    inspector = await service.create(session, body)
    set_etag(response, inspector.version)
    response.headers["Location"] = f"/v1/inspectors/{inspector.id}"
    return InspectorOut.model_validate(inspector)


@router.get("", summary="The inspector pool", response_model=Page[InspectorOut])
async def list_inspectors(
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    agency: Annotated[str | None, Query(max_length=40)] = None,
    unit: Annotated[str | None, Query(max_length=100)] = None,
    active: bool | None = None,
    specialty: Annotated[str | None, Query(max_length=40)] = None,
) -> Page[InspectorOut]:
    """Filter by agency, unit, active flag, specialty (industry)."""
    ensure_office(principal)
    rows, next_cursor = await service.search(
        session, page=page, agency=agency, unit=unit, active=active, specialty=specialty
    )
    return Page(items=[InspectorOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/{inspector_id}", summary="One inspector", response_model=InspectorOut, responses=NOT_FOUND
)
async def get_inspector(
    inspector_id: uuid.UUID, session: SessionDep, principal: Reader, response: Response
) -> InspectorOut:
    """One inspector; an inspector token may read itself."""
    if principal.inspector_id != str(inspector_id):
        ensure_office(principal)
    inspector = await service.get(session, inspector_id)
    set_etag(response, inspector.version)
    return InspectorOut.model_validate(inspector)


@router.patch(
    "/{inspector_id}",
    summary="Update an inspector",
    response_model=InspectorOut,
    responses={**NOT_FOUND, 412: {"description": "If-Match does not match"}},
)
async def patch_inspector(
    inspector_id: uuid.UUID,
    patch: InspectorPatch,
    request: Request,
    session: SessionDep,
    principal: Writer,
    response: Response,
) -> InspectorOut:
    """Unit, specialties, active flag; send `If-Match`."""
    ensure_office(principal)
    inspector = await service.get(session, inspector_id, for_update=True)
    service.ensure_own_agency(principal, inspector.agency)
    check_if_match(request, inspector.version)
    inspector = await service.update(session, inspector, patch)
    set_etag(response, inspector.version)
    return InspectorOut.model_validate(inspector)


@router.post(
    "/{inspector_id}/conflicts",
    status_code=201,
    summary="Declare a conflict of interest",
    response_model=ConflictOut,
    responses=NOT_FOUND,
)
async def declare_conflict(
    inspector_id: uuid.UUID, body: ConflictIn, session: SessionDep, principal: Writer
) -> ConflictOut:
    """The inspector (or the agency) names an enterprise they must not inspect (回避)."""
    inspector = await service.get(session, inspector_id)
    if principal.inspector_id != str(inspector_id):
        ensure_office(principal)
        service.ensure_own_agency(principal, inspector.agency)
    return ConflictOut.model_validate(await service.declare_conflict(session, inspector, body))


@router.get(
    "/{inspector_id}/conflicts",
    summary="An inspector's conflicts",
    response_model=Page[ConflictOut],
    responses=NOT_FOUND,
)
async def list_conflicts(
    inspector_id: uuid.UUID,
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[ConflictOut]:
    """Declared conflicts, oldest first."""
    if principal.inspector_id != str(inspector_id):
        ensure_office(principal)
    await service.get(session, inspector_id)
    rows, next_cursor = await service.conflicts_of(session, inspector_id, page)
    return Page(items=[ConflictOut.model_validate(r) for r in rows], next_cursor=next_cursor)
