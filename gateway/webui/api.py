"""A front end's only way to data: the API, with the signed-in user's own token.

Service paths go to the services over the gateway's pooled client (as the composite profile
does), so each service applies its own access rules to the user; the gateway's own endpoints
(the password grant, the composite profile, the audit log) are called in-process through the
whole gateway stack, so rate limits and the audit log see them as any API call. A part that
cannot be fetched comes back as a `Part` saying why; only a refused token (401) stops the
page, to send the user to sign in again.
"""

from __future__ import annotations

import asyncio
import json as _json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import IO, Any, Literal
from urllib.parse import urlencode

import aiohttp
import httpx
from starlette.requests import Request

from gateway.proxy import Upstreams

PART_TIMEOUT = aiohttp.ClientTimeout(total=5, connect=1)
WRITE_TIMEOUT = aiohttp.ClientTimeout(total=15, connect=2)
# A file up or down (an evidence photo, up to 20 MiB): no total, but no minute-long silence.
FILE_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=2, sock_read=60)
# Counting by walking a list: at most this many pages of 500 before saying "at least".
MAX_COUNT_PAGES = 10

PartStatus = Literal["ok", "unavailable", "forbidden", "not_found", "rejected", "error"]


class LoginRequired(Exception):
    """The token is missing, expired or refused: the user must sign in (again). `expired`:
    there was a token (the sign-in page then says the session ended)."""

    def __init__(self, *, expired: bool = True):
        super().__init__()
        self.expired = expired


@dataclass
class Part:
    """One fetched piece of a page: its data, or why it is missing."""

    status: PartStatus
    data: Any = None
    http_status: int = 0
    detail: str | None = None

    @property
    def ok(self) -> bool:
        """The data is there."""
        return self.status == "ok"

    @property
    def items(self) -> list[Any]:
        """A page's items (empty when the part is missing)."""
        if self.ok and isinstance(self.data, dict):
            return list(self.data.get("items") or [])
        return []

    @property
    def next_cursor(self) -> str | None:
        """A page's cursor to the next page, if any."""
        if self.ok and isinstance(self.data, dict):
            return self.data.get("next_cursor")
        return None


def _part(status: int, body: Any, service: str) -> Part:
    if 200 <= status < 300:
        return Part("ok", body, status)
    if status == 401:
        raise LoginRequired
    detail = body.get("detail") if isinstance(body, dict) else None
    if status == 403:
        return Part("forbidden", None, status, detail)
    if status == 404:
        return Part("not_found", None, status, detail)
    if status in (502, 503, 504):
        return Part("unavailable", None, status, detail or f"the {service} service is unavailable")
    if 400 <= status < 500:  # what was asked (a cursor, a search) was refused: say why
        return Part("rejected", body, status, detail or f"HTTP {status}")
    return Part("error", body, status, detail or f"HTTP {status}")


