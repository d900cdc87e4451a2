"""Composite view: an enterprise's profile from every service, fetched concurrently.

Each part is fetched with the caller's own token, so each service applies its own rules
(an enterprise token still sees only its own enterprise). A part whose service is down or
not deployed is marked unavailable and the profile says it is partial; only the registry
part is required.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from gateway.proxy import Upstreams
from kit.problems import content_language, problem_response
from kit.uscc import normalize
from kit.validation import UsccPath

router = APIRouter(tags=["composite"])
PART_TIMEOUT = aiohttp.ClientTimeout(total=3, connect=1)

# part -> (service, path template)
PARTS: dict[str, tuple[str, str]] = {
    "enterprise": ("registry", "/v1/enterprises/{uscc}"),
    "memberships": ("registry", "/v1/memberships?uscc={uscc}&limit=100"),
    "commitments": ("registry", "/v1/enterprises/{uscc}/commitments?limit=100"),
    "credit": ("credit", "/v1/credit/enterprises/{uscc}"),
    "open_tasks": ("inspection", "/v1/tasks?uscc={uscc}&status=open&limit=100"),
    "open_alerts": ("inspection", "/v1/risk/alerts?uscc={uscc}&status=open&limit=100"),
}


async def _part(
    upstreams: Upstreams, service: str, path: str, headers: dict[str, str]
) -> tuple[int, Any]:
    base = upstreams.urls.get(service)
    if not base:
        return 0, {"status": "unavailable", "detail": f"the {service} service is not deployed yet"}
    assert upstreams.session is not None
    try:
        async with upstreams.session.get(
            base + path, headers=headers, timeout=PART_TIMEOUT
        ) as response:
            body = await response.json(content_type=None)
            return response.status, body
    except (aiohttp.ClientError, TimeoutError, OSError, ValueError):
        return 0, {"status": "unavailable", "detail": f"the {service} service did not answer"}


@router.get(
    "/v1/enterprises/{uscc}/profile",
    summary="An enterprise's whole profile (composite, degrades per part)",
    responses={404: {"description": "Enterprise not found"}},
)
async def profile(uscc: UsccPath, request: Request) -> JSONResponse:
    """Registry data, memberships, commitments, credit, open tasks and alerts in one answer."""
    key = normalize(uscc)
    headers = {
        k: v
        for k, v in request.headers.items()
        if k.lower() in ("authorization", "accept-language")
    }
    headers["X-Request-ID"] = request.state.request_id
    headers["traceparent"] = request.state.traceparent
    upstreams: Upstreams = request.app.state.upstreams
    results = await asyncio.gather(
        *(
            _part(upstreams, service, template.format(uscc=key), headers)
            for service, template in PARTS.values()
        )
    )
    answers = dict(zip(PARTS, results, strict=True))
    status, enterprise = answers["enterprise"]
    if status == 0 or status >= 500:
        return problem_response(
            request,
            "service-unavailable",
            "the registry service is unavailable; retry later",
            detail_zh="registry 服务暂不可用；请稍后重试",
            headers={"Retry-After": "5"},
        )
    if status >= 400:  # 401, 403, 404 … from the registry's own checks: pass them on
        return JSONResponse(
            enterprise,
            status_code=status,
            media_type="application/problem+json",
            headers={"Content-Language": content_language(request.headers.get("accept-language"))},
        )
    parts: dict[str, Any] = {}
    for name, (code, body) in answers.items():
        if code == 200:
            parts[name] = {"status": "ok", "data": body}
        elif code == 0:
            parts[name] = body
        else:
            parts[name] = {"status": "error", "http_status": code, "detail": body.get("detail")}
    complete = all(p["status"] == "ok" for p in parts.values())
    return JSONResponse(
        {
            "uscc": key,
            "status": "complete" if complete else "partial",
            "parts": parts,
        }
    )
