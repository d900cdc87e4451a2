"""Credit repair endpoints (信用修复)."""

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response

from kit.auth import Principal, ensure_office, ensure_own_enterprise, require
from kit.db import SessionDep
from kit.pagination import Page, PageParams, page_params
from services.credit.repairs import service
from services.credit.repairs.schemas import DecisionIn, RepairIn, RepairOut

router = APIRouter(prefix="/v1/credit/repairs", tags=["repairs"])
Reader = Annotated[Principal, Depends(require("credit:read"))]
Writer = Annotated[Principal, Depends(require("credit:write"))]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such repair or fact"}}


@router.post(
    "",
    status_code=201,
    summary="Apply for credit repair",
    response_model=RepairOut,
    responses={
        **NOT_FOUND,
        409: {
            "description": "Already pending, the fact's effect already ended, or before the "
            "fact's `earliest_repair_date` (rule `repair_waiting_period`)"
        },
        422: {"description": "The fact is not adverse, or needs no repair (minor)"},
    },
)
async def request_repair(
    body: RepairIn, session: SessionDep, principal: Writer, response: Response
) -> RepairOut:
    """An enterprise applies for one of its adverse facts after rectification; the fact's
    source agency decides."""
    repair = await service.request(session, repair_in=body, principal=principal)
    response.headers["Location"] = f"/v1/credit/repairs/{repair.id}"
    return RepairOut.model_validate(repair)


@router.get("", summary="Repair requests", response_model=Page[RepairOut])
async def list_repairs(
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    status: Annotated[Literal["pending", "approved", "rejected"] | None, Query()] = None,
    uscc: Annotated[str | None, Query(max_length=18)] = None,
    source_agency: Annotated[str | None, Query(max_length=40)] = None,
) -> Page[RepairOut]:
    """Newest first; an enterprise sees only its own; `source_agency` lists an agency's queue."""
    rows, next_cursor = await service.search(
        session,
        page=page,
        status=status,
        uscc=principal.uscc or uscc,
        source_agency=source_agency,
    )
    return Page(items=[RepairOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/{repair_id}", summary="One repair request", response_model=RepairOut, responses=NOT_FOUND
)
async def get_repair(repair_id: uuid.UUID, session: SessionDep, principal: Reader) -> RepairOut:
    """One request and its decision."""
    repair = await service.get(session, repair_id)
    ensure_own_enterprise(principal, repair.uscc)
    return RepairOut.model_validate(repair)


@router.post(
    "/{repair_id}/decision",
    summary="Approve or reject a repair",
    response_model=RepairOut,
    responses={
        **NOT_FOUND,
        409: {"description": "Already decided, or before the fact's `earliest_repair_date`"},
        422: {"description": "A rejection without a note; a bad `effective_from`"},
    },
)
async def decide_repair(
    repair_id: uuid.UUID, body: DecisionIn, session: SessionDep, principal: Writer
) -> RepairOut:
    """By the fact's source agency. An approval ends the fact's effect from `effective_from`
    (not before the waiting period of the model in force ends) and rescores the enterprise
    at once; a rejection states its reason; `decision_reasons` records why; emitted as
    `credit.repair.decided`."""
    ensure_office(principal)
    repair = await service.get(session, repair_id, for_update=True)
    repair = await service.decide(session, repair, decision_in=body, principal=principal)
    return RepairOut.model_validate(repair)