class Api:
    """Calls on behalf of one signed-in user."""

    def __init__(self, request: Request, token: str | None, lang: str):
        self.request = request
        self.upstreams: Upstreams = request.app.state.upstreams
        self.headers = {
            "Accept-Language": lang,
            "X-Request-ID": getattr(request.state, "request_id", ""),
            "traceparent": getattr(request.state, "traceparent", ""),
        }
        self.headers = {k: v for k, v in self.headers.items() if v}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    async def get(self, service: str, path: str, **params: Any) -> Part:
        """GET a service path (None-valued parameters are left out)."""
        return await self.call("GET", service, path, params=params)

    async def call(
        self,
        method: str,
        service: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        content: str | bytes | IO[bytes] | None = None,
    ) -> Part:
        """One request; `service` is a service name or "gateway" for the gateway's own API.
        `content` is a raw body with its Content-Type header: a bulk upload's JSON lines, or
        an open file (an evidence upload), streamed from where it is spooled."""
        query = urlencode({k: v for k, v in (params or {}).items() if v is not None})
        target = path + (f"?{query}" if query else "")
        sent = {**self.headers, **(headers or {})}
        if service == "gateway":
            return await self._in_process(method, target, sent, json=json, form=form)
        base = self.upstreams.urls.get(service)
        if not base:
            return Part("unavailable", detail=f"the {service} service is not deployed yet")
        assert self.upstreams.session is not None
        timeout = PART_TIMEOUT if method == "GET" else WRITE_TIMEOUT
        if content is not None and not isinstance(content, str | bytes):
            timeout = FILE_TIMEOUT
        try:
            async with self.upstreams.session.request(
                method,
                base + target,
                headers=sent,
                json=json,
                data=content.encode() if isinstance(content, str) else content,
                timeout=timeout,
            ) as response:
                raw = await response.read()
                body = _json.loads(raw) if raw.strip() else None
                return _part(response.status, body, service)
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError):
            return Part("unavailable", detail=f"the {service} service did not answer")

    @asynccontextmanager
    async def stream(self, service: str, path: str) -> AsyncIterator[aiohttp.ClientResponse]:
        """GET a service path as the user and hold the raw answer open (a file streamed on
        to the browser, never whole in memory); raises `LoginRequired` on 401."""
        base = self.upstreams.urls.get(service)
        if not base or self.upstreams.session is None:
            raise aiohttp.ClientConnectionError(f"the {service} service is not deployed yet")
        async with self.upstreams.session.get(
            base + path, headers=self.headers, timeout=FILE_TIMEOUT
        ) as response:
            if response.status == 401:
                raise LoginRequired
            yield response

    async def download(self, path: str) -> httpx.Response:
        """A file from the gateway's own API (a dossier), as the user: the raw response."""
        client = self.request.client
        transport = httpx.ASGITransport(
            app=self.request.app, client=(client.host, client.port) if client else ("", 0)
        )
        async with httpx.AsyncClient(
            transport=transport, base_url="http://gateway", timeout=120
        ) as http:
            return await http.get(path, headers=self.headers)

    async def _in_process(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        *,
        json: Any = None,
        form: dict[str, str] | None = None,
    ) -> Part:
        client = self.request.client
        transport = httpx.ASGITransport(
            app=self.request.app, client=(client.host, client.port) if client else ("", 0)
        )
        async with httpx.AsyncClient(
            transport=transport, base_url="http://gateway", timeout=15
        ) as http:
            response = await http.request(method, target, headers=headers, json=json, data=form)
        try:
            body = response.json()
        except ValueError:
            body = None
        return _part(response.status_code, body, "gateway")

    async def count(self, service: str, path: str, **params: Any) -> tuple[Part, int, bool]:
        """How many items a list holds, walking its pages (no count endpoint exists):
        the last page's part, the count, and whether the walk stopped before the end."""
        total, cursor = 0, None
        for _ in range(MAX_COUNT_PAGES):
            part = await self.get(service, path, limit=500, cursor=cursor, **params)
            if not part.ok:
                return part, 0, False
            total += len(part.items)
            cursor = part.next_cursor
            if not cursor:
                return part, total, False
        return part, total, True

    async def all(self, service: str, path: str, **params: Any) -> Part:
        """Every item of a short list (zones, a zone's members) as one page-shaped part."""
        items: list[Any] = []
        cursor = None
        for _ in range(MAX_COUNT_PAGES):
            part = await self.get(service, path, limit=500, cursor=cursor, **params)
            if not part.ok:
                return part
            items += part.items
            cursor = part.next_cursor
            if not cursor:
                break
        return Part("ok", {"items": items, "next_cursor": cursor}, 200)


async def gather(**calls: Any) -> dict[str, Any]:
    """Run a page's fetches concurrently; a refused token anywhere asks for a new sign-in."""
    names = list(calls)
    results = await asyncio.gather(*calls.values(), return_exceptions=True)
    for result in results:
        if isinstance(result, LoginRequired):
            raise result
        if isinstance(result, BaseException):
            raise result
    return dict(zip(names, results, strict=True))
