"""Routing of `/v1/...` to the owning service over a keep-alive pool per service (gateway/hop.py);
the gateway's own calls to the services go through one shared aiohttp client."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import parse_qs

import aiohttp
from opentelemetry.trace import Status, StatusCode
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway import hop
from gateway.auth.tokens import Signer
from gateway.config import GatewaySettings
from kit import gateway_assertion, tracing
from kit.observability import UploadRoute, request_id_var
from kit.problems import problem_response
from kit.spreadsheets import XLSX_TYPE

log = logging.getLogger("gateway.proxy")

# Longest prefix first. Paths the gateway serves itself never reach this table.
ROUTES: list[tuple[str, str]] = [
    ("/v1/public/zones", "registry"),
    ("/v1/public/", "inspection"),
    ("/v1/agencies", "registry"),
    ("/v1/zones", "registry"),
    ("/v1/memberships", "registry"),
    ("/v1/enterprises", "registry"),
    ("/v1/imports", "registry"),
    ("/v1/batches", "registry"),
    ("/v1/leadership-groups", "registry"),
    ("/v1/meetings", "registry"),
    ("/v1/action-items", "registry"),
    ("/v1/assessments", "registry"),
    ("/v1/responsibilities", "registry"),
    ("/v1/standards", "registry"),
    ("/v1/trainings", "registry"),
    ("/v1/awards", "registry"),
    ("/v1/programme", "registry"),
    ("/v1/credit", "credit"),
    ("/v1/inspectors", "inspection"),
    ("/v1/directory", "inspection"),
    ("/v1/checklists", "inspection"),
    ("/v1/campaigns", "inspection"),
    ("/v1/tasks", "inspection"),
    ("/v1/capas", "inspection"),
    ("/v1/risk/signals/imports", "inspection"),  # Safety Gate exports
    ("/v1/evidence", "inspection"),
    ("/v1/risk", "inspection"),
    ("/v1/sync", "inspection"),
    ("/v1/labs", "inspection"),
    ("/v1/test-requests", "inspection"),
    ("/v1/analysis", "inspection"),
    ("/v1/subscriptions", "notify"),
    ("/v1/inbox", "notify"),
    ("/v1/deliveries", "notify"),
    ("/v1/bulletins/imports", "notify"),  # ePing exports
    ("/v1/bulletins", "notify"),
    ("/v1/templates", "notify"),
    ("/v1/dead-letters", "notify"),
]
# Forwarded paths that take files (the services declare the same for their own doors): their
# bodies get the larger limit and stream through to the service as they arrive, never held
# whole in the gateway.
UPLOAD_ROUTES = (
    UploadRoute("/v1/imports"),  # spreadsheets, as multipart forms
    UploadRoute("/v1/risk/signals/imports"),  # Safety Gate exports, as multipart forms
    UploadRoute("/v1/bulletins/imports"),  # ePing exports, as multipart forms
    UploadRoute("/v1/inspectors/imports"),  # inspector rosters, as multipart forms
    UploadRoute("/v1/evidence", media=None),  # evidence files: the body, or a form's part
)
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "x-request-id",
    "date",
    "server",
}
# The services believe the gateway's forwarded headers (it is their trusted proxy), so a
# caller's own are dropped and the gateway states the address and scheme it saw.
FORWARDED = {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "forwarded"}
# traceparent: the gateway's span; a caller's own assertion is never passed on either;
# accept-encoding: the gateway compresses for the caller (GZipMiddleware), once
NOT_PASSED_ON = (
    HOP_BY_HOP | FORWARDED | {"traceparent", "accept-encoding", gateway_assertion.HEADER.lower()}
)


# The methods the services' routes answer, so the ones a forwarded request is counted under.
FORWARDED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def proxied_templates() -> list[tuple[str, str]]:
    """(method, route label) of every forwarded request: its routed prefix (`ProxiedRoute`)."""
    return [(m, prefix.rstrip("/")) for prefix, _ in ROUTES for m in FORWARDED_METHODS]


def _section(path: str) -> str:
    """`/v1/<section>` of a path: the key of the routing table."""
    return "/".join(path.split("/", 3)[:3])


# The routing table by section, each section's prefixes longest first (as in ROUTES), built
# once: a request compares its path with the one or two prefixes of its section, not all.
_TABLE: dict[str, list[tuple[str, str, str]]] = {}
for _prefix, _service in ROUTES:
    _TABLE.setdefault(_section(_prefix.rstrip("/") or _prefix), []).append(
        (_prefix, _prefix.rstrip("/"), _service)
    )


def route_for(path: str) -> tuple[str, str] | None:
    """The routed prefix that owns `path` and its service, if any."""
    for prefix, bare, service in _TABLE.get(_section(path), ()):
        if (
            path == bare
            or path.startswith(bare + "/")
            or (prefix.endswith("/") and path.startswith(prefix))
        ):
            return prefix, service
    return None


@dataclass(frozen=True)
class ProxiedRoute:
    """Stands in scope["route"] for a forwarded request, so metrics and spans name it by its
    routed prefix (e.g. `/v1/enterprises`) rather than `unmatched`."""

    path: str


class Upstreams:
    """Base URLs of the services, the forwarder's pool of connections to each, and the
    shared client session for the gateway's own calls, which puts the gateway's assertion on
    every request it sends them (whichever part of the gateway sends it)."""

    def __init__(self, settings: GatewaySettings, signer: Signer):
        self.signer = signer
        self.urls = {
            "registry": settings.registry_url.rstrip("/"),
            "credit": settings.credit_url.rstrip("/"),
            "inspection": settings.inspection_url.rstrip("/"),
            "notify": settings.notify_url.rstrip("/"),
        }
        self.timeout_s = settings.upstream_timeout_s
        self.timeout = aiohttp.ClientTimeout(total=self.timeout_s, connect=3)
        self.route_timeouts_s = dict(
            sorted(settings.route_timeouts_s.items(), key=lambda i: -len(i[0]))
        )
        self.connections = settings.upstream_connections
        self.pools = {
            name: hop.Pool(url, settings.upstream_connections)
            for name, url in self.urls.items()
            if url
        }
        self.session: aiohttp.ClientSession | None = None

    def budget_for(self, path: str, *, export: bool = False) -> hop.Budget:
        """A forwarded request's time, from now: the route's own budget, else the default. A
        list's export (kit/exports.py) may take longer than any budget as a whole, so it is
        held only to that budget between two pieces of its body (its rows stream as they
        are read)."""
        if export:
            return hop.Budget(None, self.timeout_s)
        for prefix, seconds in self.route_timeouts_s.items():
            if path.startswith(prefix):
                return hop.Budget(seconds, None)
        return hop.Budget(self.timeout_s, None)

    async def start(self) -> None:
        """Open the pooled client (keep-alive, bounded connections)."""
        connector = aiohttp.TCPConnector(
            limit=self.connections,
            limit_per_host=self.connections,
            # below the services' keep-alive (75 s, see deploy/launcher.py) so the gateway
            # closes an idle connection before the service does
            keepalive_timeout=30,
            ttl_dns_cache=300,
        )
        self.session = aiohttp.ClientSession(
            connector=connector,
            timeout=self.timeout,
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding"),
            middlewares=(self._assert,),
        )

    async def _assert(
        self, request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        """Sign this exact request (method, target as sent, request id); a resend is signed
        afresh. Without a request id of its own it takes the one being served."""
        request_id = request.headers.get("X-Request-ID") or request_id_var.get()
        if not request_id:
            request_id = str(uuid.uuid4())
        request.headers["X-Request-ID"] = request_id
        request.headers[gateway_assertion.HEADER] = self.signer.assertion(
            method=request.method, target=request.url.raw_path_qs, request_id=request_id
        )
        return await handler(request)

    async def report(self) -> dict[str, str]:
        """Each upstream's liveness: ok, unavailable, or not deployed."""

        async def one(name: str, base: str) -> tuple[str, str]:
            if not base:
                return name, "not deployed"
            assert self.session is not None
            try:
                async with self.session.get(
                    f"{base}/livez", timeout=aiohttp.ClientTimeout(total=1)
                ) as response:
                    return name, "ok" if response.status == 200 else f"status {response.status}"
            except (aiohttp.ClientError, TimeoutError, OSError):
                return name, "unavailable"

        return dict(await asyncio.gather(*(one(n, b) for n, b in self.urls.items())))

    async def close(self) -> None:
        """Close the forwarder's connections and the client."""
        for pool in self.pools.values():
            pool.close()
        if self.session is not None:
            await self.session.close()


