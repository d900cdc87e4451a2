"""The enterprise portal (企业服务门户): server-rendered pages at `/portal/...` for enterprise
staff, its own assets at `/portal/static/...` (HTMX is the dashboard's vendored copy).

Thin routes: each checks the session (an `enterprise` user's token, in the portal's own
cookie), asks `pages` for the data, always through the API with the user's token, and renders
a template. Form posts carry the session's CSRF token. A missing or refused session
(`PortalLoginRequired`) and a post without its CSRF token (`PortalCsrfRefused`) are answered
by the handlers `gateway.main` registers. Nothing here is in the API document.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import aiohttp
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi import Path as Path_
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates

from gateway.dashboard.router import site as dashboard
from gateway.portal import labels, pages, uploads
from gateway.portal.labels import words
from gateway.portal.session import (
    HOME,
    LOGIN_COOKIE,
    LOGIN_PATH,
    TOKEN_COOKIE,
    csrf_for,
    to_login,
    token_of,
)
from gateway.webui.api import Api, LoginRequired, Part
from gateway.webui.site import PAGE_HEADERS, CsrfRefused, SignedIn, Site
from kit import commitments
from kit.observability import UploadRoute

HERE = Path(__file__).parent
STATIC = HERE / "static"
MAX_UPLOAD = 32 * 1024 * 1024  # the bulk endpoint's own limit


class PortalLoginRequired(LoginRequired):
    """The portal's session is missing, expired or not an enterprise user's."""


class PortalCsrfRefused(CsrfRefused):
    """A signed-in portal form post without its session's CSRF token."""


router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=HERE / "templates")
site = Site(
    templates=templates,
    words=words,
    static_dir=STATIC,
    static_prefix="/portal/static/",
    login_path=LOGIN_PATH,
    logout_path="/portal/logout",
    home=HOME,
    token_cookie=TOKEN_COOKIE,
    login_cookie=LOGIN_COOKIE,
    token_of=token_of,
    csrf_for=csrf_for,
    to_login=to_login,
    # only an `enterprise` user's token (one bound to a USCC) opens the portal; its USCC is
    # the token's, never the URL's
    admits=lambda p: p.uscc is not None,
    refused_key="login_enterprise_only",
    session_context=lambda p: {"uscc": p.uscc} if p.uscc is not None else None,
    base_extra={"uscc": None},
    login_required=PortalLoginRequired,
    csrf_refused=PortalCsrfRefused,
    target_prefix="/portal",
)
site.add_routes(router)  # assets, sign in and out
# the posts that carry files: signed in before their body is read (included at the end)
uploads_router = APIRouter(include_in_schema=False, route_class=site.signed_in_first())


def _lang_url(request: Request, lang: str) -> str:
    params = dict(request.query_params) | {"lang": lang}
    return request.url.path + "?" + "&".join(f"{k}={pages.q(v)}" for k, v in params.items())


templates.env.globals["shared_static"] = dashboard.static_url
templates.env.globals["lang_url"] = _lang_url
templates.env.filters["cause"] = labels.cause
templates.env.filters["override"] = labels.override

FormSessionDep = Annotated[SignedIn, Depends(site.form_session)]


def _refused(request: Request, context: dict[str, Any], part: Part) -> Response:
    """Another enterprise's record (or none): the refused page, with the API's status."""
    context["message"] = context["t"]["ui"]["refused"]
    status = part.http_status if part.http_status in (403, 404) else 404
    return site.render(request, "refused.html", context, status)


def _failed(answer: Part) -> str:
    return str(answer.detail or answer.status)


# -- profile -------------------------------------------------------------------------------


@router.get("/portal")
async def portal_root() -> Response:
    """The portal lives under `/portal/`."""
    return RedirectResponse(HOME, status_code=308)


@router.get("/portal/")
async def profile(request: Request, saved: str | None = None) -> Response:
    """The enterprise's record, what it may change, and its credit level."""

    async def build(api: Api, context: dict[str, Any]) -> dict[str, Any]:
        data = await pages.profile(api, context["uscc"])
        return data | {"saved": bool(saved), "action_error": None}

    return await site.page(request, "profile.html", build)


