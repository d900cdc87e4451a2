"""Audits every write and every denied request, before the client sees the response end."""

from __future__ import annotations

import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kit.auth import principal_of_scope

log = logging.getLogger("gateway.audit")

READS = {"GET", "HEAD", "OPTIONS"}
DENIED = {401, 403, 429}


def object_key(path: str) -> str | None:
    """The object a `/v1/<resource>/<key>/…` path names, if any."""
    parts = [p for p in path.split("/") if p]
    return parts[2][:200] if len(parts) >= 3 and parts[0] == "v1" else None


class AuditMiddleware:
    """Needs `app.state.audit` (an `AuditWriter`) and `app.state.verifier`."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        written = False

        async def audit() -> None:
            nonlocal written
            if written or (scope["method"] in READS and status not in DENIED):
                return
            written = True
            try:
                await scope["app"].state.audit.append(await _entry(scope, status))
            except Exception:
                log.exception("audit entry could not be written")

        async def auditing_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                await audit()
            await send(message)

        try:
            await self.app(scope, receive, auditing_send)
        finally:
            await audit()


async def _entry(scope: Scope, status: int) -> dict[str, Any]:
    principal = await principal_of_scope(scope)
    outcome = "denied" if status in DENIED else "failed" if status >= 400 else "success"
    return {
        "request_id": scope.get("state", {}).get("request_id", ""),
        "actor": principal.subject if principal else None,
        "agency": principal.agency if principal else None,
        "uscc": principal.uscc if principal else None,
        "inspector_id": principal.inspector_id if principal else None,
        "method": scope["method"],
        "path": scope["path"][:2000],
        "object_key": object_key(scope["path"]),
        "status": status,
        "outcome": outcome,
    }
