"""Inbox API shapes."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class MessageOut(BaseModel):
    """A message."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    recipient_kind: str
    recipient: str
    kind: str
    language: str
    title: str
    body: str
    data: dict[str, Any]
    event_id: uuid.UUID | None
    bulletin_id: uuid.UUID | None
    read_at: datetime | None
    created_at: datetime


class UnreadOut(BaseModel):
    """Unread messages."""

    unread: int
