"""Public testing platform endpoints (公共检测服务平台): labs and enterprises' test requests."""

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from kit.auth import Principal, require
from kit.concurrency import check_if_match, set_etag
from kit.db import SessionDep
from kit.pagination import Page, PageParams, page_params
from kit.validation import HsCode
from services.inspection.labs import service
from services.inspection.labs.models import TestRequest
from services.inspection.labs.schemas import (
    LabIn,
    LabOut,
    LabPatch,
    RejectIn,
    ResultIn,
    TestRequestIn,
    TestRequestOut,
    TestStatus,
)

labs_router = APIRouter(prefix="/v1/labs", tags=["labs"])
requests_router = APIRouter(prefix="/v1/test-requests", tags=["labs"])
Admin = Annotated[Principal, Depends(require("admin"))]
Reader = Annotated[Principal, Depends(require("inspection:read"))]
Writer = Annotated[Principal, Depends(require("inspection:write"))]
LAB_404: dict[int | str, dict[str, Any]] = {404: {"description": "No such lab"}}
REQUEST_404: dict[int | str, dict[str, Any]] = {404: {"description": "No such test request"}}
MOVE: dict[int | str, dict[str, Any]] = {
    **REQUEST_404,
    403: {"description": "Not the lab's operator (its agency) or an admin"},
    409: {"description": "Not a move the request's status allows"},
    412: {"description": "If-Match names another version than the request's (current_etag)"},
}


@labs_router.post(
    "",
    status_code=201,
    summary="Register a lab with its accreditation (admin)",
    response_model=LabOut,
    responses={
        404: {"description": "The operating agency is not a member agency registry announced"},
        409: {"description": "Another lab holds this CNAS or CMA number"},
    },
)
async def create_lab(
    body: LabIn, session: SessionDep, principal: Admin, response: Response
) -> LabOut:
    """A lab of the public testing platform (公共检测服务平台): CNAS and/or CMA number, the
    operating agency, scope entries (a product by HS prefix or name, and a standard) and the
    validity of the accreditation. Emits `inspection.lab.registered`."""
    lab = await service.create_lab(session, lab_in=body)
    set_etag(response, lab.version)
    response.headers["Location"] = f"/v1/labs/{lab.id}"
    return service.lab_out(lab)


@labs_router.get("", summary="Labs", response_model=Page[LabOut])
async def list_labs(
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    hs_code: Annotated[HsCode | None, Query(description="Accredited for this product")] = None,
    standard: Annotated[
        str | None, Query(min_length=2, max_length=60, description="Accredited for this standard")
    ] = None,
    valid_today: Annotated[bool | None, Query(description="Active and within validity")] = None,
) -> Page[LabOut]:
    """Every token may read the labs (an enterprise chooses one); with `hs_code` and
    `standard`, the labs whose scope covers them."""
    rows, next_cursor = await service.search_labs(
        session, page=page, hs_code=hs_code, standard=standard, valid_today=valid_today
    )
    return Page(items=[service.lab_out(r) for r in rows], next_cursor=next_cursor)


@labs_router.get("/{lab_id}", summary="One lab", response_model=LabOut, responses=LAB_404)
async def get_lab(
    lab_id: uuid.UUID, session: SessionDep, principal: Reader, response: Response
) -> LabOut:
    """Accreditation, scope and validity."""
    lab = await service.get_lab(session, lab_id)
    set_etag(response, lab.version)
    return service.lab_out(lab)


@labs_router.patch(
    "/{lab_id}",
    summary="Change a lab's accreditation (admin)",
    response_model=LabOut,
    responses={
        **LAB_404,
        409: {"description": "Another lab holds this CNAS or CMA number"},
        412: {"description": "If-Match does not match"},
    },
)
async def patch_lab(
    lab_id: uuid.UUID,
    body: LabPatch,
    request: Request,
    session: SessionDep,
    principal: Admin,
    response: Response,
) -> LabOut:
    """Renewed validity, a new scope (replacing the old), deactivation; send `If-Match`.
    Emits `inspection.lab.updated`."""
    lab = await service.get_lab(session, lab_id, for_update=True)
    check_if_match(request, lab.version)
    lab = await service.update_lab(session, lab, body)
    set_etag(response, lab.version)
    return service.lab_out(lab)


