"""The county zone office's dashboard (示范区办公室看板): server-rendered pages at `/` and
`/dashboard/...`, vendored assets at `/static/...`.

Thin routes: each checks the session, asks `pages` for the data (always through the API with
the user's token) and renders a template. Nothing here is in the API document. A missing or
refused session anywhere (`LoginRequired`) and a form post without its CSRF token
(`CsrfRefused`) are answered once, by the handlers `gateway.main` registers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.types import Receive, Scope, Send

from gateway.dashboard import pages
from gateway.dashboard.labels import words
from gateway.dashboard.session import (
    LOGIN_COOKIE,
    LOGIN_PATH,
    TOKEN_COOKIE,
    csrf_for,
    to_login,
    token_of,
)
from gateway.webui.api import Api, LoginRequired, Part
from gateway.webui.site import PAGE_HEADERS, SignedIn, Site
from kit.uscc import normalize

HERE = Path(__file__).parent
STATIC = HERE / "static"

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=HERE / "templates")
site = Site(
    templates=templates,
    words=words,
    static_dir=STATIC,
    static_prefix="/static/",
    login_path=LOGIN_PATH,
    logout_path="/dashboard/logout",
    home="/",
    token_cookie=TOKEN_COOKIE,
    login_cookie=LOGIN_COOKIE,
    token_of=token_of,
    csrf_for=csrf_for,
    to_login=to_login,
    # the office's people only: enterprise and inspector users have the portal, the field app
    admits=lambda p: p.uscc is None and p.inspector_id is None,
    refused_key="login_office_only",
)
site.add_routes(router)  # assets, sign in and out


def _with_query(request: Request, **changes: Any) -> str:
    """This page's URL with some query parameters changed (None removes one)."""
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    return request.url.path + (f"?{urlencode(params)}" if params else "")


# The dashboard's lists a user takes away as a spreadsheet: name -> the API's list, and the
# filters of the page the export carries (kit/exports.py answers them).
EXPORTS: dict[str, str] = {
    "enterprises": "/v1/enterprises",
    "campaigns": "/v1/campaigns",
    "signals": "/v1/risk/signals",
    "alerts": "/v1/risk/alerts",
    "audit": "/v1/audit",
}
EXPORT_FILTERS = ("q", "zone", "industry", "level", "status", "actor", "outcome")


def export_href(name: str, suffix: str, **filters: Any) -> str:
    """The dashboard's link to a list's export with the page's filters (empty ones dropped)."""
    params = {k: str(v) for k, v in filters.items() if k in EXPORT_FILTERS and v}
    return f"/dashboard/export/{name}.{suffix}" + (f"?{urlencode(params)}" if params else "")


templates.env.globals["with_query"] = _with_query
templates.env.globals["export_href"] = export_href

FormSessionDep = Annotated[SignedIn, Depends(site.form_session)]


# -- pages ---------------------------------------------------------------------------------


@router.get("/")
async def overview(request: Request) -> Response:
    """Zones on the phase timeline, enterprises, credit levels, open alerts, pass rates."""

    async def build(api: Api, context: dict[str, Any]) -> dict[str, Any]:
        return await pages.overview(api, context["t"])

    return await site.page(request, "overview.html", build)


@router.get("/favicon.ico", include_in_schema=False)
async def favicon() -> Response:
    """The platform's icon where browsers look for it first (no 404 on every page)."""
    return FileResponse(
        STATIC / "favicon.svg",
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )


@router.get("/dashboard/zones/{code}/dossier.{suffix}")
async def zone_dossier(request: Request, code: str, suffix: Literal["pdf", "xlsx"]) -> Response:
    """The zone's acceptance dossier (PDF or workbook), fetched from the API as the user."""
    api, context = await site.signed_in(request)
    response = await api.download(f"/v1/zones/{pages.q(code)}/dossier.{suffix}")
    if response.status_code == 200:
        headers = {
            k: response.headers[k]
            for k in ("content-type", "content-disposition")
            if k in response.headers
        }
        return Response(response.content, headers=headers | PAGE_HEADERS)
    if response.status_code == 401:
        raise LoginRequired
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    context["message"] = detail or context["t"]["ui"]["unavailable"]
    return site.render(request, "error.html", context, response.status_code)


