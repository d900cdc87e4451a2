"""Mutual recognition (监管互认): which agency accepts whose results, for what, until when."""

import uuid
from datetime import date, datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from kit.db import utcnow
from kit.ids import uuid7
from services.credit.base import Base


class Recognition(Base):
    """`recognising_agency` accepts `recognised_agency`'s results of `result_kind` in scope."""

    __tablename__ = "recognitions"
    __table_args__ = (Index("ix_recognitions_agencies", "recognising_agency", "recognised_agency"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    recognising_agency: Mapped[str] = mapped_column(String(40))
    recognised_agency: Mapped[str] = mapped_column(String(40))
    result_kind: Mapped[str] = mapped_column(String(40))
    industries: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)
    checklist_items: Mapped[list[str]] = mapped_column(ARRAY(String(100)), default=list)
    valid_from: Mapped[date]
    valid_to: Mapped[date]
    status: Mapped[str] = mapped_column(String(10), default="active")
    note: Mapped[str | None] = mapped_column(Text, default=None)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    revoke_reason: Mapped[str | None] = mapped_column(Text, default=None)
    version: Mapped[int] = mapped_column(default=1)
