"""`Idempotency-Key` on POST: replay the stored response for the same key and request.

Keys are scoped to the caller (token subject) and kept for 24 hours. Same key + same method,
path and body → the first response is replayed with `Idempotent-Replayed: true`; same key +
a different request → 422; a second request while the first is still running → 409.
Responses with a 5xx status are not stored, so a failed request can be retried with its key.
The record is written in its own transaction around the request's: if the process dies after
the request committed but before its response was stored, the key stays "in flight" and the
client gets 409 until the key expires (24 h); it never re-executes the request.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import LargeBinary, SmallInteger, String, bindparam, delete, null, select, update
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.orm import Mapped, mapped_column
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kit.auth import principal_of_scope
from kit.db import Base, Prepared, utcnow
from kit.problems import ProblemError, content_language, is_outage, problem_body

log = logging.getLogger("kit.idempotency")

TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 255
STORED_HEADERS = {b"content-type", b"etag", b"location"}


class IdempotencyRecord(Base):
    """A POST seen with an Idempotency-Key, and its response once complete."""

    __tablename__ = "idempotency_keys"

    principal: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    headers: Mapped[list[list[str]] | None] = mapped_column(JSONB, default=None)
    body: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdempotencyMiddleware:
    """ASGI middleware; needs `app.state.sessionmaker` and `app.state.verifier`."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", [])) if scope["type"] == "http" else {}
        key_raw = headers.get(b"idempotency-key")
        if scope["type"] != "http" or scope["method"] != "POST" or key_raw is None:
            await self.app(scope, receive, send)
            return
        key = key_raw.decode("latin-1").strip()
        lang = headers.get(b"accept-language", b"").decode("latin-1")
        if not key or len(key) > MAX_KEY_LENGTH:
            await _send_problem(
                send,
                scope,
                lang,
                ProblemError(
                    "bad-request",
                    f"Idempotency-Key must be 1–{MAX_KEY_LENGTH} characters",
                    detail_zh=f"Idempotency-Key 的长度应为 1–{MAX_KEY_LENGTH} 个字符",
                ),
            )
            return
        caller = await principal_of_scope(scope)
        principal = caller.subject if caller is not None else None
        if principal is None:  # unauthenticated: let the route answer 401
            await self.app(scope, receive, send)
            return

        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()  # never go on with half a body
            body += message.get("body", b"")
            more = message.get("more_body", False)
        fingerprint = hashlib.sha256(
            b"\n".join(
                [
                    scope["method"].encode(),
                    scope["path"].encode(),
                    scope.get("query_string", b""),
                    bytes(body),
                ]
            )
        ).hexdigest()

        app_state = scope["app"].state
        maker = app_state.sessionmaker
        try:
            existing = await _claim(maker, principal, key, fingerprint)
        except Exception as exc:
            if not is_outage(exc):
                raise
            await _send_problem(
                send,
                scope,
                lang,
                ProblemError(
                    "service-unavailable",
                    "the database is unavailable; retry later",
                    detail_zh="数据库暂不可用；请稍后重试",
                ),
            )
            return
        if existing is not None:
            await self._answer_existing(send, scope, lang, existing, fingerprint)
            return

        sent_body = False

        async def replay_receive() -> Message:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        captured: dict[str, Any] = {"status": 500, "headers": [], "body": bytearray()}
        stored = False

        async def store() -> None:
            nonlocal stored
            if stored:
                return
            stored = True
            try:
                await _complete(maker, principal, key, captured)
            except Exception:
                log.exception("could not store the response for Idempotency-Key %s", key)

        async def capture_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = [
                    [k.decode("latin-1"), v.decode("latin-1")]
                    for k, v in message.get("headers", [])
                    if k.lower() in STORED_HEADERS
                ]
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
                if not message.get("more_body", False):
                    # Stored before the client sees the end of the response, so a retry
                    # sent the moment it arrives finds the record complete.
                    await store()
            await send(message)

        try:
            await self.app(scope, replay_receive, capture_send)
        finally:
            await store()  # no complete response (an error): release or record what there is

    async def _answer_existing(
        self, send: Send, scope: Scope, lang: str, record: IdempotencyRecord, fingerprint: str
    ) -> None:
        if record.fingerprint != fingerprint:
            await _send_problem(
                send,
                scope,
                lang,
                ProblemError(
                    "idempotency-mismatch",
                    "this Idempotency-Key was already used for a different request; use a new key",
                    detail_zh="此 Idempotency-Key 已用于另一个不同的请求；请换用新的键",
                ),
            )
            return
        if record.status is None:
            await _send_problem(
                send,
                scope,
                lang,
                ProblemError(
                    "idempotency-in-flight",
                    "the first request with this Idempotency-Key has not finished; retry shortly",
                    detail_zh="使用此 Idempotency-Key 的首个请求尚未完成；请稍后重试",
                ),
            )
            return
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in record.headers or []]
        headers.append((b"idempotent-replayed", b"true"))
        await send({"type": "http.response.start", "status": record.status, "headers": headers})
        await send({"type": "http.response.body", "body": record.body or b""})


