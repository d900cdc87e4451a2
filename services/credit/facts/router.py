"""Credit fact endpoints (信用信息归集)."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from kit.auth import Principal, ensure_office, ensure_own_enterprise, require
from kit.db import SessionDep
from kit.pagination import Page, PageParams, page_params
from services.credit.domain import FactKind
from services.credit.facts import service
from services.credit.facts.schemas import FactIn, FactOut, FactRecorded

router = APIRouter(prefix="/v1/credit/facts", tags=["facts"])
Reader = Annotated[Principal, Depends(require("credit:read"))]
Writer = Annotated[Principal, Depends(require("credit:write"))]


@router.post(
    "",
    status_code=201,
    summary="Submit a credit fact",
    response_model=FactRecorded,
    responses={
        200: {"model": FactRecorded, "description": "Same client_key: the fact already recorded"},
        404: {
            "description": "The registry has never announced this enterprise, or the source "
            "agency as a member agency"
        },
        409: {"description": "client_key already used for a different fact"},
        422: {"description": "Unknown kind, negative amount, a date in the future …"},
    },
)
async def submit_fact(
    fact_in: FactIn, session: SessionDep, principal: Writer, response: Response
) -> FactRecorded:
    """Records the fact and rescores the enterprise at once; a level change is emitted as
    `credit.level.changed`. The source agency is the token's agency."""
    ensure_office(principal)
    fact, created, enterprise = await service.submit(session, fact_in=fact_in, principal=principal)
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/v1/credit/facts/{fact.id}"
    return FactRecorded.model_validate(
        {
            **FactOut.model_validate(fact).model_dump(),
            "score_after": enterprise.score,
            "level_after": enterprise.level,
        }
    )


@router.get("", summary="List credit facts", response_model=Page[FactOut])
async def list_facts(
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    uscc: Annotated[str | None, Query(max_length=18)] = None,
    kind: Annotated[FactKind | None, Query()] = None,
    source_agency: Annotated[str | None, Query(max_length=40)] = None,
    in_force: Annotated[
        bool | None, Query(description="true: neither expired nor repaired; false: the others")
    ] = None,
) -> Page[FactOut]:
    """Newest first; an enterprise token sees only its own facts."""
    rows, next_cursor = await service.search(
        session,
        page=page,
        uscc=principal.uscc or uscc,
        kind=kind,
        source_agency=source_agency,
        in_force=in_force,
    )
    return Page(items=[FactOut.model_validate(r) for r in rows], next_cursor=next_cursor)


NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Fact not found"}}


@router.get("/{fact_id}", summary="Get a credit fact", response_model=FactOut, responses=NOT_FOUND)
async def get_fact(fact_id: uuid.UUID, session: SessionDep, principal: Reader) -> FactOut:
    """One fact."""
    fact = await service.get(session, fact_id)
    ensure_own_enterprise(principal, fact.uscc)
    return FactOut.model_validate(fact)
