"""Corrective action endpoints (检查、纠正与预防措施)."""

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from kit.auth import Principal, require
from kit.db import SessionDep
from kit.pagination import Page, PageParams, page_params
from services.inspection.capas import service
from services.inspection.capas.schemas import CapaOut, ResponseIn, VerificationIn

router = APIRouter(prefix="/v1/capas", tags=["capas"])
Reader = Annotated[Principal, Depends(require("inspection:read"))]
Writer = Annotated[Principal, Depends(require("inspection:write"))]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such CAPA"}}


@router.get("", summary="Corrective actions", response_model=Page[CapaOut])
async def list_capas(
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    uscc: Annotated[str | None, Query(max_length=18)] = None,
    status: Annotated[Literal["open", "responded", "closed"] | None, Query()] = None,
    overdue: bool | None = None,
) -> Page[CapaOut]:
    """An enterprise sees its own; an inspector those of their tasks."""
    rows, next_cursor = await service.search(
        session, page=page, principal=principal, uscc=uscc, status=status, overdue=overdue
    )
    return Page(items=[service.to_out(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/{capa_id}", summary="One corrective action", response_model=CapaOut, responses=NOT_FOUND
)
async def get_capa(capa_id: uuid.UUID, session: SessionDep, principal: Reader) -> CapaOut:
    """Findings, deadline, response, verification."""
    capa = await service.get(session, capa_id)
    await service.ensure_can_see(session, principal, capa)
    return service.to_out(capa)


@router.post(
    "/{capa_id}/response",
    summary="Respond with root cause and actions",
    response_model=CapaOut,
    responses={**NOT_FOUND, 409: {"description": "Closed"}},
)
async def respond(
    capa_id: uuid.UUID, body: ResponseIn, session: SessionDep, principal: Writer
) -> CapaOut:
    """By the enterprise; it then awaits an inspector's verification."""
    capa = await service.get(session, capa_id, for_update=True)
    await service.ensure_can_see(session, principal, capa)
    return service.to_out(await service.respond(session, capa, body, principal))


@router.post(
    "/{capa_id}/verification",
    summary="Verify effectiveness",
    response_model=CapaOut,
    responses={**NOT_FOUND, 409: {"description": "Not responded yet"}},
)
async def verify(
    capa_id: uuid.UUID, body: VerificationIn, session: SessionDep, principal: Writer
) -> CapaOut:
    """By an inspector of the task: effective closes it (`inspection.capa.closed`), not
    effective reopens it for a new response."""
    capa = await service.get(session, capa_id, for_update=True)
    await service.ensure_can_see(session, principal, capa)
    return service.to_out(await service.verify(session, capa, body, principal))
