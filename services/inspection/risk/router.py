"""Risk early-warning endpoints (风险预警): signals, alerts, KPIs."""

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, TypeAdapter

from kit.auth import Principal, ensure_office, require
from kit.bulk import bulk_answer, bulk_body, bulk_responses, read_lines, single_or_raise
from kit.concurrency import check_if_match, set_etag
from kit.db import SessionDep, utcnow
from kit.pagination import Page, PageParams, page_params
from kit.uscc import normalize
from services.inspection.directory.filters import KnownZone
from services.inspection.inspectors.service import inspector_uuid
from services.inspection.risk import alerts, kpis, signals
from services.inspection.risk.schemas import (
    AlertOut,
    AlertPatch,
    AlertStatus,
    DismissIn,
    KpiPage,
    LinkIn,
    SignalIn,
    SignalKind,
    SignalOut,
)

router = APIRouter(prefix="/v1/risk", tags=["risk"])
Reader = Annotated[Principal, Depends(require("inspection:read"))]
Writer = Annotated[Principal, Depends(require("inspection:write"))]
SIGNALS = TypeAdapter(SignalIn)
SIGNAL_404: dict[int | str, dict[str, Any]] = {404: {"description": "Signal not found"}}
ALERT_404: dict[int | str, dict[str, Any]] = {404: {"description": "Alert not found"}}


def _out(alert: Any, principal: Principal) -> AlertOut:
    """An enterprise learns that others may be affected, not who they are."""
    out = AlertOut.model_validate(alert)
    if principal.uscc is not None:
        out.affected = [{"count": len(out.affected)}] if out.affected else []
    return out


@router.post(
    "/signals",
    status_code=201,
    summary="Submit risk signals: one, or a file of them (JSON lines or CSV)",
    response_model=SignalOut,
    openapi_extra=bulk_body(
        SignalIn,
        {
            "kind": "foreign_notification",
            "reference": "A12/01234/26",
            "notifying_country": "DE",
            "risk_type": "chemical",
            "risk_level": "serious",
            "product_category": "Toys",
            "brand": "Haiyu",
            "model": "HY-200",
            "batch_number": "NB-2026-0001",
            "measures_taken": "Withdrawal of the product from the market",
        },
        csv_ok=True,
    ),
    responses=bulk_responses("SignalOut"),
)
async def submit_signals(request: Request, session: SessionDep, principal: Writer) -> Any:
    """Foreign notifications (国外通报, fields of EU Safety Gate), returns (退运: declaration
    number, quantity, reason), recalls and complaints. Each is matched: declaration number,
    batch number, barcode or a named USCC first (confidence 1), then HS code + brand/model +
    destination (confidence = the agreeing attributes' weights). A match raises an alert with
    a targeted inspection task and `inspection.alert.raised` (a credit fact; registry traces
    the batch). Unmatched signals wait at `?status=unmatched` for a person to link. A
    reference the agency already sent is a duplicate."""
    ensure_office(principal)
    lines = await read_lines(request, SIGNALS, csv_ok=True)
    single_or_raise(lines)
    result, created = await signals.record_signals(session, lines, principal)
    if not lines.single:
        return bulk_answer(result)
    single_or_raise(lines)
    if created:
        stored = await signals.get_signal(session, created[0].id)
        return JSONResponse(
            SignalOut.model_validate(stored).model_dump(mode="json"),
            status_code=201,
            headers={"Location": f"/v1/risk/signals/{created[0].id}"},
        )
    existing = await signals.get_signal(session, result.recorded[0].id)
    return JSONResponse(SignalOut.model_validate(existing).model_dump(mode="json"))


