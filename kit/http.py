"""HTTP semantics every app gets (RFC 9110/9111): `HEAD` wherever `GET` is, `Allow` naming
every method of a path, validators (a weak `ETag` on each `GET` that has none, `304` for a
matching `If-None-Match`) and caching directives that say who may keep an answer."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi.routing import iter_route_contexts
from starlette.datastructures import Headers, MutableHeaders
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Bodies up to this size are hashed for their ETag; a longer (streamed) one passes unhashed.
MAX_HASHED_BYTES = 2 * 1024 * 1024
PUBLIC_PREFIX = "/v1/public/"
PUBLIC_CACHE = "public, max-age=60"
PRIVATE_CACHE = "private, no-cache"  # keep it, but ask again (with If-None-Match) each time
# 304 keeps these of the 200 it stands for (RFC 9110 15.4.5)
KEPT_ON_304 = {b"cache-control", b"content-location", b"date", b"etag", b"expires", b"vary"}


def routes_of(app: Any) -> list[Any]:
    """Every route of `app` with its full path, included routers' too (FastAPI keeps those
    behind `_IncludedRouter` entries in `app.routes`)."""
    return [context.route for context in iter_route_contexts(getattr(app, "routes", []))]


def allowed_methods(app: Any, scope: Scope) -> list[str]:
    """Every method some route of `app` answers on this scope's path (HEAD with GET): a
    route whose path matches reports FULL or, for another method, PARTIAL."""
    methods: set[str] = set()
    for route in routes_of(app):
        match, _ = route.matches(scope)
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def _weak_match(header: str, etag: str) -> bool:
    """If-None-Match's weak comparison (RFC 9110 13.1.2)."""
    opaque = etag.removeprefix("W/")
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or opaque in tags


async def _not_modified(start: Message, send: Send) -> None:
    """A 304 standing for the 200 `start` began: its validators and caching headers only."""
    kept = [(k, v) for k, v in start["headers"] if k in KEPT_ON_304]
    await send({"type": "http.response.start", "status": 304, "headers": kept})
    await send({"type": "http.response.body", "body": b""})


class HttpSemanticsMiddleware:
    """HEAD as GET without the body; ETag, 304 and Cache-Control on successful GETs. An
    answer that already carries an ETag (a service's, relayed by the gateway) streams
    through unbuffered; only untagged ones are held (up to 2 MiB) to be hashed."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        outer = scope
        if head:
            scope = {**scope, "method": "GET"}
        if_none_match = Headers(scope=scope).get("if-none-match")
        public = scope["path"].startswith(PUBLIC_PREFIX)
        start: Message | None = None
        chunks: list[bytes] = []
        size = 0
        passing = False  # streaming through: too long to hash, not a 200, or already tagged
        dropping = False  # a 304 went out for a tagged answer: its body goes nowhere

        async def send_wrapped(message: Message) -> None:
            nonlocal start, size, passing, dropping
            if message["type"] == "http.response.start":
                start = message
                headers = MutableHeaders(scope=message)
                # not a 200, or a download never to be kept (a list's export streams: not held)
                download = "content-disposition" in headers
                if message["status"] != 200 or (
                    download and headers.get("cache-control") == "no-store"
                ):
                    passing = True
                    await send(message)
                    return
                if "cache-control" not in headers:
                    headers["Cache-Control"] = PUBLIC_CACHE if public else PRIVATE_CACHE
                named = {v.strip().lower() for v in ",".join(headers.getlist("vary")).split(",")}
                if not named & {"accept-language", "*"}:  # named once, however many hops
                    headers.add_vary_header("Accept-Language")
                etag = headers.get("etag")
                if etag is not None:  # tagged already (a service's answer the gateway relays)
                    if if_none_match is not None and _weak_match(if_none_match, etag):
                        dropping = True
                        await _not_modified(message, send)
                    else:
                        passing = True
                        await send(message)
                return
            if message["type"] != "http.response.body" or dropping:
                if not dropping:
                    await send(message)
                return
            if passing:
                await send({**message, "body": b""} if head else message)
                return
            assert start is not None
            body = message.get("body", b"")
            chunks.append(body)
            size += len(body)
            more = message.get("more_body", False)
            if more and size <= MAX_HASHED_BYTES:
                return
            if more:  # too long to hash: send what was kept, then stream the rest
                passing = True
                await send(start)
                await send(
                    {
                        "type": "http.response.body",
                        "body": b"" if head else b"".join(chunks),
                        "more_body": True,
                    }
                )
                return
            await self._finish(start, b"".join(chunks), if_none_match, head, send)

        try:
            await self.app(scope, receive, send_wrapped)
        finally:
            if head and "route" in scope:
                # the request's metrics and span name its route, not `unmatched`
                outer["route"] = scope["route"]

    @staticmethod
    async def _finish(
        start: Message, body: bytes, if_none_match: str | None, head: bool, send: Send
    ) -> None:
        headers = MutableHeaders(scope=start)
        etag = headers.get("etag")
        if etag is None:
            etag = f'W/"{hashlib.blake2b(body, digest_size=12).hexdigest()}"'
            headers["ETag"] = etag
        if if_none_match is not None and _weak_match(if_none_match, etag):
            await _not_modified(start, send)
            return
        await send(start)
        await send({"type": "http.response.body", "body": b"" if head else body})
