"""Audit log endpoints: the audit administrator's alone (`audit_admin`; `admin` in dev)."""

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict

from gateway.access import require_role
from gateway.audit import service
from kit.auth import Principal
from kit.db import SessionDep
from kit.pagination import Page, PageParams, page_params

router = APIRouter(prefix="/v1/audit", tags=["audit"])
Admin = Annotated[Principal, Depends(require_role("audit_admin"))]


class AuditOut(BaseModel):
    """One step of an audited request (a write's intent or outcome) and its place in the chain."""

    model_config = ConfigDict(from_attributes=True)

    seq: int
    at: datetime
    phase: Literal["intent", "outcome"] | None
    intent_seq: int | None
    request_id: str
    actor: str | None
    agency: str | None
    uscc: str | None
    inspector_id: str | None
    method: str
    path: str
    object_key: str | None
    status: int | None
    outcome: str | None
    prev_hash: str
    hash: str


class VerifyOut(BaseModel):
    """Result of walking the chain: `first_broken` has the `seq`, the `kind` (missing,
    reordered, altered, truncated) and a `reason`; `unfinished` counts intents without an
    outcome (in flight, or the gateway stopped after forwarding them)."""

    ok: bool
    checked: int
    first_broken: dict[str, Any] | None
    unfinished: int


@router.get("", summary="Search the audit log", response_model=Page[AuditOut])
async def list_audit(
    session: SessionDep,
    _: Admin,
    page: Annotated[PageParams, Depends(page_params)],
    actor: Annotated[str | None, Query(max_length=100)] = None,
    outcome: Annotated[
        Literal["success", "denied", "failed", "locked"] | None,
        Query(description="`locked`: an account locked after failed logins"),
    ] = None,
    phase: Annotated[Literal["intent", "outcome"] | None, Query()] = None,
    method: Annotated[str | None, Query(pattern="^[A-Za-z]{3,7}$")] = None,
    request_id: Annotated[str | None, Query(max_length=128)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page[AuditOut]:
    """Every write (its intent and its outcome) and every denied request, newest first."""
    rows, next_cursor = await service.search(
        session,
        page=page,
        actor=actor,
        outcome=outcome,
        phase=phase,
        method=method,
        request_id=request_id,
        since=since,
        until=until,
    )
    return Page(items=[AuditOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/verify", summary="Verify the audit chain", response_model=VerifyOut)
async def verify_audit(request: Request, session: SessionDep, _: Admin) -> VerifyOut:
    """Recomputes every link; reports the first row removed, moved, changed or cut off."""
    head = request.app.state.audit.head  # before the walk: later commits cannot confuse it
    return VerifyOut(**await service.verify(session, head=head))