# The claim in one statement: a new key's in-flight record, or an expired record of the
# same key replaced by it; nothing when the key is taken (then, rarely, the record is read).
_CLAIM = Prepared(
    insert(IdempotencyRecord)
    .values(
        principal=bindparam("principal"),
        key=bindparam("key"),
        fingerprint=bindparam("fingerprint"),
        created_at=bindparam("now", type_=IdempotencyRecord.created_at.type),
    )
    .on_conflict_do_update(
        index_elements=[IdempotencyRecord.principal, IdempotencyRecord.key],
        set_={
            "fingerprint": bindparam("fingerprint"),
            "status": null(),
            "headers": null(),
            "body": null(),
            "created_at": bindparam("now", type_=IdempotencyRecord.created_at.type),
        },
        where=IdempotencyRecord.created_at < bindparam("expired_before"),
    )
    .returning(IdempotencyRecord.key)
)
_WHERE = (
    IdempotencyRecord.principal == bindparam("principal"),
    IdempotencyRecord.key == bindparam("key"),
)
_RECORD = Prepared(select(IdempotencyRecord.__table__).where(*_WHERE))
_COMPLETE = Prepared(
    update(IdempotencyRecord)
    .where(*_WHERE)
    .values(status=bindparam("status"), headers=bindparam("headers"), body=bindparam("body"))
)
_RELEASE = Prepared(delete(IdempotencyRecord).where(*_WHERE))


async def _claim(
    maker: Any, principal: str, key: str, fingerprint: str
) -> IdempotencyRecord | None:
    """Insert an in-flight record; return the existing one if the key is taken. Each
    statement is its own transaction (kit.db.Prepared on a session that ran nothing else):
    the claim is one round trip."""
    now = utcnow()
    async with maker() as session:
        claimed = await _CLAIM.all(
            session,
            principal=principal,
            key=key,
            fingerprint=fingerprint,
            now=now,
            expired_before=now - TTL,
        )
        if claimed:
            return None
        rows = await _RECORD.all(session, principal=principal, key=key)
    # taken a moment ago and released since (a 5xx): answer as in flight, the client retries
    return IdempotencyRecord(**rows[0]) if rows else IdempotencyRecord(fingerprint=fingerprint)


async def _complete(maker: Any, principal: str, key: str, captured: dict[str, Any]) -> None:
    """Store a final response, or release the key after a server error (one statement)."""
    async with maker() as session:
        if captured["status"] >= 500:
            await _RELEASE.all(session, principal=principal, key=key)
        else:
            await _COMPLETE.all(
                session,
                principal=principal,
                key=key,
                status=captured["status"],
                headers=captured["headers"],
                body=bytes(captured["body"]),
            )


async def _send_problem(send: Send, scope: Scope, lang: str, error: ProblemError) -> None:
    body = problem_body(
        error.slug,
        error.detail,
        status=error.status,
        accept_language=lang,
        instance=scope["path"],
        request_id=scope.get("state", {}).get("request_id"),
        extensions=error.extensions,
        detail_zh=error.detail_zh,
    )
    payload = json.dumps(body, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-language", content_language(lang).encode()),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
