"""Audits every write before it is forwarded and again when it is answered, and every denied
request: no write is acknowledged without its record.

A write (any method but GET, HEAD and OPTIONS) is first recorded as an intent; only once that
is committed does the request go on (to the rate limit, the routes, the proxy). If the
intent cannot be written (the gateway's database is away), the write is refused with a 503
and `Retry-After` and never reaches a service: an outage costs writes availability, never
audit completeness. Its outcome is recorded before the response's last byte is sent. If
that fails, the write has already happened upstream and the client gets its real answer:
the intent stands for the write (`/v1/audit/verify` counts it as unfinished), and the
failure is logged as an error with the intent's seq. Reads are not audited unless denied;
a denied read's record is best effort (it changed nothing).
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kit.auth import Principal, principal_of_scope
from kit.failpoints import failpoint
from kit.problems import problem_response

log = logging.getLogger("gateway.audit")

READS = {"GET", "HEAD", "OPTIONS"}
DENIED = {401, 403, 429}
RETRY_AFTER_S = 5
# Request-state keys a route without a token sets to name its actor (a login) for the outcome.
AUDIT_ACTOR = "audit_actor"
AUDIT_AGENCY = "audit_agency"
CLIENT_GONE = 499  # nginx's "client closed request": the client left before the answer


PRINCIPAL = "gateway_principal"  # request-state key: the caller, once verified


async def caller_of(scope: Scope) -> Principal | None:
    """The verified caller (`principal_of_scope`), looked up once per request: the audit and
    the rate limit both need it, and the second asks the request's state."""
    state = scope.setdefault("state", {})
    if PRINCIPAL not in state:
        state[PRINCIPAL] = await principal_of_scope(scope)
    principal: Principal | None = state[PRINCIPAL]
    return principal


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
        writer = scope["app"].state.audit
        principal = await caller_of(scope)
        write = scope["method"] not in READS
        intent_seq: int | None = None
        if write:
            try:
                intent_seq = await writer.append(_entry(scope, principal, phase="intent"))
            except Exception as exc:
                log.warning("write refused: the audit log cannot record it (%r)", exc)
                response = problem_response(
                    Request(scope),
                    "service-unavailable",
                    "the audit log cannot record this write now, so it was not forwarded; "
                    "retry later",
                    detail_zh="审计日志暂时无法记录此写操作，因此未转发；请稍后重试",
                    headers={"Retry-After": str(RETRY_AFTER_S)},
                    retry_after_s=RETRY_AFTER_S,
                )
                await response(scope, receive, send)
                return
        status: int | None = None
        recorded = False

        async def record(final: int) -> None:
            nonlocal recorded
            if recorded or (not write and final not in DENIED):
                return
            recorded = True
            if write:
                failpoint("audit.after_forward")
            entry = _entry(scope, principal, phase="outcome", status=final, intent_seq=intent_seq)
            try:
                await writer.append(entry)
            except Exception:
                if write:
                    log.exception(
                        "outcome %d of the write %s %s not recorded; its intent (seq %s) "
                        "stands for it",
                        final,
                        scope["method"],
                        scope["path"],
                        intent_seq,
                    )
                else:
                    log.warning("denied request %s not recorded", scope["path"], exc_info=True)

        async def auditing_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                await record(status or 500)
            await send(message)

        failure: BaseException | None = None
        try:
            await self.app(scope, receive, auditing_send)
        except BaseException as exc:
            failure = exc
            raise
        finally:
            await record(_final_status(scope, failure, status))


def _final_status(scope: Scope, failure: BaseException | None, status: int | None) -> int:
    """How a request ended that raised or returned before its last byte."""
    if scope.get("state", {}).get("body_too_large"):
        return 413
    if isinstance(failure, ClientDisconnect):
        return CLIENT_GONE
    return status or 500


def _entry(
    scope: Scope,
    principal: Principal | None,
    *,
    phase: str,
    status: int | None = None,
    intent_seq: int | None = None,
) -> dict[str, Any]:
    outcome = (
        None
        if status is None
        else "denied"
        if status in DENIED
        else "failed"
        if status >= 400
        else "success"
    )
    state = scope.get("state", {})
    # a login carries no token yet: the token endpoint names who signed in (or tried to)
    return {
        "phase": phase,
        "intent_seq": intent_seq,
        "request_id": state.get("request_id", ""),
        # the column's width: a long name typed at a login must not keep its row out
        "actor": (principal.subject if principal else state.get(AUDIT_ACTOR) or "")[:100] or None,
        "agency": principal.agency if principal else state.get(AUDIT_AGENCY),
        "uscc": principal.uscc if principal else None,
        "inspector_id": principal.inspector_id if principal else None,
        "method": scope["method"],
        "path": scope["path"][:2000],
        "object_key": object_key(scope["path"]),
        "status": status,
        "outcome": outcome,
    }