@router.post("/portal/profile")
async def edit_profile(
    request: Request,
    session: FormSessionDep,
    version: Annotated[str, Form(max_length=20)] = "",
    address: Annotated[str, Form(max_length=400)] = "",
    contact_name: Annotated[str, Form(max_length=100)] = "",
    contact_phone: Annotated[str, Form(max_length=40)] = "",
    employees: Annotated[str, Form(max_length=12)] = "",
    annual_export_usd: Annotated[str, Form(max_length=20)] = "",
    export_markets: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """PATCH the enterprise through the registry (If-Match: the version shown); the registry
    says what may change and what is wrong with a value."""
    api, context = session
    patch: dict[str, Any] = {
        "address": address.strip() or None,
        "contact_name": contact_name.strip() or None,
        "contact_phone": contact_phone.strip() or None,
    }
    for name, raw in (("employees", employees), ("annual_export_usd", annual_export_usd)):
        if raw.strip():
            patch[name] = int(raw) if raw.strip().isdigit() else raw.strip()
    markets = [m.strip().upper() for m in export_markets.replace("，", ",").split(",") if m.strip()]
    if markets:
        patch["export_markets"] = markets
    headers = {"If-Match": f'"{version}"'} if version.isdigit() else {}
    answer = await api.call(
        "PATCH",
        "registry",
        f"/v1/enterprises/{pages.q(context['uscc'])}",
        json={k: v for k, v in patch.items() if v is not None},
        headers=headers,
    )
    if answer.ok:
        return RedirectResponse("/portal/?saved=1", status_code=303)
    context.update(await pages.profile(api, context["uscc"]))
    context.update(saved=False, action_error=_failed(answer))
    return site.render(request, "profile.html", context, _status(answer))


def _status(answer: Part) -> int:
    return answer.http_status if 400 <= answer.http_status < 500 else 503


# -- credit --------------------------------------------------------------------------------


@router.get("/portal/credit")
async def credit(request: Request, sent: str | None = None) -> Response:
    """Score, level, contributions, history, measures, what can be repaired and from when."""

    async def build(api: Api, context: dict[str, Any]) -> dict[str, Any]:
        data = await pages.credit(api, context["uscc"])
        return data | {"sent": bool(sent), "action_error": None}

    return await site.page(request, "credit.html", build)


@router.post("/portal/credit/repairs")
async def apply_repair(
    request: Request,
    session: FormSessionDep,
    fact_id: Annotated[str, Form(max_length=40)],
    reason: Annotated[str, Form(max_length=4000)] = "",
    evidence_ref: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Ask for a credit repair (信用修复) of one adverse fact; credit applies its waiting
    period and says why when it refuses."""
    api, context = session
    answer = await api.call(
        "POST",
        "credit",
        "/v1/credit/repairs",
        json={
            "fact_id": fact_id.strip(),
            "reason": reason.strip(),
            "evidence_ref": evidence_ref.strip() or None,
        },
    )
    if answer.ok:
        return RedirectResponse("/portal/credit?sent=1", status_code=303)
    context.update(await pages.credit(api, context["uscc"]))
    context.update(sent=False, action_error=_failed(answer))
    return site.render(request, "credit.html", context, _status(answer))


# -- zones and memberships -----------------------------------------------------------------


@router.get("/portal/zones")
async def zones(request: Request, applied: str | None = None) -> Response:
    """Zones, the enterprise's memberships with their history, and the form to apply."""

    async def build(api: Api, context: dict[str, Any]) -> dict[str, Any]:
        data = await pages.zones(api, context["uscc"])
        return data | {"applied": bool(applied), "action_error": None}

    return await site.page(request, "zones.html", build)


@router.post("/portal/zones/apply")
async def apply_zone(
    request: Request,
    session: FormSessionDep,
    zone_code: Annotated[str, Form(max_length=60)],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Apply to join a zone (the registry allows one open membership per zone)."""
    api, context = session
    answer = await api.call(
        "POST",
        "registry",
        f"/v1/zones/{pages.q(zone_code)}/applications",
        json={"uscc": context["uscc"], "note": note.strip() or None},
    )
    if answer.ok:
        return RedirectResponse("/portal/zones?applied=1", status_code=303)
    context.update(await pages.zones(api, context["uscc"]))
    context.update(applied=False, action_error=_failed(answer))
    return site.render(request, "zones.html", context, _status(answer))


# -- commitments ---------------------------------------------------------------------------


@router.get("/portal/commitments")
async def commitment_list(request: Request, signed: str | None = None) -> Response:
    """The county's text, the form to sign it for a zone, every version signed."""

    async def build(api: Api, context: dict[str, Any]) -> dict[str, Any]:
        data = await pages.commitment_page(api, context["uscc"])
        return data | {"signed": bool(signed), "action_error": None}

    return await site.page(request, "commitments.html", build)


@router.post("/portal/commitments")
async def sign_commitment(
    request: Request,
    session: FormSessionDep,
    zone_code: Annotated[str, Form(max_length=60)],
    signatory: Annotated[str, Form(max_length=100)] = "",
    text_sha256: Annotated[str, Form(max_length=64)] = "",
    confirm: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """Sign the text shown: the signatory's name and the confirmation are required, and the
    text must be the one read (its hash in the form), else nothing is sent."""
    api, context = session
    t = context["t"]["ui"]
    text = commitments.TEXTS[commitments.CURRENT_VERSION]
    problem = None
    if not signatory.strip():
        problem = f"{t['signatory']}: {t['none']}"
    elif confirm != "1":
        problem = t["confirm_sign"]
    elif text_sha256 != commitments.text_sha256(text):
        problem = t["csrf_failed"]  # the text changed since the page was read
    if problem is None:
        answer = await api.call(
            "POST",
            "registry",
            f"/v1/enterprises/{pages.q(context['uscc'])}/commitments",
            json={
                "zone_code": zone_code,
                "signatory": signatory.strip(),
                "signed_on": pages.today_in_china().isoformat(),
                "text_version": commitments.CURRENT_VERSION,
                "text": text,
            },
        )
        if answer.ok:
            return RedirectResponse("/portal/commitments?signed=1", status_code=303)
        problem, status = _failed(answer), _status(answer)
    else:
        status = 422
    context.update(await pages.commitment_page(api, context["uscc"]))
    context.update(signed=False, action_error=problem)
    return site.render(request, "commitments.html", context, status)


# -- corrective actions --------------------------------------------------------------------


@router.get("/portal/capas")
async def capas(
    request: Request, cursor: Annotated[str | None, Query(max_length=2000)] = None
) -> Response:
    """The enterprise's corrective actions (CAPAs), open ones first as inspection lists them."""

    async def build(api: Api, context: dict[str, Any]) -> dict[str, Any]:
        return {"capas": await api.get("inspection", "/v1/capas", limit=50, cursor=cursor)}

    return await site.page(request, "capas.html", build)


@router.get("/portal/capas/{capa_id}")
async def capa(request: Request, capa_id: str, responded: str | None = None) -> Response:
    """One CAPA, and the form to answer it while it is open."""
    api, context = await site.signed_in(request)
    found = await api.get("inspection", f"/v1/capas/{pages.q(capa_id)}")
    if not found.ok:
        return _refused(request, context, found)
    context.update(capa=found.data, responded=bool(responded), action_error=None)
    return site.render(request, "capa.html", context)


# A CAPA's answer, as a multipart form with its attachments (the larger body limit).
CAPA_RESPONSE = UploadRoute("/portal/capas/response")
MAX_ATTACHMENTS = 20  # as the CAPA response takes
# The evidence service's answer headers a browser gets with the file (an attachment, never
# rendered as a page here: nosniff and a sandboxing policy).
FILE_HEADERS = (
    "content-type",
    "content-length",
    "content-disposition",
    "x-content-type-options",
    "content-security-policy",
)


@uploads_router.post(CAPA_RESPONSE.path)
async def respond_capa(
    request: Request,
    session: FormSessionDep,
    capa_id: Annotated[str, Form(max_length=40)],
    root_cause: Annotated[str, Form(max_length=4000)] = "",
    actions: Annotated[str, Form(max_length=4000)] = "",
    files: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    """The enterprise's answer: root cause and actions taken, and its attachments. Each
    picked file goes first to `POST /v1/evidence` as the user (the evidence service judges
    its type and size); the answer then cites the hashes it returned. A refused file stops
    the answer and the page says why."""
    api, context = session
    key = pages.q(capa_id)
    picked = [f for f in files or [] if f.filename]
    evidence: list[dict[str, str]] = []
    problem, status = None, 200
    if len(picked) > MAX_ATTACHMENTS:
        problem = f"{context['t']['ui']['attachments']}: ≤ {MAX_ATTACHMENTS}"
        status = 422
    for upload in picked if problem is None else []:
        name = (upload.filename or "")[:200]
        stored = await api.call(
            "POST",
            "inspection",
            "/v1/evidence",
            params={"name": name},
            content=upload.file,
            headers={"Content-Type": "application/octet-stream"},
        )
        if not stored.ok:
            problem, status = f"{name}: {_failed(stored)}", _status(stored)
            break
        evidence.append({"sha256": stored.data["sha256"], "name": name})
    if problem is None:
        answer = await api.call(
            "POST",
            "inspection",
            f"/v1/capas/{key}/response",
            json={
                "root_cause": root_cause.strip(),
                "actions": actions.strip(),
                "evidence": evidence,
            },
        )
        if answer.ok:
            return RedirectResponse(f"/portal/capas/{key}?responded=1", status_code=303)
        problem, status = _failed(answer), _status(answer)
    found = await api.get("inspection", f"/v1/capas/{key}")
    if not found.ok:
        return _refused(request, context, found)
    context.update(capa=found.data, responded=False, action_error=problem)
    return site.render(request, "capa.html", context, status)


@router.get("/portal/evidence/{sha256}")
async def evidence_file(
    request: Request, sha256: Annotated[str, Path_(pattern="^[0-9a-f]{64}$")]
) -> Response:
    """An attachment, fetched from `GET /v1/evidence/{sha256}` as the user (the evidence
    service decides who may see it) and streamed on with its headers."""
    api, context = await site.signed_in(request)
    stack = contextlib.AsyncExitStack()
    try:
        upstream = await stack.enter_async_context(
            api.stream("inspection", f"/v1/evidence/{sha256}")
        )
    except (aiohttp.ClientError, TimeoutError, OSError):
        await stack.aclose()
        context["message"] = context["t"]["ui"]["unavailable_detail"]
        return site.render(request, "error.html", context, 503)
    if upstream.status != 200:
        await stack.aclose()
        return _refused(request, context, Part("forbidden", http_status=upstream.status))
    headers = {k: upstream.headers[k] for k in FILE_HEADERS if k in upstream.headers}

    async def body() -> AsyncIterator[bytes]:
        async with stack:
            async for chunk in upstream.content.iter_chunked(64 * 1024):
                yield chunk

    return StreamingResponse(body(), headers=headers | PAGE_HEADERS)


# -- batches -------------------------------------------------------------------------------


@router.get("/portal/batches")
async def batch_list(
    request: Request, cursor: Annotated[str | None, Query(max_length=2000)] = None
) -> Response:
    """The enterprise's lots, and the upload form."""

    async def build(api: Api, context: dict[str, Any]) -> dict[str, Any]:
        data = await pages.batches(api, context["uscc"], cursor)
        return data | {"outcome": None, "lines": None, "upload_error": None}

    return await site.page(request, "batches.html", build)


UPLOAD = UploadRoute("/portal/batches/upload")  # a batch file, as a multipart form


@uploads_router.post(UPLOAD.path)
async def upload_batches(
    request: Request,
    session: FormSessionDep,
    file: Annotated[UploadFile, File()],
) -> Response:
    """A CSV or Excel file sent to the bulk endpoint as JSON lines: every row's outcome is
    shown against the file's own row numbers (good rows are kept, bad ones say why)."""
    api, context = session
    t = context["t"]["ui"]
    data = await file.read(MAX_UPLOAD + 1)
    outcome: dict[str, Any] | None = None
    lines: list[dict[str, Any]] | None = None
    upload_error = None
    status = 200
    try:
        if len(data) > MAX_UPLOAD:
            raise uploads.UnreadableFile("larger than 32 MiB")
        rows = uploads.read(data, file.filename or "")
    except uploads.UnreadableFile as exc:
        upload_error, status = f"{t['upload_unreadable']}{exc}", 422
    else:
        answer = await api.call(
            "POST",
            "registry",
            "/v1/batches",
            content=uploads.ndjson(rows, context["uscc"]),
            headers={"Content-Type": "application/x-ndjson"},
        )
        body = answer.data if isinstance(answer.data, dict) else {}
        if answer.ok or (answer.http_status == 422 and body.get("errors")):
            outcome = {
                "received": body.get("received", len(rows)),
                "accepted": body.get("accepted", 0),
                "duplicates": body.get("duplicates", 0),
                "rejected": body.get("rejected", len(body.get("errors") or [])),
            }
            lines = uploads.results(rows, body, context["lang"])
            status = 200 if answer.ok else 422
        else:
            upload_error, status = _failed(answer), _status(answer)
    context.update(await pages.batches(api, context["uscc"], None))
    context.update(outcome=outcome, lines=lines, upload_error=upload_error)
    return site.render(request, "batches.html", context, status)


@router.get("/portal/batches/{batch_id}")
async def batch(
    request: Request,
    batch_id: str,
    direction: Annotated[str, Query(pattern="^(upstream|downstream)$")] = "upstream",
) -> Response:
    """One lot and its trace graph; another enterprise's lot is refused."""
    api, context = await site.signed_in(request)
    data = await pages.batch(api, batch_id, direction)
    if not data["batch"].ok:
        return _refused(request, context, data["batch"])
    context.update(data)
    return site.render(request, "batch.html", context)


# -- lab tests -----------------------------------------------------------------------------


@router.get("/portal/tests")
async def tests(request: Request, requested: str | None = None) -> Response:
    """The enterprise's lab test requests and the form to ask for one."""

    async def build(api: Api, context: dict[str, Any]) -> dict[str, Any]:
        data = await pages.tests(api, context["uscc"])
        return data | {"requested": bool(requested), "action_error": None}

    return await site.page(request, "tests.html", build)


@router.post("/portal/tests")
async def request_test(
    request: Request,
    session: FormSessionDep,
    lab_id: Annotated[str, Form(max_length=40)],
    batch_id: Annotated[str, Form(max_length=40)],
    standard: Annotated[str, Form(max_length=60)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Ask a lab to test one of the enterprise's export batches to a standard."""
    api, context = session
    answer = await api.call(
        "POST",
        "inspection",
        "/v1/test-requests",
        json={
            "lab_id": lab_id,
            "batch_id": batch_id,
            "standard": standard.strip(),
            "note": note.strip() or None,
        },
    )
    if answer.ok:
        return RedirectResponse("/portal/tests?requested=1", status_code=303)
    context.update(await pages.tests(api, context["uscc"]))
    context.update(requested=False, action_error=_failed(answer))
    return site.render(request, "tests.html", context, _status(answer))


# -- inbox ---------------------------------------------------------------------------------


@router.get("/portal/inbox")
async def inbox(
    request: Request, cursor: Annotated[str | None, Query(max_length=2000)] = None
) -> Response:
    """Warnings, bulletins and notices for the enterprise, newest first, with read state."""

    async def build(api: Api, context: dict[str, Any]) -> dict[str, Any]:
        return {"messages": await api.get("notify", "/v1/inbox", limit=50, cursor=cursor)}

    return await site.page(request, "inbox.html", build)


@router.post("/portal/inbox/{message_id}/read")
async def read_message(request: Request, message_id: str, session: FormSessionDep) -> Response:
    """Mark a message read; HTMX swaps its card, a plain post goes back to the inbox."""
    api, context = session
    answer = await api.call("POST", "notify", f"/v1/inbox/{pages.q(message_id)}/read")
    if not request.headers.get("hx-request"):
        return RedirectResponse("/portal/inbox", status_code=303)
    if not answer.ok:
        return _refused(request, context, answer)
    context["m"] = answer.data
    return site.render(request, "_message.html", context)


# -- webhooks ------------------------------------------------------------------------------


@router.get("/portal/webhooks")
async def webhooks(request: Request) -> Response:
    """The enterprise's subscriptions (webhooks and inbox)."""

    async def build(api: Api, context: dict[str, Any]) -> dict[str, Any]:
        subscriptions = await api.get("notify", "/v1/subscriptions", limit=100)
        return {"subscriptions": subscriptions, "created": None, "action_error": None}

    return await site.page(request, "webhooks.html", build)


@router.post("/portal/webhooks")
async def subscribe(
    request: Request,
    session: FormSessionDep,
    url: Annotated[str, Form(max_length=2000)] = "",
    event_types: Annotated[str, Form(max_length=2000)] = "",
    language: Annotated[str, Form(pattern="^(zh-CN|en)$")] = "zh-CN",
) -> Response:
    """A webhook subscription; its secret is shown on this answer only (never stored here)."""
    api, context = session
    patterns = [p.strip() for p in event_types.replace("，", ",").split(",") if p.strip()]
    answer = await api.call(
        "POST",
        "notify",
        "/v1/subscriptions",
        json={
            "event_types": patterns,
            "channel": "webhook",
            "url": url.strip() or None,
            "language": language,
        },
    )
    context["subscriptions"] = await api.get("notify", "/v1/subscriptions", limit=100)
    context["created"] = answer.data if answer.ok else None
    context["action_error"] = None if answer.ok else _failed(answer)
    return site.render(request, "webhooks.html", context, 201 if answer.ok else _status(answer))


@router.post("/portal/webhooks/{subscription_id}/delete")
async def unsubscribe(request: Request, subscription_id: str, session: FormSessionDep) -> Response:
    """Delete a subscription."""
    api, context = session
    answer = await api.call("DELETE", "notify", f"/v1/subscriptions/{pages.q(subscription_id)}")
    if answer.ok or answer.http_status == 204:
        return RedirectResponse("/portal/webhooks", status_code=303)
    context["subscriptions"] = await api.get("notify", "/v1/subscriptions", limit=100)
    context.update(created=None, action_error=_failed(answer))
    return site.render(request, "webhooks.html", context, _status(answer))


router.include_router(uploads_router)