@router.get("/signals", summary="Risk signals", response_model=Page[SignalOut])
async def list_signals(
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    status: Annotated[Literal["unmatched", "matched", "dismissed"] | None, Query()] = None,
    kind: Annotated[SignalKind | None, Query()] = None,
    uscc: Annotated[str | None, Query(max_length=18)] = None,
) -> Page[SignalOut]:
    """Oldest first; `status=unmatched` is the queue of signals to link by hand."""
    ensure_office(principal)
    rows, next_cursor = await signals.search_signals(
        session, page=page, status=status, kind=kind, uscc=normalize(uscc) if uscc else None
    )
    return Page(items=[SignalOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/signals/{signal_id}", summary="One signal", response_model=SignalOut, responses=SIGNAL_404
)
async def get_signal(signal_id: uuid.UUID, session: SessionDep, principal: Reader) -> SignalOut:
    """A signal, its match (method, confidence, candidates) and its alert."""
    ensure_office(principal)
    return SignalOut.model_validate(await signals.get_signal(session, signal_id))


@router.post(
    "/signals/{signal_id}/link",
    summary="Link an unmatched signal to an enterprise (and batch)",
    response_model=SignalOut,
    responses={**SIGNAL_404, 409: {"description": "The signal is not unmatched"}},
)
async def link_signal(
    signal_id: uuid.UUID, body: LinkIn, session: SessionDep, principal: Writer
) -> SignalOut:
    """The alert, task and events follow as for a signal matched on arrival."""
    ensure_office(principal)
    signal = await signals.get_signal(session, signal_id, for_update=True)
    signal = await signals.link(
        session, signal, uscc=body.uscc, batch_id=body.batch_id, actor=principal.subject
    )
    return SignalOut.model_validate(signal)


@router.post(
    "/signals/{signal_id}/dismiss",
    summary="Dismiss an unmatched signal",
    response_model=SignalOut,
    responses={**SIGNAL_404, 409: {"description": "The signal is not unmatched"}},
)
async def dismiss_signal(
    signal_id: uuid.UUID, body: DismissIn, session: SessionDep, principal: Writer
) -> SignalOut:
    """For a signal about no zone enterprise; the reason is kept."""
    ensure_office(principal)
    signal = await signals.get_signal(session, signal_id, for_update=True)
    signal = await signals.dismiss(session, signal, reason=body.reason, actor=principal.subject)
    return SignalOut.model_validate(signal)


@router.get("/alerts", summary="Risk alerts", response_model=Page[AlertOut])
async def list_alerts(
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    zone: KnownZone,
    uscc: Annotated[str | None, Query(max_length=18)] = None,
    status: Annotated[AlertStatus | None, Query()] = None,
    severity: Annotated[Literal["minor", "general", "serious"] | None, Query()] = None,
    since: Annotated[AwareDatetime | None, Query(description="Raised at or after")] = None,
) -> Page[AlertOut]:
    """Oldest first; an enterprise token sees the alerts about itself, an inspector's those
    whose targeted task is assigned to them."""
    rows, next_cursor = await alerts.search_alerts(
        session,
        page=page,
        uscc=principal.uscc or (normalize(uscc) if uscc else None),
        inspector=inspector_uuid(principal) if principal.inspector_id is not None else None,
        status=status,
        severity=severity,
        zone=zone,
        since=since,
    )
    return Page(items=[_out(r, principal) for r in rows], next_cursor=next_cursor)


@router.get(
    "/alerts/{alert_id}",
    summary="One alert",
    response_model=AlertOut,
    responses={**ALERT_404, 403: {"description": "Not an alert you may see"}},
)
async def get_alert(
    alert_id: uuid.UUID, session: SessionDep, principal: Reader, response: Response
) -> AlertOut:
    """With the trace to the failing step and the possibly affected enterprises; 403 for an
    enterprise's other alerts and an inspector's alerts of tasks not theirs."""
    alert = await alerts.get_alert(session, alert_id)
    await alerts.ensure_may_see(session, principal, alert)
    set_etag(response, alert.version)
    return _out(alert, principal)


@router.patch(
    "/alerts/{alert_id}",
    summary="Investigate or close an alert",
    response_model=AlertOut,
    responses={
        **ALERT_404,
        409: {"description": "Not a move the alert's status allows"},
        412: {"description": "If-Match does not match"},
    },
)
async def move_alert(
    alert_id: uuid.UUID,
    body: AlertPatch,
    request: Request,
    session: SessionDep,
    principal: Writer,
    response: Response,
) -> AlertOut:
    """open → investigating → closed; closing needs a conclusion. `If-Match` is honoured."""
    ensure_office(principal)
    alert = await alerts.get_alert(session, alert_id, for_update=True)
    check_if_match(request, alert.version)
    alert = await alerts.move(session, alert, body, principal)
    set_etag(response, alert.version)
    return AlertOut.model_validate(alert)


@router.get("/kpis", summary="Zone KPIs for a year", response_model=KpiPage)
async def zone_kpis(
    session: SessionDep,
    principal: Reader,
    zone: KnownZone,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="Default: this year")] = None,
    uscc: Annotated[str | None, Query(max_length=18, description="One enterprise's")] = None,
) -> KpiPage:
    """Per zone (or for one enterprise): foreign notifications and returns per US$100M of
    exports (export value: the export batches' declared value shipped that year), spot-check
    pass rate, CAPA closure rate, open alerts. An enterprise token gets its own figures."""
    chosen = year or utcnow().year
    target = principal.uscc or (normalize(uscc) if uscc else None)
    items = await kpis.kpis(session, year=chosen, zone=zone, uscc=target)
    return KpiPage(year=chosen, items=items)
