"""Inspection tasks: one drawn enterprise, its inspectors, and the result."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    ForeignKey,
    Index,
    String,
    Uuid,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from kit.db import utcnow
from kit.ids import uuid7
from services.inspection.base import Base

# A task's `change` is the id of the transaction that last wrote it. Officer sync hands out
# only changes of transactions older than every one still running, so a change committed
# late is never skipped (a sequence number could be: it is taken before the commit).
WRITER_XID: ColumnElement[int] = literal_column("pg_current_xact_id()::text::bigint")


class Task(Base):
    """open → completed (or cancelled); `change` is its last writer's transaction id.

    A result is recorded by one assigned inspector and stays open, awaiting confirmation,
    until every assigned inspector (two at least) has confirmed it with their own token:
    only then is the task completed, its verdict set and the result announced."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_inspectors", "inspector_ids", postgresql_using="gin"),
        Index("ix_tasks_uscc_status", "uscc", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    # random: drawn by a campaign; targeted: opened by a risk alert (no campaign, and no
    # checklist when none exists for the enterprise's industry).
    kind: Mapped[str] = mapped_column(String(10), server_default="random", default="random")
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("campaigns.id"), index=True, default=None
    )
    checklist_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("checklists.id"), default=None
    )
    alert_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    # The agency a targeted task is for (a drawn task's is its campaign's lead agency).
    agency: Mapped[str | None] = mapped_column(String(40), default=None)
    uscc: Mapped[str] = mapped_column(String(18))
    level: Mapped[str] = mapped_column(String(1))
    inspector_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid))
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)
    verdict: Mapped[str | None] = mapped_column(String(10), default=None)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB, default=None)
    # Who recorded the result, and each assigned inspector's own confirmation of it,
    # [{inspector_id, at}] in order, the recorder's first (the recording is theirs).
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    confirmations: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, server_default=text("'[]'::jsonb"), default=list
    )
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    version: Mapped[int] = mapped_column(default=1)
    change: Mapped[int] = mapped_column(
        BigInteger, server_default=text("(pg_current_xact_id()::text::bigint)"), index=True
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