@requests_router.post(
    "",
    status_code=201,
    summary="Request a test of an export batch",
    response_model=TestRequestOut,
    responses={
        403: {"description": "Another enterprise's batch, or an agency or inspector token"},
        404: {"description": "No such lab or export batch"},
        422: {"description": "The lab is not accredited for the product and standard (named)"},
    },
)
async def create_request(
    body: TestRequestIn, session: SessionDep, principal: Writer, response: Response
) -> TestRequestOut:
    """An enterprise (or the office for it) asks a lab to test a sample of one of its export
    batches to a standard. The lab must be accredited today for the product (HS code or
    name) and standard: otherwise 422 naming the missing scope (`missing_scope`). Emits
    `inspection.test.requested`."""
    created = await service.create_request(session, request_in=body, principal=principal)
    response.headers["Location"] = f"/v1/test-requests/{created.id}"
    return TestRequestOut.model_validate(created)


@requests_router.get("", summary="Test requests", response_model=Page[TestRequestOut])
async def list_requests(
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    uscc: Annotated[
        str | None, Query(max_length=18, description="The enterprise (ignored for its own token)")
    ] = None,
    lab_id: Annotated[uuid.UUID | None, Query(description="The lab asked")] = None,
    batch_id: Annotated[uuid.UUID | None, Query(description="The export batch tested")] = None,
    status: Annotated[
        TestStatus | None, Query(description="requested, accepted, tested or rejected")
    ] = None,
    outcome: Annotated[
        Literal["pass", "fail"] | None, Query(description="A tested request's outcome")
    ] = None,
) -> Page[TestRequestOut]:
    """Oldest first; an enterprise token sees only its own."""
    rows, next_cursor = await service.search_requests(
        session,
        page=page,
        principal=principal,
        uscc=uscc,
        lab_id=lab_id,
        batch_id=batch_id,
        status=status,
        outcome=outcome,
    )
    return Page(items=[TestRequestOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@requests_router.get(
    "/{request_id}",
    summary="One test request",
    response_model=TestRequestOut,
    responses={**REQUEST_404, 403: {"description": "Another enterprise's request"}},
)
async def get_request(
    request_id: uuid.UUID, session: SessionDep, principal: Reader, response: Response
) -> TestRequestOut:
    """Status, result and values, the risk signal and alert of a failed result."""
    found = await service.get_request(session, request_id)
    service.ensure_may_see(principal, found)
    set_etag(response, found.version)
    return TestRequestOut.model_validate(found)


async def _movable(
    session: SessionDep, request_id: uuid.UUID, principal: Principal, request: Request
) -> TestRequest:
    """The request, locked; the caller its lab's operator (403), at the version `If-Match`
    names when sent (412, before the status is looked at)."""
    found = await service.get_request(session, request_id, for_update=True)
    await service.ensure_may_move(session, found, principal)
    check_if_match(request, found.version)
    return found


@requests_router.post(
    "/{request_id}/accept",
    summary="Accept a test request (the lab)",
    response_model=TestRequestOut,
    responses=MOVE,
)
async def accept(
    request_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: Writer,
    response: Response,
) -> TestRequestOut:
    """requested → accepted, by the lab's operating agency or an admin; `If-Match` (the
    request's ETag) makes it conditional. Emits `inspection.test.accepted`."""
    found = await _movable(session, request_id, principal, request)
    moved = await service.accept(session, found, principal)
    set_etag(response, moved.version)
    return TestRequestOut.model_validate(moved)


@requests_router.post(
    "/{request_id}/reject",
    summary="Reject a test request (the lab)",
    response_model=TestRequestOut,
    responses=MOVE,
)
async def reject(
    request_id: uuid.UUID,
    body: RejectIn,
    request: Request,
    session: SessionDep,
    principal: Writer,
    response: Response,
) -> TestRequestOut:
    """requested or accepted → rejected, with the reason; `If-Match` makes it conditional.
    Emits `inspection.test.rejected`."""
    found = await _movable(session, request_id, principal, request)
    moved = await service.reject(session, found, principal, reason=body.reason)
    set_etag(response, moved.version)
    return TestRequestOut.model_validate(moved)


@requests_router.post(
    "/{request_id}/result",
    summary="Record the test report (the lab)",
    response_model=TestRequestOut,
    responses={
        **MOVE,
        409: {
            "description": "Not accepted, or the lab already recorded the report number (in "
            "any case): `existing_test_request_id` names the request that holds it"
        },
    },
)
async def record_result(
    request_id: uuid.UUID,
    body: ResultIn,
    request: Request,
    session: SessionDep,
    principal: Writer,
    response: Response,
) -> TestRequestOut:
    """accepted → tested, with outcome, report number (once per lab, whatever its case) and
    values; `If-Match` makes it conditional. Emits `inspection.test.completed` with the
    outcome and its severity. A fail is also recorded as a risk signal naming the batch: it
    matches the batch exactly and raises an alert with a targeted task, as other signals do."""
    found = await _movable(session, request_id, principal, request)
    moved = await service.record_result(session, found, principal, result=body)
    set_etag(response, moved.version)
    return TestRequestOut.model_validate(moved)
