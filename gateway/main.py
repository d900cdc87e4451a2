"""Gateway: tokens, clients, routing to the services, one merged API document."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.audit.middleware import AuditMiddleware
from gateway.audit.router import router as audit_router
from gateway.audit.service import AuditWriter
from gateway.auth import revocations
from gateway.auth.router import OAuthError, on_oauth_error
from gateway.auth.router import router as auth_router
from gateway.auth.tokens import Signer
from gateway.clients import service as clients
from gateway.clients.router import router as clients_router
from gateway.config import settings
from gateway.dashboard.router import router as dashboard_router
from gateway.dashboard.router import site as dashboard
from gateway.dashboard.session import DashboardTokenMiddleware
from gateway.dossier.router import router as dossier_router
from gateway.field.router import router as field_router
from gateway.lockouts import service as lockouts
from gateway.lockouts.router import router as lockouts_router
from gateway.openapi import merged_openapi
from gateway.portal.router import CAPA_RESPONSE as PORTAL_CAPA_RESPONSE
from gateway.portal.router import UPLOAD as PORTAL_UPLOAD
from gateway.portal.router import PortalCsrfRefused
from gateway.portal.router import router as portal_router
from gateway.portal.router import site as portal
from gateway.portal.session import PortalTokenMiddleware, portal_path
from gateway.profile import router as profile_router
from gateway.proxy import UPLOAD_ROUTES, ProxyMiddleware, Upstreams, proxied_templates
from gateway.ratelimit.middleware import RateLimitMiddleware, SharedBuckets, prune
from gateway.security import SecurityHeadersMiddleware
from gateway.signing import service as signing
from gateway.signing.router import router as signing_router
from gateway.users import service as users
from gateway.users.router import router as users_router
from gateway.webui.api import LoginRequired
from gateway.webui.site import CsrfRefused
from kit import locks
from kit.app import Periodic, create_service_app
from kit.auth import JwksVerifier
from kit.events import asyncapi
from kit.locks import Lock
from kit.observability import zero_server_errors
from kit.problems import CATALOG, NotFound


async def startup(app: FastAPI) -> None:
    """Signing keys, demo client (dev only), upstream pool, local token verification."""
    # the forwarded requests' 5xx series at 0, as the app's own routes' (kit.app)
    zero_server_errors(settings.service_name, proxied_templates())
    async with app.state.sessionmaker() as session, session.begin():
        await locks.hold(session, Lock.GATEWAY_STARTUP)
        await signing.ensure(session, settings.signing_key_pem)
        if settings.profile == "dev":
            await clients.ensure_demo_client(session)
            await users.ensure_demo_user(session)
        else:
            await clients.remove_demo_client(session)
            await users.remove_demo_user(session)
        keys = await signing.in_force(session)
        revoked = await revocations.in_force(session)
    signer = Signer(
        keys.current_pem,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_s=settings.token_ttl_s,
        published=keys.published_pems,
    )
    app.state.signer = signer
    app.state.signing_kids = keys.kids
    app.state.verifier = JwksVerifier(
        jwks_url="",
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        inline_jwks=json.dumps(signer.jwks()),
        max_lifetime_s=settings.token_max_lifetime_s,
    )
    app.state.verifier.use_revocations(revoked)
    app.state.upstreams = Upstreams(settings, signer)
    await app.state.upstreams.start()
    app.state.dependency_report = app.state.upstreams.report
    app.state.audit = AuditWriter(
        app.state.engine,
        hash_alg=settings.audit_hash,
        connect_timeout_s=settings.db_connect_timeout_s,
        command_timeout_s=settings.db_statement_timeout_ms / 1000,
    )
    app.state.rate_limits = SharedBuckets(
        settings.database_url, connect_timeout_s=settings.db_connect_timeout_s
    )


async def shutdown(app: FastAPI) -> None:
    """Close the upstream pool, the audit writer and the rate limiter's connections."""
    await app.state.upstreams.close()
    await app.state.audit.close()
    await app.state.rate_limits.close()


