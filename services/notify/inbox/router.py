"""Inbox endpoints."""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from kit.auth import Principal, require
from kit.db import SessionDep
from kit.pagination import Page, PageParams, page_params
from kit.problems import ProblemError
from kit.uscc import normalize
from services.notify.inbox import service
from services.notify.inbox.schemas import MessageOut, UnreadOut
from services.notify.subscriptions.service import owner_of

router = APIRouter(prefix="/v1/inbox", tags=["inbox"])
Reader = Annotated[Principal, Depends(require("notify:read"))]
Kind = Literal["warning", "precaution", "bulletin", "event", "system"]


def _recipient(principal: Principal, recipient: str | None) -> tuple[str, str]:
    """Your own inbox; an admin may open anyone's (`kind:who`)."""
    if recipient is None:
        return owner_of(principal)
    if not principal.is_admin:
        raise ProblemError(
            "forbidden",
            "only an admin opens another recipient's inbox",
            detail_zh="只有管理员可以打开他人的收件箱",
        )
    kind, _, who = recipient.partition(":")
    return kind, normalize(who) if kind == "enterprise" else who


@router.get("", summary="Your inbox", response_model=Page[MessageOut])
async def list_messages(
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    unread: Annotated[bool | None, Query()] = None,
    kind: Annotated[Kind | None, Query()] = None,
    recipient: Annotated[
        str | None,
        Query(
            max_length=220,
            pattern=r"^(agency|enterprise|inspector|office):.+$",
            description="Admin only: whose inbox, as kind:who (e.g. enterprise:9133…, "
            "agency:commerce)",
        ),
    ] = None,
) -> Page[MessageOut]:
    """Newest first, cursor-paged: risk warnings, precautionary notices, bulletins, event
    messages of inbox subscriptions, notices about disabled webhooks. The token decides
    whose inbox: an enterprise's, an inspector's, an agency's (or the office's)."""
    who = _recipient(principal, recipient)
    rows, cursor = await service.search(session, who, page=page, unread=unread, kind=kind)
    return Page(items=[MessageOut.model_validate(r) for r in rows], next_cursor=cursor)


@router.get("/unread", summary="How many unread", response_model=UnreadOut)
async def unread(session: SessionDep, principal: Reader) -> UnreadOut:
    """For a badge."""
    return UnreadOut(unread=await service.unread_count(session, owner_of(principal)))


@router.post(
    "/{message_id}/read",
    summary="Mark a message read",
    response_model=MessageOut,
    responses={404: {"description": "Not your message"}},
)
async def read(message_id: uuid.UUID, session: SessionDep, principal: Reader) -> MessageOut:
    """Read receipts count for bulletins."""
    message = await service.mark_read(session, message_id, owner_of(principal))
    return MessageOut.model_validate(message)
