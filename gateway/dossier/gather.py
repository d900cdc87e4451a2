"""Gathers a zone's acceptance dossier from registry and inspection.

Like the composite profile (gateway/profile.py), every call carries the caller's own token,
so each service applies its own access rules. The zone itself is required (its 404 or 403
is the dossier's answer); every other part whose service is down, slow or refuses is kept
as *unavailable* with the reason, so the dossier still renders and says what is missing.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
from starlette.requests import Request

from gateway.proxy import Upstreams
from kit.problems import CATALOG, NotFound, ProblemError
from kit.validation import CHINA

PAGE_TIMEOUT = aiohttp.ClientTimeout(total=10, connect=2)
PAGE_LIMIT = 500
MAX_ITEMS = 5000  # a zone has tens of members; this only bounds a runaway listing
MAX_YEARS = 12  # KPI years shown: the plan's first year (or the zone's creation) to now
PER_MEMBER_CONCURRENCY = 8
ZONE_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{1,59}")  # registry's ZoneIn.code


class Unavailable(Exception):
    """A part could not be had: its service is down or answered with an error."""

    def __init__(self, service: str, reason: str, status: int = 0, body: Any = None):
        super().__init__(reason)
        self.service = service
        self.reason = reason
        self.status = status
        self.body = body if isinstance(body, dict) else {}


class Listing(list[dict[str, Any]]):
    """A fetched list that knows whether MAX_ITEMS cut it short."""

    truncated = False


@dataclass
class Part:
    """One section's data, or why it is missing; `truncated` when only the first MAX_ITEMS
    of a list are in it."""

    data: Any = None
    error: str | None = None
    truncated: bool = False

    @property
    def ok(self) -> bool:
        """True when the data is there."""
        return self.error is None


@dataclass
class Dossier:
    """Everything the renderers need, already fetched."""

    zone: dict[str, Any]
    generated_at: datetime
    transitions: Part = field(default_factory=Part)
    members: Part = field(default_factory=Part)
    kpis: Part = field(default_factory=Part)
    alerts: Part = field(default_factory=Part)
    commitments: Part = field(default_factory=Part)
    tasks: Part = field(default_factory=Part)
    capas: Part = field(default_factory=Part)

    @property
    def member_names(self) -> dict[str, str]:
        """USCC → name of the members (empty when the member list is unavailable)."""
        if not self.members.ok:
            return {}
        return {m["uscc"]: m.get("name") or m["uscc"] for m in self.members.data}


class _Client:
    """GETs to the services with the caller's headers."""

    def __init__(self, request: Request):
        self.upstreams: Upstreams = request.app.state.upstreams
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() in ("authorization", "accept-language")
        }
        headers["X-Request-ID"] = request.state.request_id
        headers["traceparent"] = request.state.traceparent
        self.headers = headers

    async def get(self, service: str, path: str, **query: Any) -> Any:
        """One JSON answer; Unavailable for anything but a 200."""
        base = self.upstreams.urls.get(service)
        if not base:
            raise Unavailable(service, f"the {service} service is not deployed")
        assert self.upstreams.session is not None
        params = {k: v for k, v in query.items() if v is not None}
        url = base + path + (f"?{urlencode(params)}" if params else "")
        try:
            async with self.upstreams.session.get(
                url, headers=self.headers, timeout=PAGE_TIMEOUT
            ) as response:
                body = await response.json(content_type=None)
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            raise Unavailable(service, f"the {service} service did not answer") from exc
        if status != 200:
            detail = body.get("detail") if isinstance(body, dict) else None
            reason = f"{service} answered {status}" + (f": {detail}" if detail else "")
            raise Unavailable(service, reason, status, body)
        return body

    async def items(self, service: str, path: str, **query: Any) -> Listing:
        """Every item of a cursor-paged list, or its first MAX_ITEMS (then `truncated`)."""
        out = Listing()
        cursor = None
        for _ in range(-(-MAX_ITEMS // PAGE_LIMIT)):  # pages, even if a page comes back empty
            page = await self.get(service, path, limit=PAGE_LIMIT, cursor=cursor, **query)
            out.extend(page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return out
            if len(out) >= MAX_ITEMS:
                break
        del out[MAX_ITEMS:]
        out.truncated = True
        return out


async def _part(work: Any) -> Part:
    try:
        data = await work
    except Unavailable as exc:
        return Part(error=exc.reason)
    return Part(data=data, truncated=isinstance(data, Listing) and data.truncated)


def kpi_years(zone: dict[str, Any], now: datetime) -> list[int]:
    """The years whose KPIs the dossier shows: from the plan's start (else the zone's
    creation) to this year in China time, at most MAX_YEARS of the latest."""
    this_year = now.astimezone(CHINA).year
    start = zone.get("plan_start") or zone.get("created_at") or ""
    try:
        first = int(str(start)[:4])
    except ValueError:
        first = this_year
    first = max(min(first, this_year), this_year - MAX_YEARS + 1)
    return list(range(first, this_year + 1))


async def _kpis(client: _Client, code: str, years: list[int]) -> list[dict[str, Any]]:
    pages = await asyncio.gather(
        *(client.get("inspection", "/v1/risk/kpis", zone=code, year=y) for y in years)
    )
    rows = []
    for year, page in zip(years, pages, strict=True):
        item = next((i for i in page["items"] if i.get("zone") == code), None)
        rows.append(item or {"year": year, "zone": code, "enterprises": 0})
    return rows


async def _per_member(
    client: _Client, members: Part, service: str, template: str, **query: Any
) -> Listing:
    """One list per member, concurrently but bounded (tasks, CAPAs and commitments have no
    zone filter in their services, only an enterprise one)."""
    if not members.ok:
        raise Unavailable("registry", "the member list is unavailable")
    gate = asyncio.Semaphore(PER_MEMBER_CONCURRENCY)

    async def one(uscc: str) -> Listing:
        async with gate:
            if "{uscc}" in template:
                return await client.items(service, template.format(uscc=quote(uscc, safe="")))
            return await client.items(service, template, uscc=uscc, **query)

    lists = await asyncio.gather(*(one(m["uscc"]) for m in members.data))
    out = Listing(item for items in lists for item in items)
    out.truncated = members.truncated or any(items.truncated for items in lists)
    return out


async def gather_dossier(request: Request, code: str, *, now: datetime) -> Dossier:
    """The zone (required: its problem is raised as the dossier's) and every other part."""
    if not ZONE_CODE.fullmatch(code):  # never a path of our making to the services
        raise NotFound("zone", code)
    client = _Client(request)
    zone_path = f"/v1/zones/{quote(code, safe='')}"
    try:
        zone = await client.get("registry", zone_path)
    except Unavailable as exc:
        if 400 <= exc.status < 500:  # 401, 403, 404 … from registry's own checks: passed on
            slug = str(exc.body.get("type", "")).rsplit("/", 1)[-1]
            raise ProblemError(
                slug if slug in CATALOG else "not-found",
                str(exc.body.get("detail") or exc.reason),
                status=exc.status,
            ) from exc
        error = ProblemError(
            "service-unavailable", "the registry service is unavailable; retry later"
        )
        error.headers["Retry-After"] = "5"
        raise error from exc
    years = kpi_years(zone, now)
    transitions, members, kpis, alerts = await asyncio.gather(
        _part(client.items("registry", f"{zone_path}/transitions")),
        _part(client.items("registry", "/v1/enterprises", zone=code)),
        _part(_kpis(client, code, years)),
        _part(client.items("inspection", "/v1/risk/alerts", zone=code)),
    )
    commitments, tasks, capas = await asyncio.gather(
        _part(_per_member(client, members, "registry", "/v1/enterprises/{uscc}/commitments")),
        _part(_per_member(client, members, "inspection", "/v1/tasks")),
        _part(_per_member(client, members, "inspection", "/v1/capas")),
    )
    if commitments.ok:
        commitments.data = [c for c in commitments.data if c.get("zone_code") == code]
    return Dossier(
        zone=zone,
        generated_at=now,
        transitions=transitions,
        members=members,
        kpis=kpis,
        alerts=alerts,
        commitments=commitments,
        tasks=tasks,
        capas=capas,
    )
