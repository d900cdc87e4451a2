"""JSON logs carrying the request id, Prometheus metrics, and the request-scoped middlewares."""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import sys
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kit import tracing
from kit.problems import content_language, problem_body

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)
# W3C trace context of the current request; events written during it carry the same one.
traceparent_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "traceparent", default=None
)
MAX_HEADER_BYTES = 16 * 1024
# nginx's "client closed request": counted as such, never as a 5xx; nobody gets the answer
CLIENT_CLOSED_REQUEST = 499

REQUESTS = Counter("http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
# The 5xx statuses the platform answers itself (an unhandled error, an outage, an upstream
# that did not answer in time): each route's series start at 0, so the first one counts.
SERVER_ERRORS = ("500", "503", "504")
# Older than any measurement: a `mostrecent` gauge's placeholder loses to every real value.
_PLACEHOLDER_TIME = 1.0
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the current request id."""

    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = request_id_var.get()
        if rid:
            entry["request_id"] = rid
        trace = traceparent_var.get()
        if trace:
            entry["trace_id"] = trace[3:35]
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(service: str, level: str = "INFO") -> None:
    """Route every logger (uvicorn's included) through the JSON formatter on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    # one INFO line per outgoing call (a revocation poll every 2 s in every process): noise
    logging.getLogger("httpx").setLevel(logging.WARNING)


# Media types of bulk uploads, which get the larger body limit.
BULK_MEDIA = (
    b"application/x-ndjson",
    b"application/jsonl",
    b"application/json-seq",
    b"text/csv",
)
# File uploads get it too, on the paths an app declares to take files (`UploadRoute`: a
# spreadsheet import, an evidence file: up to 20 MiB and its envelope); a form anywhere else
# keeps the ordinary limit.
UPLOAD_MEDIA = (b"multipart/form-data",)


@dataclass(frozen=True)
class UploadRoute:
    """A path that takes files, declared by the app that serves it (`create_service_app`'s
    `upload_routes`): its bodies of `media` (None: any, the file being the body) get the
    larger limit, `max_bulk_body_bytes`; the route checks its own, smaller one."""

    path: str
    media: tuple[bytes, ...] | None = UPLOAD_MEDIA

    def takes(self, path: str, media: bytes) -> bool:
        """True when a body of `media` sent to `path` is such an upload."""
        return path == self.path and (self.media is None or media in self.media)


class RequestContextMiddleware:
    """Request id (echoed as X-Request-ID), trace context, size limits (413, 431), metrics.

    A client that goes away before its body is read is counted as 499, not answered.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        service: str,
        max_body_bytes: int,
        max_bulk_body_bytes: int = 0,
        upload_routes: Iterable[UploadRoute] = (),
    ):
        self.app = app
        self.service = service
        self.max_body_bytes = max_body_bytes
        self.max_bulk_body_bytes = max(max_bulk_body_bytes, max_body_bytes)
        self.upload_routes = tuple(upload_routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _SAFE_ID.match(incoming) else str(uuid.uuid4())
        incoming_trace = headers.get(b"traceparent", b"").decode("latin-1")
        traceparent = tracing.current_traceparent(incoming_trace)
        scope.setdefault("state", {})["request_id"] = rid
        scope["state"]["traceparent"] = traceparent
        tokens = (request_id_var.set(rid), traceparent_var.set(traceparent))
        try:
            await self._handle(scope, receive, send, rid, headers)
        finally:
            request_id_var.reset(tokens[0])
            traceparent_var.reset(tokens[1])

    async def _handle(
        self, scope: Scope, receive: Receive, send: Send, rid: str, headers: dict[bytes, bytes]
    ) -> None:
        started = time.perf_counter()
        status = 500
        if sum(len(k) + len(v) for k, v in scope["headers"]) > MAX_HEADER_BYTES:
            await self._reject(
                scope,
                send,
                rid,
                431,
                "headers-too-large",
                f"request headers exceed {MAX_HEADER_BYTES} bytes",
                detail_zh=f"请求头超过 {MAX_HEADER_BYTES} 字节的上限",
                limit_bytes=MAX_HEADER_BYTES,
            )
            return
        media = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        upload = any(r.takes(scope["path"], media) for r in self.upload_routes)
        limit = self.max_bulk_body_bytes if media in BULK_MEDIA or upload else self.max_body_bytes
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._too_large(scope, send, rid, limit)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    scope["state"]["body_too_large"] = limit
                    raise _BodyTooLarge()
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # before the answer: the request's span ends when its last byte is sent
                tracing.name_request(scope["method"], route_template(scope))
                message.setdefault("headers", [])
                message["headers"] = [
                    *_relative_locations(scope, message["headers"]),
                    (b"x-request-id", rid.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_id)
        except _BodyTooLarge:
            status = 413
            await self._too_large(scope, send, rid, limit)
        except ClientDisconnect:
            status = CLIENT_CLOSED_REQUEST
        finally:
            counted, timed = _children(self.service, scope["method"], route_template(scope), status)
            counted.inc()
            timed.observe(time.perf_counter() - started)

    async def _too_large(self, scope: Scope, send: Send, rid: str, limit: int) -> None:
        await self._reject(
            scope,
            send,
            rid,
            413,
            "payload-too-large",
            f"request body exceeds {limit} bytes",
            detail_zh=f"请求体超过 {limit} 字节的上限",
            limit_bytes=limit,
        )

    async def _reject(
        self,
        scope: Scope,
        send: Send,
        rid: str,
        status: int,
        slug: str,
        detail: str,
        detail_zh: str | None = None,
        **extensions: Any,
    ) -> None:
        lang = dict(scope["headers"]).get(b"accept-language", b"").decode("latin-1")
        body = problem_body(
            slug,
            detail,
            accept_language=lang,
            instance=scope["path"],
            request_id=rid,
            extensions=extensions,
            detail_zh=detail_zh,
        )
        payload = json.dumps(body, ensure_ascii=False).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-language", content_language(lang).encode()),
                    (b"content-length", str(len(payload)).encode()),
                    (b"x-request-id", rid.encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


# Each (service, method, route, status)'s two series, looked up once: `labels()` checks and
# locks on every call, twice per request. Bounded: routes are templates (or `unmatched`) and
# methods and statuses are the few the server answers.
_CHILDREN: dict[tuple[str, str, str, int], tuple[Any, Any]] = {}
_CHILDREN_MAX = 20_000


def _children(service: str, method: str, template: str, status: int) -> tuple[Any, Any]:
    key = (service, method, template, status)
    found = _CHILDREN.get(key)
    if found is None:
        if len(_CHILDREN) >= _CHILDREN_MAX:  # odd methods, say: never unbounded
            _CHILDREN.clear()
        found = _CHILDREN[key] = (
            REQUESTS.labels(service, method, template, str(status)),
            LATENCY.labels(service, method, template),
        )
    return found


def route_template(scope: Scope) -> str:
    """The path template of the route that answered (the `route` label), or `unmatched`."""
    return getattr(scope.get("route"), "path", None) or "unmatched"


class _BodyTooLarge(Exception):
    pass


def site_relative(location: str, host: str) -> str:
    """`location` as a path when it points at `host` (the request's own), else unchanged.

    Starlette builds redirects (a trailing slash added or removed) from the request's URL,
    whose host is the client's `Host` header and whose scheme a proxy header may set: echoed
    back, anyone could point a 307 at another site. Leading slashes are collapsed, so the
    path cannot read as another host (`//evil.example/...`).
    """
    parts = urlsplit(location)
    if not parts.scheme or not parts.netloc or parts.netloc.lower() != host.lower():
        return location
    return urlunsplit(("", "", "/" + parts.path.lstrip("/"), parts.query, parts.fragment))


def _relative_locations(scope: Scope, headers: list[tuple[bytes, bytes]]) -> list[Any]:
    if not any(name.lower() == b"location" for name, _ in headers):
        return headers
    host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
    if not host and scope.get("server"):
        host = "{}:{}".format(*scope["server"])
    return [
        (name, site_relative(value.decode("latin-1"), host).encode("latin-1"))
        if name.lower() == b"location"
        else (name, value)
        for name, value in headers
    ]


def route_templates(app: Any) -> list[tuple[str, str]]:
    """(method, path template) of every route of `app`: the `method` and `route` labels its
    requests are counted under."""
    from kit.http import routes_of

    return sorted(
        {
            (method, route.path)
            for route in routes_of(app)
            for method in getattr(route, "methods", None) or ()
        }
    )


def zero_server_errors(service: str, templates: Iterable[tuple[str, str]]) -> None:
    """Create `http_requests_total{status="5xx"}` at 0 for each (method, route) of `service`.

    A counter series born at 1 has no earlier sample, so `rate()` and `increase()` see no
    rise: without these the first 5xx a route answers would never reach `ServerErrors`.
    In multiprocess mode creating a child writes its 0 to this process's file, so a scrape
    shows it."""
    for method, template in templates:
        for status in SERVER_ERRORS:
            REQUESTS.labels(service, method, template, status)


def zero_gauge(gauge: Gauge) -> None:
    """Show a labelled gauge child at 0 until it is first measured.

    A `mostrecent` gauge created but never set is left out of a multiprocess scrape (its
    timestamp is 0); this one is stamped 1970-01-01T00:00:01, so any worker's real
    measurement, always later, wins over it."""
    gauge._value.set(0.0, timestamp=_PLACEHOLDER_TIME)


async def metrics_endpoint(_: Request) -> Response:
    """Prometheus exposition: with `PROMETHEUS_MULTIPROC_DIR` set (the launcher and the image
    set it), the sum of every worker process's counters, so a scrape answered by any worker
    sees the whole service; else this process's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
