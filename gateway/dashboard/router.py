"""The county zone office's dashboard (示范区办公室看板): server-rendered pages at `/` and
`/dashboard/...`, vendored assets at `/static/...`.

Thin routes: each checks the session, asks `pages` for the data (always through the API with
the user's token) and renders a template. Nothing here is in the API document. A missing or
refused session anywhere (`LoginRequired`) and a form post without its CSRF token
(`CsrfRefused`) are answered once, by the handlers `gateway.main` registers.
"""

from __future__ import annotations

import contextlib
import hashlib
import mimetypes
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.types import Receive, Scope, Send

from gateway.audit.middleware import AUDIT_ACTOR, AUDIT_AGENCY
from gateway.dashboard import pages
from gateway.dashboard.labels import words
from gateway.dashboard.session import (
    LANG_COOKIE,
    LOGIN_COOKIE,
    TOKEN_COOKIE,
    clear_cookie,
    csrf_for,
    csrf_ok,
    lang_of,
    new_login_csrf,
    principal_of,
    safe_next,
    set_cookie,
    to_login,
    token_of,
)
from gateway.webui.api import Api, LoginRequired, Part
from kit.problems import NotFound
from kit.uscc import normalize
from kit.vocabulary import china_time

HERE = Path(__file__).parent
STATIC = HERE / "static"
# Every file under static/, by its URL path; anything else is 404 (no path walking).
STATIC_FILES = {p.relative_to(STATIC).as_posix(): p for p in STATIC.rglob("*") if p.is_file()}
# Content hashes for cache busting: assets are cached a year and renamed by query on change.
VERSIONS = {
    name: hashlib.sha256(path.read_bytes()).hexdigest()[:12] for name, path in STATIC_FILES.items()
}
PAGE_HEADERS = {"Cache-Control": "no-store"}

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=HERE / "templates")


def static_url(name: str) -> str:
    """An asset's URL with its content hash (so it can be cached for a year)."""
    return f"/static/{name}?v={VERSIONS.get(name, '0')}"


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


templates.env.globals["static"] = static_url
templates.env.globals["with_query"] = _with_query
templates.env.globals["export_href"] = export_href
# people read China time (Asia/Shanghai); the API's ISO 8601 times carry their offset
templates.env.filters["china_time"] = china_time


def _base_context(request: Request, token: str | None, user: str | None) -> dict[str, Any]:
    lang = lang_of(request)
    return {
        "lang": lang,
        "t": words(lang),
        "user": user,
        "csrf": csrf_for(token) if token else "",
        "path": request.url.path,
    }


def _render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    response = templates.TemplateResponse(
        request, name, context, status_code=status_code, headers=PAGE_HEADERS
    )
    if "lang" in request.query_params:  # the switch: remember the choice
        set_cookie(response, request, LANG_COOKIE, context["lang"], 365 * 24 * 3600)
    return response


class CsrfRefused(Exception):
    """A signed-in form post without its session's CSRF token."""

    def __init__(self, context: dict[str, Any]):
        super().__init__()
        self.context = context


async def on_login_required(request: Request, exc: Exception) -> Response:
    """No session, or a token refused mid-page: to the sign-in page and back."""
    assert isinstance(exc, LoginRequired)
    return to_login(request, expired=exc.expired)


async def on_csrf_refused(request: Request, exc: Exception) -> Response:
    """A form post without its CSRF token changes nothing: an error page."""
    assert isinstance(exc, CsrfRefused)
    exc.context["message"] = exc.context["t"]["ui"]["csrf_failed"]
    return _render(request, "error.html", exc.context, 403)


SignedIn = tuple[Api, dict[str, Any]]


async def signed_in(request: Request) -> SignedIn:
    """The signed-in user's API and page context; `LoginRequired` without a valid session."""
    token = token_of(request)
    principal = await principal_of(request, token)
    if principal is None:
        raise LoginRequired(expired=token is not None)
    context = _base_context(request, token, principal.subject.removeprefix("user:"))
    return Api(request, token, context["lang"]), context


async def form_session(
    request: Request, csrf: Annotated[str, Form(max_length=200)] = ""
) -> SignedIn:
    """For a form post: `signed_in`, and the session's CSRF token in the form or header."""
    api, context = await signed_in(request)
    if not csrf_ok(context["csrf"], request, csrf):
        raise CsrfRefused(context)
    return api, context


FormSessionDep = Annotated[SignedIn, Depends(form_session)]
Builder = Callable[[Api, dict[str, Any]], Awaitable[dict[str, Any]]]


async def _page(request: Request, name: str, build: Builder) -> Response:
    """Sign-in check, fetch, render. Checked here rather than by a dependency, so a malformed
    query is a 422 whether or not the user is signed in."""
    api, context = await signed_in(request)
    context.update(await build(api, context))
    status = context.pop("status_code", 200)
    return _render(request, name, context, status)


# -- assets --------------------------------------------------------------------------------


