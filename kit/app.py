"""Service application factory: middleware, problems, health, metrics, relay and consumers."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import gc
import hashlib
import logging
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_address
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import multiprocess
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from kit import tracing
from kit.auth import JwksVerifier, document_security
from kit.bulk import hoist_body_defs
from kit.db import ReadPool, make_engine, make_read_sessionmaker, make_sessionmaker
from kit.exports import ExportMiddleware
from kit.gateway_assertion import GatewayAssertionMiddleware
from kit.http import HttpSemanticsMiddleware
from kit.idempotency import IdempotencyMiddleware
from kit.inbox import Consumer, ConsumerRunner, RetryRunner
from kit.messaging import NatsConnection
from kit.observability import (
    RequestContextMiddleware,
    UploadRoute,
    configure_logging,
    metrics_endpoint,
    route_templates,
    zero_server_errors,
)
from kit.outbox import OutboxRelay
from kit.problems import (
    UnhandledErrorMiddleware,
    document_problems,
    install_problem_handlers,
    problem_response,
)
from kit.settings import ServiceSettings

log = logging.getLogger("kit.app")


def health_router(metrics_allow: Sequence[IPv4Network | IPv6Network] | None = None) -> APIRouter:
    """`/livez` (process up), `/readyz` (database and NATS reachable) and `/metrics` (to
    addresses in `metrics_allow` only, when given)."""
    router = APIRouter(tags=["health"])

    @router.get("/livez", summary="Liveness")
    async def livez() -> dict[str, str]:
        """The process is serving."""
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness: database and NATS", responses={503: {}})
    async def readyz(request: Request) -> Any:
        """Ready when PostgreSQL answers and NATS is connected."""
        checks: dict[str, str] = {}
        try:
            async with request.app.state.engine.connect() as conn:
                await asyncio.wait_for(conn.execute(text("SELECT 1")), timeout=2)
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unavailable: {type(exc).__name__}"
        nats: NatsConnection | None = request.app.state.nats
        if nats is not None:
            checks["nats"] = "ok" if nats.connected else "unavailable"
        failing = [f"{k} {v}" for k, v in checks.items() if v != "ok"]
        # Services this one depends on (the gateway's upstreams): reported, not required.
        report = getattr(request.app.state, "dependency_report", None)
        dependencies = await report() if report is not None else {}
        if not failing:
            return {"status": "ok", "checks": checks, "dependencies": dependencies}
        return problem_response(
            request,
            "service-unavailable",
            "not ready: " + ", ".join(failing),
            checks=checks,
            dependencies=dependencies,
        )

    async def metrics(request: Request) -> Response:
        if metrics_allow is not None and not _from(request, metrics_allow):
            return problem_response(
                request,
                "forbidden",
                "metrics are served only to the allowed addresses",
                detail_zh="监控指标只对允许的地址提供",
            )
        return await metrics_endpoint(request)

    router.add_api_route("/metrics", metrics, methods=["GET"], include_in_schema=False)
    return router


def _from(request: Request, networks: Sequence[IPv4Network | IPv6Network]) -> bool:
    """The request's client address is in one of `networks`."""
    try:
        address = ip_address(request.client.host if request.client else "")
    except ValueError:
        return False
    return any(address in network for network in networks)


async def prune_once(engine: AsyncEngine, settings: ServiceSettings, *, messaging: bool) -> None:
    """Delete sent outbox rows, old inbox ids and expired idempotency keys."""
    statements = ["DELETE FROM idempotency_keys WHERE created_at < now() - interval '1 day'"]
    if messaging:
        statements += [
            "DELETE FROM outbox WHERE sent_at < now() - make_interval(days => :outbox_days)",
            "DELETE FROM inbox WHERE handled_at < now() - make_interval(days => :inbox_days)",
        ]
    params = {
        "outbox_days": settings.outbox_retention_days,
        "inbox_days": settings.inbox_retention_days,
    }
    for statement in statements:
        try:
            async with engine.begin() as conn:
                await conn.execute(text(statement), params)
        except Exception as exc:
            log.warning("housekeeping skipped (%r)", exc)


