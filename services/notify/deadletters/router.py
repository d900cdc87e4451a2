"""Dead-letter endpoints (admin): list the DEADLETTER stream, retry or drop a message.

A retry is a request on `retry.<consumer>`: the service owning that consumer applies the
letter itself (notify never publishes another service's events).
"""

from __future__ import annotations

import contextlib
import json
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from nats.js.errors import APIError, NotFoundError
from pydantic import BaseModel, Field

from kit.auth import Principal, require
from kit.inbox import DEAD_LETTER_PREFIX, DEAD_LETTER_STREAM, RETRY_PREFIX
from kit.pagination import Page, PageParams, encode_cursor, page_params
from kit.problems import NotFound, ProblemError

router = APIRouter(prefix="/v1/dead-letters", tags=["dead letters"])
Admin = Annotated[Principal, Depends(require("admin"))]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such dead letter"}}
MAX_SEQ = 2**63 - 1  # a stream sequence is an unsigned 64-bit number; JSON-safe below this


class DeadLetter(BaseModel):
    """A message a consumer gave up on."""

    seq: int = Field(description="Its sequence in the DEADLETTER stream")
    consumer: str | None
    original_subject: str | None
    error: str | None
    deliveries: int | None
    event_id: str | None
    event_type: str | None
    time: datetime | None
    data: dict[str, Any] | None


class DeadLetterPage(Page[DeadLetter]):
    """A page, oldest first; pass `next_cursor` back as `cursor` for the next (null at the
    end). `total` counts every dead letter now in the stream."""

    total: int


def _js(request: Request) -> Any:
    nats = request.app.state.nats
    if nats is None or not nats.connected:
        raise ProblemError(
            "service-unavailable",
            "the message broker is not reachable",
            detail_zh="无法连接消息中间件",
        )
    return nats.js


def _view(seq: int, msg: Any) -> DeadLetter:
    """What a dead letter holds, taking only well-typed values (it may be any bytes)."""
    # Header values may come back as email.header.Header objects when they are not plain
    # ASCII (dead letters written by older code or by hand): read every one as text.
    headers = {str(k): str(v) for k, v in (msg.headers or {}).items()}
    try:
        event = json.loads(msg.data)
    except ValueError:
        event = {}
    if not isinstance(event, dict):
        event = {}

    def text(key: str) -> str | None:
        value = event.get(key)
        return value[:200] if isinstance(value, str) else None

    try:
        when = datetime.fromisoformat(str(event.get("time")))
    except ValueError:
        when = None
    deliveries = headers.get("X-Deliveries")
    return DeadLetter(
        seq=seq,
        consumer=headers.get("X-Consumer"),
        original_subject=headers.get("X-Original-Subject"),
        error=headers.get("X-Error"),
        deliveries=int(deliveries) if deliveries and deliveries.isdigit() else None,
        event_id=text("id"),
        event_type=text("type"),
        time=when,
        data=event.get("data") if isinstance(event.get("data"), dict) else None,
    )


@router.get("", summary="Dead letters", response_model=DeadLetterPage)
async def list_dead_letters(
    request: Request,
    principal: Admin,
    page: Annotated[PageParams, Depends(page_params)],
) -> DeadLetterPage:
    """Events that failed handling `max_deliver` times, with the consumer and the error."""
    after = 0
    if page.cursor is not None:
        after = page.cursor.get("seq")  # type: ignore[assignment]
        if not isinstance(after, int) or not 0 <= after <= MAX_SEQ:
            raise ProblemError(
                "bad-request",
                "cursor is not one this list issued",
                detail_zh="翻页游标不是本列表签发的",
            )
    js = _js(request)
    info = await js.stream_info(DEAD_LETTER_STREAM)
    items: list[DeadLetter] = []
    seq = max(after + 1, info.state.first_seq)
    while seq <= info.state.last_seq and len(items) < page.limit:
        with contextlib.suppress(NotFoundError):  # retried (deleted) at this sequence
            items.append(_view(seq, await js.get_msg(DEAD_LETTER_STREAM, seq)))
        seq += 1
    more = items and seq <= info.state.last_seq
    return DeadLetterPage(
        items=items,
        next_cursor=encode_cursor({"seq": items[-1].seq}) if more else None,
        total=info.state.messages,
    )


@router.post(
    "/{seq}/retry",
    summary="Retry a dead letter",
    status_code=202,
    response_model=DeadLetter,
    responses=NOT_FOUND,
)
async def retry(
    request: Request, principal: Admin, seq: Annotated[int, Path(ge=1, le=MAX_SEQ)]
) -> DeadLetter:
    """Ask the service whose consumer gave up on it to apply it again (202). That service
    reads the letter itself, checks it as it checks every event, and applies it through the
    same consumer and inbox (at most once); when it applies, it leaves the list. One that
    fails again stays, with its first error (fix the cause, then retry)."""
    js = _js(request)
    try:
        msg = await js.get_msg(DEAD_LETTER_STREAM, seq)
    except (NotFoundError, APIError) as exc:
        raise NotFound("dead letter", str(seq)) from exc
    view = _view(seq, msg)
    if not view.consumer or msg.subject != f"{DEAD_LETTER_PREFIX}.{view.consumer}":
        raise ProblemError(
            "conflict",
            "the dead letter does not name the consumer it came from",
            detail_zh="该死信未注明其来源的消费者",
        )
    await js.publish(
        f"{RETRY_PREFIX}.{view.consumer}",
        json.dumps({"seq": seq}).encode(),
        headers={"Nats-Msg-Id": f"retry:{seq}:{uuid.uuid4()}"},
    )
    return view