@router.get("/static/{name:path}")
async def static(name: str) -> Response:
    """Vendored and own assets, cached a year (their URLs carry a content hash)."""
    path = STATIC_FILES.get(name)
    if path is None:
        raise NotFound("asset", name)
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if path.suffix == ".md" or path.name.startswith(("LICENSE", "NOTICE")):
        media_type = "text/plain; charset=utf-8"
    return FileResponse(
        path,
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )


# -- sign in and out -----------------------------------------------------------------------


@router.get("/dashboard/login")
async def login_form(
    request: Request,
    next: str | None = None,
    expired: str | None = None,
    bye: str | None = None,
) -> Response:
    """The sign-in form, with a fresh double-submit CSRF cookie."""
    context = _base_context(request, None, None)
    value = request.cookies.get(LOGIN_COOKIE) or new_login_csrf()
    t = context["t"]["ui"]
    notice = t["session_expired"] if expired else t["logged_out"] if bye else None
    context.update(login_csrf=value, next=safe_next(next), notice=notice, error=None)
    response = _render(request, "login.html", context)
    set_cookie(response, request, LOGIN_COOKIE, value, 3600)
    return response


@router.post("/dashboard/login")
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Password grant through the gateway's own token endpoint; the token goes in a cookie."""
    context = _base_context(request, None, None)
    t = context["t"]["ui"]
    expected = request.cookies.get(LOGIN_COOKIE)
    context.update(login_csrf=expected or new_login_csrf(), next=safe_next(next), notice=None)
    if not csrf_ok(expected, request, csrf):
        context["error"] = t["csrf_failed"]
        response = _render(request, "login.html", context, 403)
        set_cookie(response, request, LOGIN_COOKIE, context["login_csrf"], 3600)
        return response
    api = Api(request, None, context["lang"])
    if username:  # the sign-in's audit row names who signed in (or tried to)
        setattr(request.state, AUDIT_ACTOR, f"user:{username}")
    try:
        answer = await api.call(
            "POST",
            "gateway",
            "/oauth/token",
            form={"grant_type": "password", "username": username, "password": password},
        )
    except LoginRequired:
        answer = Part("forbidden", http_status=401)
    principal = await principal_of(request, answer.data["access_token"]) if answer.ok else None
    if principal is not None:
        setattr(request.state, AUDIT_ACTOR, principal.subject)
        setattr(request.state, AUDIT_AGENCY, principal.agency)
    if principal is None:
        status = answer.http_status
        context["error"] = (
            t["login_failed"] if status in (400, 401) or answer.ok else t["login_unavailable"]
        )
        return _render(request, "login.html", context, 200)
    if principal.uscc is not None or principal.inspector_id is not None:
        context["error"] = t["login_office_only"]
        return _render(request, "login.html", context, 403)
    redirect = RedirectResponse(safe_next(next), status_code=303)
    set_cookie(
        redirect,
        request,
        TOKEN_COOKIE,
        answer.data["access_token"],
        int(answer.data.get("expires_in") or 900),
    )
    clear_cookie(redirect, request, LOGIN_COOKIE)
    return redirect


@router.post("/dashboard/logout")
async def logout(request: Request, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    """Forget the token (it expires on its own within minutes). Signed out already is fine;
    a signed-in post needs its CSRF token."""
    with contextlib.suppress(LoginRequired):
        await form_session(request, csrf)
    response = RedirectResponse("/dashboard/login?bye=1", status_code=303)
    clear_cookie(response, request, TOKEN_COOKIE)
    return response


# -- pages ---------------------------------------------------------------------------------


@router.get("/")
async def overview(request: Request) -> Response:
    """Zones on the phase timeline, enterprises, credit levels, open alerts, pass rates."""

    async def build(api: Api, context: dict[str, Any]) -> dict[str, Any]:
        return await pages.overview(api, context["t"])

    return await _page(request, "overview.html", build)


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
    api, context = await signed_in(request)
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
    return _render(request, "error.html", context, response.status_code)


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
    api, _ = await signed_in(request)
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

    return await _page(request, "zone.html", build)


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
    return _render(request, "zone.html", context, status)


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
        return _render(request, "error.html", context, 404)
    context.update(
        code=code,
        task=task,
        task_error=None if answer.ok else (answer.detail or answer.status),
        zone_version=zone.data["version"] if zone.ok else None,
    )
    return _render(request, "_task_row.html", context)


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

    return await _page(request, "enterprises.html", build)


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

    return await _page(request, "enterprise.html", build)


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

    return await _page(request, "campaigns.html", build)


@router.post("/dashboard/campaigns/{campaign_id}/verify")
async def verify_draw(request: Request, campaign_id: str, session: FormSessionDep) -> Response:
    """HTMX: replay the draw in the inspection service and show whether it matches."""
    api, context = session
    context["verified"] = await api.get(
        "inspection", f"/v1/campaigns/{pages.q(campaign_id)}/draw/verify"
    )
    context["checked_at"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return _render(request, "_verify.html", context)


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

    return await _page(request, "alerts.html", build)


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
    return _render(request, template, context)


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

    return await _page(request, "audit.html", build)
