"""Writing messages (rendered from templates), reading and marking them."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.db import utcnow
from kit.ids import uuid7
from kit.pagination import PageParams, keyset_page
from kit.problems import NotFound
from services.notify.inbox.models import Message
from services.notify.templates import service as templates
from services.notify.templates.models import Template


@dataclass(frozen=True)
class Recipient:
    """Who gets a message, in which language."""

    kind: str  # agency, enterprise, inspector, office
    who: str
    language: str = "zh-CN"


async def wording(session: AsyncSession, code: str) -> dict[str, tuple[str, str]]:
    """Title and body per language: the office's saved templates over the defaults."""
    chosen = {lang: templates.DEFAULTS[(code, lang)] for lang in templates.LANGUAGES}
    for row in await session.scalars(select(Template).where(Template.code == code)):
        chosen[row.language] = (row.title, row.body)
    return chosen


async def send(
    session: AsyncSession,
    code: str,
    kind: str,
    recipients: Sequence[Recipient],
    variables: Mapping[str, Any] | None = None,
    *,
    per_language: Mapping[str, Mapping[str, Any]] | None = None,
    event_id: uuid.UUID | None = None,
    bulletin_id: uuid.UUID | None = None,
    data: dict[str, Any] | None = None,
) -> int:
    """One message per recipient, in the recipient's language; one INSERT for all."""
    if not recipients:
        return 0
    texts = await wording(session, code)
    now = utcnow()
    rows = []
    for r in recipients:
        values = {**(variables or {}), **((per_language or {}).get(r.language, {}))}
        title, body = templates.render(*texts[r.language], values)
        rows.append(
            {
                "id": uuid7(),
                "recipient_kind": r.kind,
                "recipient": r.who,
                "kind": kind,
                "language": r.language,
                "title": title[:500],
                "body": body,
                "data": data or {},
                "event_id": event_id,
                "bulletin_id": bulletin_id,
                "read_at": None,
                "created_at": now,
            }
        )
    await session.execute(insert(Message), rows)
    return len(rows)


async def search(
    session: AsyncSession,
    recipient: tuple[str, str],
    *,
    page: PageParams,
    unread: bool | None,
    kind: str | None,
) -> tuple[list[Message], str | None]:
    """A recipient's messages, newest first."""
    query = select(Message).where(
        Message.recipient_kind == recipient[0], Message.recipient == recipient[1]
    )
    if unread is not None:
        query = query.where(Message.read_at.is_(None) if unread else Message.read_at.is_not(None))
    if kind:
        query = query.where(Message.kind == kind)
    return await keyset_page(session, query, keys=[Message.id], page=page, descending=True)


async def mark_read(
    session: AsyncSession, message_id: uuid.UUID, recipient: tuple[str, str]
) -> Message:
    """Read state; reading twice keeps the first time."""
    message = await session.get(Message, message_id, with_for_update=True)
    if message is None or (message.recipient_kind, message.recipient) != recipient:
        raise NotFound("message", str(message_id))
    if message.read_at is None:
        message.read_at = utcnow()
        await session.flush()
    return message


async def unread_count(session: AsyncSession, recipient: tuple[str, str]) -> int:
    """How many are unread."""
    return int(
        await session.scalar(
            select(func.count()).where(
                Message.recipient_kind == recipient[0],
                Message.recipient == recipient[1],
                Message.read_at.is_(None),
            )
        )
        or 0
    )
