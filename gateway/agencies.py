"""Member agencies, as registry knows them: a client or user carries only one of these.

The gateway imports no service, so it asks registry's own API (`GET /v1/agencies/{code}`)
through its upstreams, with a short-lived token of its own (`registry:read`), at the moment
a client or user is created. Creating one is a rare administrative act, so a fresh answer is
cheap, and asking beats a mirror: no consumer, table or replay lag to keep in step, and an
agency registry added a moment ago is known at once. Registry down means 503, never a
client bound to an agency nobody vouched for.
"""

from __future__ import annotations

from urllib.parse import quote

import aiohttp
from fastapi import Request

from gateway.proxy import Upstreams
from kit.problems import ProblemError, invalid

LOOKUP_TIMEOUT = aiohttp.ClientTimeout(total=5, connect=2)


async def ensure_known(request: Request, agency: str | None) -> None:
    """422 naming `agency` when registry has no member agency of that code; 503 when
    registry cannot say."""
    if agency is None:
        return
    upstreams: Upstreams = request.app.state.upstreams
    base = upstreams.urls.get("registry")
    if not base or upstreams.session is None:
        raise ProblemError(
            "service-unavailable",
            "registry cannot be asked about agencies",
            detail_zh="无法向 registry 服务查询部门",
        )
    token, _ = upstreams.signer.issue(subject="gateway", scopes=["registry:read"])
    path = f"/v1/agencies/{quote(agency, safe='')}"
    # the pooled session signs the gateway's assertion onto the request itself
    headers = {"Authorization": f"Bearer {token}", "X-Request-ID": request.state.request_id}
    try:
        async with upstreams.session.get(
            base + path, headers=headers, timeout=LOOKUP_TIMEOUT
        ) as response:
            status = response.status
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise ProblemError(
            "service-unavailable",
            "registry did not answer about agencies",
            detail_zh="registry 服务未答复部门查询",
        ) from exc
    if status == 404:
        raise invalid(
            "agency",
            f"'{agency}' is not a member agency registry knows",
            f"“{agency}”不是已登记的部门",
        )
    if status != 200:
        raise ProblemError(
            "service-unavailable",
            f"registry answered {status} when asked about an agency",
            detail_zh=f"registry 服务查询部门时答复 {status}",
        )