async def refresh_signing_keys(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Sign with the current key and publish the live ones, after a rotation by any process."""
    async with sessionmaker() as session:
        keys = await signing.in_force(session)
    if keys.kids != app.state.signing_kids:
        app.state.signer.use(keys.current_pem, keys.published_pems)
        app.state.verifier.use_jwks(app.state.signer.jwks())
        app.state.signing_kids = keys.kids


async def refresh_revocations(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Refuse what any gateway process has revoked, and publish it to the services."""
    async with sessionmaker() as session:
        revoked = await revocations.in_force(session)
    verifier = getattr(app.state, "verifier", None)
    if verifier is not None:
        verifier.use_revocations(revoked)


async def prune_login_failures(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Forget failed logins whose window has passed and lockouts that have expired."""
    await lockouts.prune(sessionmaker, window_s=settings.login_failure_window_s)


docs = APIRouter(tags=["documentation"])


@docs.get("/openapi.json", include_in_schema=False)
async def openapi_json(request: Request) -> JSONResponse:
    """The merged OpenAPI document of every service behind this gateway."""
    return JSONResponse(
        await merged_openapi(request.app, request.app.state.upstreams, settings.public_base_url)
    )


@docs.get("/docs", include_in_schema=False)
async def swagger() -> HTMLResponse:
    """Swagger UI over the merged document, its assets served from here (no CDN)."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Zone platform API",
        swagger_js_url=dashboard.static_url("vendor/swagger-ui-bundle.js"),
        swagger_css_url=dashboard.static_url("vendor/swagger-ui.css"),
        swagger_favicon_url=dashboard.static_url("vendor/swagger-favicon.png"),
    )


@docs.get("/asyncapi.json", summary="AsyncAPI 3 document of every event")
async def asyncapi_json() -> dict[str, Any]:
    """Generated from the event contracts in kit/events.py."""
    return asyncapi()


@docs.get(
    "/problems/{slug}",
    summary="What a problem type means",
    responses={404: {"description": "No such problem type"}},
)
async def problem_type(slug: str) -> dict[str, Any]:
    """Each problem `type` URI resolves here."""
    if slug not in CATALOG:
        raise NotFound("problem type", slug)
    status, en, zh = CATALOG[slug]
    return {"type": f"/problems/{slug}", "status": status, "title": {"en": en, "zh-CN": zh}}


app = create_service_app(
    settings,
    title="Zone platform gateway (示范区平台网关)",
    description=(
        "The one door to the platform: OAuth2 client-credentials tokens (EdDSA JWTs), client "
        "management, and routing of `/v1/...` to the owning service. Errors are RFC 9457 "
        "problems; lists are cursor-paged (`?cursor=&limit=` → `{items, next_cursor}`)."
    ),
    routers=[
        auth_router,
        clients_router,
        users_router,
        lockouts_router,
        signing_router,
        audit_router,
        profile_router,
        dossier_router,
        docs,
        dashboard_router,
        portal_router,
        field_router,
    ],
    inner_middleware=[ProxyMiddleware],
    # the portal's own uploads are not proxied
    upload_routes=[*UPLOAD_ROUTES, PORTAL_UPLOAD, PORTAL_CAPA_RESPONSE],
    outer_middleware=[
        (RateLimitMiddleware, {"settings": settings}),
        (AuditMiddleware, {}),
        (DashboardTokenMiddleware, {}),  # outside audit and rate limit: they see the user
        (PortalTokenMiddleware, {}),
        (SecurityHeadersMiddleware, {}),
        *(
            [
                (
                    CORSMiddleware,
                    {
                        "allow_origins": settings.cors_origins,
                        "allow_credentials": False,
                        "allow_methods": ["GET", "POST", "PUT", "PATCH", "DELETE"],
                        "allow_headers": [
                            "Authorization",
                            "Content-Type",
                            "Idempotency-Key",
                            "If-Match",
                            "If-None-Match",
                            "X-Request-ID",
                            "Accept-Language",
                            "traceparent",
                            "tracestate",
                        ],
                        "expose_headers": ["ETag", "Location", "Retry-After", "X-Request-ID"],
                    },
                )
            ]
            if settings.cors_origins
            else []
        ),
    ],
    use_nats=False,
    on_startup=startup,
    on_shutdown=shutdown,
    periodic=[
        Periodic("rate-limit-prune", prune, every_s=60),
        Periodic("login-failures-prune", prune_login_failures, every_s=300),
        Periodic("signing-keys", refresh_signing_keys, every_s=signing.REFRESH_S),
        Periodic("revocations", refresh_revocations, every_s=revocations.REFRESH_S),
        Periodic("revocations-prune", revocations.prune, every_s=300),
    ],
    openapi_url=None,
)
# Outermost: answers over 1 KB compressed for clients that accept gzip (the 578 KB API
# document, dashboard pages, long lists), streamed ones too; services answer the gateway
# uncompressed (it does not pass Accept-Encoding on), so each answer is compressed once.
app.add_middleware(GZipMiddleware, minimum_size=1000)
# The dashboard and the portal answer these with pages and redirects, not problems.


async def _login_required(request: Request, exc: Exception) -> Response:
    """To the sign-in page of the front end the request was for."""
    if portal_path(request.url.path):
        return await portal.on_login_required(request, exc)
    return await dashboard.on_login_required(request, exc)


app.add_exception_handler(LoginRequired, _login_required)
app.add_exception_handler(CsrfRefused, dashboard.on_csrf_refused)
app.add_exception_handler(PortalCsrfRefused, portal.on_csrf_refused)
# The token, revocation and introspection endpoints answer RFC 6749 errors, not problems.
app.add_exception_handler(OAuthError, on_oauth_error)