GATEWAY_OWNED = re.compile(
    r"^/v1/enterprises/[^/]+/profile/?$"
    r"|^/v1/zones/[^/]+/dossier\.(pdf|xlsx)$"  # the acceptance dossier (gateway/dossier/)
)


class ProxyMiddleware:
    """Forwards service-owned paths straight from ASGI, without the router's per-route work.

    Paths the gateway serves itself (clients, users, audit, the composite profile, docs)
    and unknown paths go on to the app, which answers them (unknown ones with a 404 problem).
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = route_for(scope["path"]) if scope["type"] == "http" else None
        if route is None or GATEWAY_OWNED.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        prefix, service = route
        scope["route"] = ProxiedRoute(prefix.rstrip("/"))
        upstreams: Upstreams = scope["app"].state.upstreams
        base = upstreams.urls.get(service)
        if not base:
            response: Response = problem_response(
                Request(scope),
                "service-unavailable",
                f"the {service} service is not deployed yet",
                detail_zh=f"{service} 服务尚未部署",
                service=service,
                headers={"Retry-After": "60"},
            )
            await response(scope, receive, send)
            return
        await _forward(scope, receive, send, upstreams, service, base)


async def _forward(
    scope: Scope, receive: Receive, send: Send, upstreams: Upstreams, service: str, base: str
) -> None:
    """Send the request on as received (its headers but the hop's own, its body, its raw
    target) with the gateway's assertion, and relay the answer: read whole when small,
    streamed otherwise. Built on the ASGI scope and the raw header lists, over the gateway's
    own connection pool (gateway/hop.py): no Request, header mappings, client request or
    Response objects on the way."""
    state = scope["state"]
    request_id: str = state["request_id"]
    method: str = scope["method"]
    path: str = scope["path"]
    headers: list[tuple[bytes, bytes]] = []
    media = b""
    export = False
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.lower()
        if name == b"content-type" and not media:
            media = raw_value.split(b";")[0].strip().lower()
        elif name == b"accept" and (b"text/csv" in raw_value or _XLSX in raw_value):
            export = True
        if name not in _NOT_PASSED_ON:
            headers.append((raw_name, raw_value))
    rid = request_id.encode("latin-1")
    headers.append((b"X-Request-ID", rid))
    client = scope.get("client")
    if client:
        headers.append((b"X-Forwarded-For", client[0].encode("latin-1")))
    headers.append((b"X-Forwarded-Proto", scope.get("scheme", "http").encode("latin-1")))
    # Forward the path exactly as received (still percent-encoded): decoding here would let
    # `..%2F` segments escape the routed prefix.
    raw_path: bytes = scope.get("raw_path") or path.encode()
    query: bytes = scope.get("query_string", b"")
    target = raw_path + (b"?" + query if query else b"")
    export = method in ("GET", "HEAD") and (export or _asks_for_file(query))
    budget = upstreams.budget_for(path, export=export)
    pool = upstreams.pools[service]
    body: bytes | AsyncIterator[bytes]
    if any(r.takes(path, media) for r in UPLOAD_ROUTES):
        body = Request(scope, receive).stream()  # sent on chunked as it arrives
    else:
        body = await _read_body(receive)
    # With tracing on, the call is a CLIENT span, child of the request's SERVER span, and the
    # service's request span is the child of the call (its id goes on as `traceparent`).
    # Started once nothing but the call can fail (a caller gone mid-body leaves none open).
    span = _call_span(method, base, target, pool, state["traceparent"])
    traceparent = tracing.traceparent_of(span) if span is not None else None
    headers.append((b"traceparent", (traceparent or state["traceparent"]).encode("latin-1")))
    target_text = target.decode("latin-1")

    def sign() -> bytes:
        # for this exact request; a resend is signed afresh
        assertion = upstreams.signer.assertion(
            method=method, target=target_text, request_id=request_id
        )
        return _ASSERTION + assertion.encode("latin-1")

    try:
        # a kept connection the service closed a moment ago fails before any answer: safe to
        # send again for reads; for writes the client retries (with its Idempotency-Key)
        conn = await hop.exchange(
            pool,
            method,
            target,
            headers,
            body,
            sign=sign,
            budget=budget,
            retry=method in ("GET", "HEAD"),
        )
        status = conn.status
        # ASGI names are lower case (what Starlette's header mappings further out look for)
        out_headers = [
            (name, v) for k, v in conn.headers if (name := k.lower()) not in _HOP_BY_HOP_RAW
        ]
        lease = conn.lease
        payload: bytes | None = None
        if conn.done or (conn.length is not None and conn.length < 64 * 1024):
            try:
                payload = await conn.read()
            finally:
                conn.release(lease)
    except TimeoutError as exc:
        _end_span(span, None, exc)
        response: Response = problem_response(
            Request(scope),
            "gateway-timeout",
            f"the {service} service did not answer in time",
            detail_zh=f"{service} 服务未能及时响应",
            service=service,
        )
        await response(scope, receive, send)
        return
    except Exception as exc:
        _end_span(span, None, exc)
        limit = state.get("body_too_large")
        if limit is not None:  # an upload streaming through ran past the gateway's limit
            response = problem_response(
                Request(scope),
                "payload-too-large",
                f"request body exceeds {limit} bytes",
                detail_zh=f"请求体超过 {limit} 字节的上限",
                limit_bytes=limit,
                headers={"Connection": "close"},
            )
        elif isinstance(exc, OSError):  # refused, reset, closed, or not HTTP
            log.warning("%s unreachable: %r", service, exc)
            response = problem_response(
                Request(scope),
                "service-unavailable",
                f"the {service} service is unavailable; retry later",
                detail_zh=f"{service} 服务暂不可用；请稍后重试",
                service=service,
                headers={"Retry-After": "5"},
            )
        else:
            raise  # the caller gone mid-body (a 499 further out), or a bug
        await response(scope, receive, send)
        return
    except BaseException as exc:  # cancelled
        _end_span(span, None, exc)
        raise

    if payload is not None:  # answered whole: sent outside the upstream's error handling
        _end_span(span, status, None)
        if method == "HEAD":  # the length the GET would have
            if conn.length is not None:
                out_headers.append((b"content-length", str(conn.length).encode()))
        elif status >= 200 and status not in (204, 304):
            out_headers.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": out_headers})
        await send({"type": "http.response.body", "body": payload})
        return

    streaming = conn

    async def stream() -> AsyncIterator[bytes]:
        failed: BaseException | None = None
        try:
            async for piece in streaming.pieces(budget):
                yield piece
        except BaseException as exc:
            failed = exc
            raise
        finally:
            streaming.release(lease)
            _end_span(span, status, failed)

    streamed = StreamingResponse(stream(), status_code=status)
    streamed.raw_headers = out_headers  # as relayed: no length, so sent on chunked
    try:
        await streamed(scope, receive, send)
    finally:  # also when the answer could not even start (the caller gone): not kept then
        # with this request's lease: the stream's own release may have come first, and the
        # connection may already be serving another request
        streaming.release(lease)
        _end_span(span, status, None)


def _call_span(
    method: str, base: str, target: bytes, pool: hop.Pool, parent: str
) -> tracing.Span | None:
    """The CLIENT span of the call to the service (tracing on), as OpenTelemetry's HTTP
    client instrumentations make it: named by the method, with the stable attributes."""
    if not tracing.enabled:
        return None
    return tracing.start(
        __name__,
        method,
        tracing.SpanKind.CLIENT,
        parent,
        **{
            "http.request.method": method,
            "url.full": base + target.decode("latin-1"),
            "server.address": pool.host,
            "server.port": pool.port,
        },
    )


def _end_span(span: tracing.Span | None, status: int | None, error: BaseException | None) -> None:
    if span is None or not span.is_recording():  # off, or ended already
        return
    if status is not None:
        span.set_attribute("http.response.status_code", status)
        if status >= 500:
            span.set_attribute("error.type", str(status))
            span.set_status(Status(StatusCode.ERROR))
    if error is not None and not isinstance(error, GeneratorExit):
        span.set_attribute("error.type", type(error).__qualname__)
        span.set_status(Status(StatusCode.ERROR, type(error).__name__))
    span.end()


_HOP_BY_HOP_RAW = frozenset(h.encode() for h in HOP_BY_HOP)
_NOT_PASSED_ON = frozenset(h.encode() for h in NOT_PASSED_ON)
_XLSX = XLSX_TYPE.encode()
_ASSERTION = gateway_assertion.HEADER.encode() + b": "


async def _read_body(receive: Receive) -> bytes:
    """The whole request body (what `Request.body` does, without the Request)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _asks_for_file(query: bytes) -> bool:
    """`?format=csv` or `?format=xlsx` (a list's export, kit/exports.py)."""
    if b"format=" not in query:
        return False
    return parse_qs(query.decode("latin-1")).get("format", [""])[-1] in ("csv", "xlsx")