async def prune_forever(engine: AsyncEngine, settings: ServiceSettings, *, messaging: bool) -> None:
    """`prune_once` every `janitor_interval_s`."""
    while True:
        await prune_once(engine, settings, messaging=messaging)
        await asyncio.sleep(settings.janitor_interval_s)


@dataclass(frozen=True)
class Periodic:
    """A job every process of a service runs every `every_s` seconds (announcing what fell
    overdue, say). Processes run it side by side, so it claims its rows with SKIP LOCKED."""

    name: str
    job: Callable[[async_sessionmaker[AsyncSession]], Awaitable[object]]
    every_s: float


async def run_every(periodic: Periodic, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """`periodic.job` forever; a failed round (the database away) waits for the next."""
    while True:
        try:
            await periodic.job(sessionmaker)
        except Exception as exc:
            log.warning("%s skipped (%r)", periodic.name, exc)
        await asyncio.sleep(periodic.every_s)


def _exchange(
    settings: ServiceSettings,
    nats: NatsConnection,
    sessionmaker: async_sessionmaker[AsyncSession],
    consumers: Sequence[Consumer],
) -> Callable[[], list[Awaitable[None]]]:
    """The service's side of the exchange: its outbox relay and its durable consumers."""

    def start() -> list[Awaitable[None]]:
        relay = OutboxRelay(
            nats,
            service=settings.service_name,
            database_url=settings.database_url,
            batch=settings.outbox_batch,
            poll_s=settings.outbox_poll_s,
            linger_s=settings.outbox_linger_s,
        )
        work: list[Awaitable[None]] = [relay.run()]
        if settings.consumers_enabled and consumers:
            work += [
                ConsumerRunner(c, nats, sessionmaker, linger_s=settings.consumer_linger_s).run()
                for c in consumers
            ]
            work.append(RetryRunner(settings.service_name, consumers, nats, sessionmaker).run())
        return work

    return start


async def one_per_host(
    settings: ServiceSettings, start: Callable[[], list[Awaitable[None]]]
) -> None:
    """Run the exchange in one worker process of the service per host: the worker holding an
    exclusive lock on a file named for the service and its database runs it, the others wait
    for the lock (taken over within a second when that worker dies). One relay and one
    fetcher per durable instead of one per worker: fuller batches, half the idle polling.
    Replicas on other hosts (pods) each run their own, as before."""
    key = hashlib.sha256(f"{settings.service_name} {settings.database_url}".encode()).hexdigest()
    path = (
        Path(settings.exchange_lock_dir or tempfile.gettempdir()) / f"zone-exchange-{key[:16]}.lock"
    )
    with path.open("a") as lock:
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                await asyncio.sleep(1)
        log.info(
            "%s: this worker (pid %d) runs the outbox relay and consumers",
            settings.service_name,
            os.getpid(),
        )
        await asyncio.gather(*start())


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    consumers: Sequence[Consumer] = (),
    version: str = "1.0.0",
    use_nats: bool = True,
    on_startup: Callable[[FastAPI], Awaitable[None]] | None = None,
    on_shutdown: Callable[[FastAPI], Awaitable[None]] | None = None,
    periodic: Sequence[Periodic] = (),
    openapi_url: str | None = "/openapi.json",
    outer_middleware: Sequence[tuple[type, dict[str, Any]]] = (),
    inner_middleware: Sequence[type] = (),
    upload_routes: Sequence[UploadRoute] = (),
) -> FastAPI:
    """A FastAPI app wired the house way: one engine, one NATS client, relay and consumers.

    `use_nats=False` is for the gateway, which owns no events. `on_startup` runs after the
    engine exists and before requests are served; `periodic` jobs start with it. `outer_middleware` wraps the idempotency
    layer, innermost first (the gateway's rate limit and audit); `inner_middleware` sits just
    outside the routes, inside the error answers (the gateway's proxy). `upload_routes`
    are the paths that take files, whose bodies get the larger limit.
    """
    configure_logging(settings.service_name, settings.log_level)
    tracing.configure(settings.service_name)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        app.state.read_sessionmaker = make_read_sessionmaker(engine)
        # the key lookups' statements (kit.db.Prepared) run on it, without a session
        app.state.read_pool = ReadPool.of(engine, settings)
        app.state.verifier = JwksVerifier(
            jwks_url=settings.jwks_url,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            inline_jwks=settings.jwks_json,
            max_lifetime_s=settings.token_max_lifetime_s,
        )
        app.state.nats = None
        # in this process (a worker), so a multiprocess scrape shows them
        zero_server_errors(settings.service_name, route_templates(app))
        tasks: list[asyncio.Task[None]] = []
        if use_nats:
            nats = NatsConnection(
                settings.nats_url, name=settings.service_name, identity=settings.nats_identity
            )
            app.state.nats = nats
            await nats.start()
        tasks.append(asyncio.create_task(prune_forever(engine, settings, messaging=use_nats)))
        revocations = settings.revocations_source if settings.behind_gateway else None
        if revocations:
            poll = app.state.verifier.poll_revocations(revocations)
            tasks.append(asyncio.create_task(poll, name="revocations"))
        tasks += [
            asyncio.create_task(run_every(p, app.state.sessionmaker), name=p.name) for p in periodic
        ]
        if on_startup is not None:
            await on_startup(app)
        if use_nats:
            exchange = _exchange(settings, app.state.nats, app.state.sessionmaker, consumers)
            tasks.append(
                asyncio.create_task(one_per_host(settings, exchange), name="outbox-and-consumers")
            )
        # Everything alive now lives as long as the process: out of the collector's way, so a
        # full collection under load walks only request garbage (shorter tail latencies).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if on_shutdown is not None:
                await on_shutdown(app)
            if app.state.nats is not None:
                await app.state.nats.close()
            await app.state.read_pool.close()
            await engine.dispose()
            tracing.shutdown()  # export the spans still buffered
            if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
                multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

    app = FastAPI(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        # FastAPI's default: a route with a response model is serialised by pydantic straight
        # to JSON bytes (naming JSONResponse here, even the same class, turns that off)
        openapi_url=openapi_url,
        # OpenTelemetry's FastAPI instrumentation makes the request spans (kit.tracing, when
        # tracing is on); FastAPI's own telemetry stays off, so there is one of each span.
        telemetry={"tracing": False, "metrics": False, "logs": False, "auto_configure": False},
    )
    install_problem_handlers(app)
    # innermost: a list's CSV/.xlsx export walks its route's JSON pages (kit/exports.py)
    app.add_middleware(ExportMiddleware)
    for middleware in inner_middleware:
        app.add_middleware(middleware)  # type: ignore[arg-type]
    app.add_middleware(UnhandledErrorMiddleware)  # inside everything but the routes
    app.add_middleware(IdempotencyMiddleware)
    for middleware, options in outer_middleware:
        app.add_middleware(middleware, **options)  # type: ignore[arg-type]
    # HEAD, ETag/304, Cache-Control; inside the assertion check, which binds the method sent
    app.add_middleware(HttpSemanticsMiddleware)
    if settings.behind_gateway:
        # inside the request context (it knows the request id), outside everything else
        app.add_middleware(
            GatewayAssertionMiddleware,
            issuer=settings.jwt_issuer,
            required=bool(settings.require_gateway),
        )
    app.add_middleware(
        RequestContextMiddleware,
        service=settings.service_name,
        max_body_bytes=settings.max_body_bytes,
        max_bulk_body_bytes=settings.max_bulk_body_bytes,
        upload_routes=upload_routes,
    )
    app.include_router(health_router(settings.metrics_allow))
    for router in routers:
        app.include_router(router)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = hoist_body_defs(document_problems(generate()))
            app.openapi_schema = document_security(app, document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    tracing.instrument_app(app)
    return app
