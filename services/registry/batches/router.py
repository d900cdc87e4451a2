"""Batch endpoints (出口批次, 追溯)."""

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter

from kit.auth import Principal, require
from kit.bulk import BulkResult, bulk_answer, bulk_body, bulk_responses, read_lines, single_or_raise
from kit.db import SessionDep
from kit.pagination import Page, PageParams, page_params
from kit.problems import ProblemError
from kit.uscc import normalize
from services.registry.batches import service
from services.registry.batches.schemas import (
    BatchIn,
    BatchOut,
    LotEventIn,
    LotEventOut,
    LotKind,
    TraceOut,
)

router = APIRouter(prefix="/v1/batches", tags=["batches"])
Reader = Annotated[Principal, Depends(require("registry:read"))]
Writer = Annotated[Principal, Depends(require("registry:write"))]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Batch not found"}}
BATCHES = TypeAdapter(BatchIn)
EVENTS: TypeAdapter[Any] = TypeAdapter(LotEventIn)


@router.post(
    "",
    status_code=201,
    summary="Record a batch or lot, or many (JSON lines)",
    response_model=BatchOut,
    openapi_extra=bulk_body(
        BatchIn,
        {
            "uscc": "91330226MA2H4B8X1K",
            "number": "NB-2026-0001",
            "product": "Ballpoint pens",
            "hs_code": "960810",
            "quantity": 12000,
            "unit": "pcs",
            "destination": "DE",
        },
    ),
    responses={
        200: {"model": BulkResult, "description": "Bulk upload: the outcome of every line"},
        404: {"description": "Enterprise not registered"},
        409: {"description": "The number is already recorded for the enterprise"},
    },
)
async def record_batches(
    request: Request, session: SessionDep, principal: Writer, response: Response
) -> Any:
    """A lot number is unique per enterprise. Export batches carry product, HS code, quantity
    and unit, destination (ISO 3166-1 alpha-2), declaration number, ship date, brand, model;
    supplier lots name the supplier (USCC or name), which is how other enterprises that
    received the same lot are found. Emits `registry.batch.recorded` per lot."""
    lines = await read_lines(request, BATCHES)
    single_or_raise(lines)
    result, created = await service.record(session, lines, principal)
    if not lines.single:
        return bulk_answer(result)
    single_or_raise(lines)
    if not created:
        raise ProblemError(
            "conflict",
            "this lot number is already recorded for the enterprise",
            detail_zh="该企业已记录此批次号",
            id=str(result.recorded[0].id),
        )
    response.headers["Location"] = f"/v1/batches/{created[0].id}"
    return BatchOut.model_validate(created[0])


@router.get("", summary="Search batches and lots", response_model=Page[BatchOut])
async def list_batches(
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    uscc: Annotated[str | None, Query(max_length=18, description="Owner")] = None,
    kind: Annotated[LotKind | None, Query()] = None,
    number: Annotated[str | None, Query(max_length=64, description="Exact number")] = None,
    hs_code: Annotated[str | None, Query(pattern=r"^\d{2,10}$", description="Prefix")] = None,
    destination: Annotated[str | None, Query(pattern="^[A-Za-z]{2}$")] = None,
    declaration_no: Annotated[str | None, Query(max_length=40)] = None,
) -> Page[BatchOut]:
    """Cursor-paged, oldest first; an enterprise token sees only its own lots."""
    rows, next_cursor = await service.search(
        session,
        page=page,
        uscc=principal.uscc or (normalize(uscc) if uscc else None),
        kind=kind,
        number=number,
        hs_code=hs_code,
        destination=destination,
        declaration_no=declaration_no,
    )
    return Page(items=[BatchOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/{batch_id}", summary="Get a batch", response_model=BatchOut, responses=NOT_FOUND)
async def get_batch(batch_id: uuid.UUID, session: SessionDep, principal: Reader) -> BatchOut:
    """One lot."""
    lot = await service.get(session, batch_id)
    service.ensure_may_read(principal, lot)
    return BatchOut.model_validate(lot)


@router.post(
    "/{batch_id}/events",
    status_code=201,
    summary="Record lineage events, one or thousands (JSON lines)",
    response_model=LotEventOut,
    openapi_extra=bulk_body(
        LotEventIn,
        {
            "type": "transformation",
            "biz_step": "processing",
            "event_time": "2026-11-20T08:00:00Z",
            "location": "Workshop 2, line 3",
            "inputs": [{"lot": "RESIN-0912", "quantity": 120, "unit": "kg"}],
            "outputs": [{"lot": "NB-2026-0001", "quantity": 12000, "unit": "pcs"}],
        },
    ),
    responses={**NOT_FOUND, **bulk_responses("LotEventOut")},
)
async def record_events(
    batch_id: uuid.UUID, request: Request, session: SessionDep, principal: Writer
) -> Any:
    """Object events (commissioning, receiving, inspecting, sampling, packing, shipping …
    with time, location, operator and disposition), transformation events (input lots with
    quantities → output lots) and aggregation events (lots into a shipment). Lots are named
    by number in the batch owner's namespace and must be recorded first: a line naming an
    unknown lot is refused (422 for that line) and the other lines are kept. A line whose
    `client_event_id` is already recorded is a duplicate, not a second event."""
    lot = await service.get(session, batch_id)
    service.ensure_may_read(principal, lot)
    lines = await read_lines(request, EVENTS)
    single_or_raise(lines)
    result, created = await service.record_events(session, lot.uscc, lines)
    if not lines.single:
        return bulk_answer(result)
    single_or_raise(lines)
    event_id = created[0] if created else result.recorded[0].id
    (out,) = await service.events_out(session, [event_id])
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if created else 200)


@router.get(
    "/{batch_id}/events",
    summary="Events of a batch",
    response_model=Page[LotEventOut],
    responses=NOT_FOUND,
)
async def list_events(
    batch_id: uuid.UUID,
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[LotEventOut]:
    """Every event that names the lot, in the order they happened (`event_time`)."""
    lot = await service.get(session, batch_id)
    service.ensure_may_read(principal, lot)
    items, next_cursor = await service.list_events(session, lot.id, page=page)
    return Page(items=items, next_cursor=next_cursor)


@router.get(
    "/{batch_id}/trace", summary="Trace a batch", response_model=TraceOut, responses=NOT_FOUND
)
async def trace_batch(
    batch_id: uuid.UUID,
    session: SessionDep,
    principal: Reader,
    direction: Annotated[Literal["upstream", "downstream"], Query()] = "upstream",
    depth: Annotated[int, Query(ge=1, le=50, description="Links to follow")] = 10,
    limit: Annotated[
        int,
        Query(ge=1, le=service.MAX_TRACE_NODES, description="Most paths walked"),
    ] = 2000,
) -> TraceOut:
    """Upstream: every step and supplier lot that went into the batch; downstream: every lot
    and shipment it went into, with destinations. Each lot comes with the path from the
    batch and its steps. One bounded recursive query: cycles in bad data end the path,
    `depth` and `limit` bound the walk (`truncated` says when `limit` cut it short)."""
    lot = await service.get(session, batch_id)
    service.ensure_may_read(principal, lot)
    return await service.trace(
        session, lot, direction=direction, depth=depth, limit=limit, principal=principal
    )