class _ApiRelay(Response):
    """Answers with the gateway's own answer to an API request made as the user: the whole
    stack (audit, rate limit, the proxy, the export) runs on it and its body streams through."""

    def __init__(self, path: str, query: str, headers: dict[str, str]):
        super().__init__()
        self.target = (path, query, headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, query, headers = self.target
        sub: Scope = {
            "type": "http",
            "asgi": scope.get("asgi", {"version": "3.0"}),
            "http_version": scope.get("http_version", "1.1"),
            "method": "GET",
            "scheme": scope.get("scheme", "http"),
            "server": scope.get("server"),
            "client": scope.get("client"),
            "root_path": "",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "headers": [
                (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()
            ]
            + [(k, v) for k, v in scope.get("headers", []) if k == b"host"],
            "state": {},
        }
        await scope["app"](sub, receive, send)


@router.get("/dashboard/export/{name}.{suffix}")
async def export_list(
    request: Request,
    name: Literal["enterprises", "campaigns", "signals", "alerts", "audit"],
    suffix: Literal["csv", "xlsx"],
) -> Response:
    """A list as CSV or Excel with the page's filters: the API's export, as the user, streamed."""
    api, _ = await site.signed_in(request)
    params = [(k, v) for k, v in request.query_params.multi_items() if k in EXPORT_FILTERS and v]
    params.append(("format", suffix))
    return _ApiRelay(EXPORTS[name], urlencode(params), api.headers)


@router.get("/dashboard/zones/{code}")
async def zone(
    request: Request,
    code: str,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    moved: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """A zone's lifecycle, checklist, history, members, KPIs, open CAPAs, transition form."""

    async def build(api: Api, context: dict[str, Any]) -> dict[str, Any]:
        data = await pages.zone(api, code=code, cursor=cursor, year=year)
        data["moved"] = moved
        if data["zone"].status == "not_found":
            data["status_code"] = 404
        return data

    return await site.page(request, "zone.html", build)


@router.post("/dashboard/zones/{code}/transition")
async def move_zone(
    request: Request,
    code: str,
    session: FormSessionDep,
    to: Annotated[str, Form(max_length=40)],
    version: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Moves the zone through registry's transition endpoint (If-Match: the version shown)."""
    api, context = session
    headers = {"If-Match": f'"{version}"'} if version.isdigit() else {}
    answer = await api.call(
        "POST",
        "registry",
        f"/v1/zones/{pages.q(code)}/transitions",
        json={"to": to, "reason": reason.strip() or None},
        headers=headers,
    )
    if answer.ok:
        return RedirectResponse(
            f"/dashboard/zones/{pages.q(code)}?moved={pages.q(to)}", status_code=303
        )
    return await _zone_refused(request, api, context, code, answer)


async def _zone_refused(
    request: Request, api: Api, context: dict[str, Any], code: str, answer: Part
) -> Response:
    """The zone page again, saying why the API refused the change."""
    context.update(await pages.zone(api, code=code, cursor=None, year=None))
    context["action_error"] = answer.detail or answer.status
    status = answer.http_status if 400 <= answer.http_status < 500 else 503
    return site.render(request, "zone.html", context, status)


@router.post("/dashboard/zones/{code}/tasks/{task_code}")
async def set_zone_task(
    request: Request,
    code: str,
    task_code: str,
    session: FormSessionDep,
    done: Annotated[str, Form(pattern="^[01]$")],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Tick or reopen a stage task (the registry records who and when); HTMX swaps the row
    and the transition form's version, which the change moved on."""
    api, context = session
    key = pages.q(code)
    answer = await api.call(
        "PUT",
        "registry",
        f"/v1/zones/{key}/tasks/{pages.q(task_code)}",
        json={"done": done == "1", "note": note.strip() or None},
    )
    zone = await api.get("registry", f"/v1/zones/{key}")
    if not request.headers.get("hx-request"):
        if answer.ok:
            return RedirectResponse(f"/dashboard/zones/{key}", status_code=303)
        return await _zone_refused(request, api, context, code, answer)
    task = (
        answer.data
        if answer.ok
        else next(
            (t for t in (zone.data or {}).get("tasks", []) if t["task_code"] == task_code), None
        )
    )
    if task is None:
        context["message"] = answer.detail or context["t"]["ui"]["not_found"]
        return site.render(request, "error.html", context, 404)
    context.update(
        code=code,
        task=task,
        task_error=None if answer.ok else (answer.detail or answer.status),
        zone_version=zone.data["version"] if zone.ok else None,
    )
    return site.render(request, "_task_row.html", context)


@router.get("/dashboard/enterprises")
async def enterprises(
    request: Request,
    q: Annotated[str | None, Query(max_length=100)] = None,
    uscc: Annotated[str | None, Query(max_length=18)] = None,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> Response:
    """Find an enterprise by name (or go straight to one by USCC)."""
    if uscc and uscc.strip():
        return RedirectResponse(f"/dashboard/enterprises/{pages.q(uscc.upper())}", 303)

    async def build(api: Api, context: dict[str, Any]) -> dict[str, Any]:
        found = await api.get("registry", "/v1/enterprises", q=q or None, limit=50, cursor=cursor)
        return {"found": found, "query": q or ""}

    return await site.page(request, "enterprises.html", build)


@router.get("/dashboard/enterprises/{uscc}")
async def enterprise(
    request: Request,
    uscc: str,
    batch: Annotated[str | None, Query(max_length=40)] = None,
    direction: Annotated[str, Query(pattern="^(upstream|downstream)$")] = "upstream",
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> Response:
    """The composite profile, credit contributions, commitments, batches and a trace graph."""

    async def build(api: Api, context: dict[str, Any]) -> dict[str, Any]:
        data = await pages.enterprise(
            api, context["t"], uscc=uscc, batch=batch, direction=direction, cursor=cursor
        )
        if data["profile"].status == "not_found" or data["profile"].http_status == 422:
            data["status_code"] = 404
        return data

    return await site.page(request, "enterprise.html", build)


@router.get("/dashboard/campaigns")
async def campaigns(
    request: Request,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
    campaign: Annotated[str | None, Query(max_length=40)] = None,
    draws_cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> Response:
    """Campaigns, one campaign's draw list and results, and a button to verify its draw."""

    async def build(api: Api, context: dict[str, Any]) -> dict[str, Any]:
        return await pages.campaigns(
            api, cursor=cursor, campaign=campaign, draws_cursor=draws_cursor
        )

    return await site.page(request, "campaigns.html", build)


@router.post("/dashboard/campaigns/{campaign_id}/verify")
async def verify_draw(request: Request, campaign_id: str, session: FormSessionDep) -> Response:
    """HTMX: replay the draw in the inspection service and show whether it matches."""
    api, context = session
    context["verified"] = await api.get(
        "inspection", f"/v1/campaigns/{pages.q(campaign_id)}/draw/verify"
    )
    context["checked_at"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return site.render(request, "_verify.html", context)


@router.get("/dashboard/alerts")
async def alerts(
    request: Request,
    signals_cursor: Annotated[str | None, Query(max_length=2000)] = None,
    alerts_cursor: Annotated[str | None, Query(max_length=2000)] = None,
    status: Annotated[str, Query(pattern="^(open|investigating|closed)$")] = "open",
) -> Response:
    """The queue: unmatched signals to link or dismiss, alerts to investigate or close."""

    async def build(api: Api, context: dict[str, Any]) -> dict[str, Any]:
        return await pages.alerts(
            api, signals_cursor=signals_cursor, alerts_cursor=alerts_cursor, status=status
        )

    return await site.page(request, "alerts.html", build)


async def _row_action(
    request: Request,
    session: SignedIn,
    template: str,
    call: Callable[[Api], Awaitable[Part]],
    subject: str,
    object_id: str,
) -> Response:
    """Run one queue action and answer with its table row (HTMX) or back to the queue."""
    api, context = session
    answer = await call(api)
    if not request.headers.get("hx-request"):
        return RedirectResponse("/dashboard/alerts", status_code=303)
    context.update(result=answer, subject=subject)
    context[f"{subject}_id"] = object_id
    if answer.ok:
        context[subject] = answer.data
    return site.render(request, template, context)


@router.post("/dashboard/signals/{signal_id}/link")
async def link_signal(
    request: Request,
    signal_id: str,
    session: FormSessionDep,
    uscc: Annotated[str, Form(max_length=18)],
    batch_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Link an unmatched signal to an enterprise (and batch): its alert follows."""
    body = {"uscc": normalize(uscc), "batch_id": batch_id.strip() or None}
    path = f"/v1/risk/signals/{pages.q(signal_id)}/link"
    return await _row_action(
        request,
        session,
        "_signal_row.html",
        lambda api: api.call("POST", "inspection", path, json=body),
        "signal",
        signal_id,
    )


@router.post("/dashboard/signals/{signal_id}/dismiss")
async def dismiss_signal(
    request: Request,
    signal_id: str,
    session: FormSessionDep,
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Dismiss a signal that concerns no zone enterprise (the reason is kept)."""
    path = f"/v1/risk/signals/{pages.q(signal_id)}/dismiss"
    return await _row_action(
        request,
        session,
        "_signal_row.html",
        lambda api: api.call("POST", "inspection", path, json={"reason": reason.strip()}),
        "signal",
        signal_id,
    )


@router.post("/dashboard/alerts/{alert_id}/move")
async def move_alert(
    request: Request,
    alert_id: str,
    session: FormSessionDep,
    status: Annotated[str, Form(pattern="^(investigating|closed)$")],
    conclusion: Annotated[str, Form(max_length=4000)] = "",
    version: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Investigate or close an alert (closing needs a conclusion), If-Match the version."""
    body = {"status": status, "conclusion": conclusion.strip() or None}
    headers = {"If-Match": f'"{version}"'} if version.isdigit() else {}
    path = f"/v1/risk/alerts/{pages.q(alert_id)}"
    return await _row_action(
        request,
        session,
        "_alert_row.html",
        lambda api: api.call("PATCH", "inspection", path, json=body, headers=headers),
        "alert",
        alert_id,
    )


@router.get("/dashboard/audit")
async def audit(
    request: Request,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
    actor: Annotated[str | None, Query(max_length=100)] = None,
    outcome: Annotated[str | None, Query(pattern="^(success|denied|failed)?$")] = None,
) -> Response:
    """The gateway's audit log, newest first, 50 a page."""

    async def build(api: Api, context: dict[str, Any]) -> dict[str, Any]:
        return await pages.audit(api, cursor=cursor, actor=actor, outcome=outcome)

    return await site.page(request, "audit.html", build)
