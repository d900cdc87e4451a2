"""Bulletins (公共信息服务) and the enterprises they may reach (a mirror of registry's)."""

import uuid
from datetime import date, datetime

from sqlalchemy import String, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from kit.db import utcnow
from kit.ids import uuid7
from services.notify.base import Base


class Bulletin(Base):
    """A WTO/TBT notification or a technical-regulation notice (公共信息服务)."""

    __tablename__ = "bulletins"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    kind: Mapped[str] = mapped_column(String(12))  # wto_tbt | regulation
    symbol: Mapped[str | None] = mapped_column(String(60), index=True, default=None)
    member: Mapped[str | None] = mapped_column(String(60), default=None)
    title: Mapped[str] = mapped_column(String(500))
    products: Mapped[list[str]] = mapped_column(ARRAY(String(10)), default=list)
    markets: Mapped[list[str]] = mapped_column(ARRAY(String(2)), default=list)
    objective: Mapped[str | None] = mapped_column(Text, default=None)
    body: Mapped[str | None] = mapped_column(Text, default=None)
    comment_deadline: Mapped[date | None] = mapped_column(default=None)
    adoption_date: Mapped[date | None] = mapped_column(default=None)
    recipients: Mapped[int] = mapped_column(default=0)
    published_by: Mapped[str] = mapped_column(String(200))
    published_at: Mapped[datetime] = mapped_column(default=utcnow)


class Recipient(Base):
    """An enterprise as registry announced it: who a bulletin or warning reaches."""

    __tablename__ = "recipients"

    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    industry: Mapped[str | None] = mapped_column(String(40), default=None)
    hs_codes: Mapped[list[str]] = mapped_column(ARRAY(String(10)), default=list)
    export_markets: Mapped[list[str]] = mapped_column(ARRAY(String(2)), default=list)
    zones: Mapped[list[str]] = mapped_column(ARRAY(String(60)), default=list)
