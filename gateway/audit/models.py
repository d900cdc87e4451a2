"""The audit log: append-only, hash-chained."""

from datetime import datetime

from sqlalchemy import BigInteger, Identity, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.base import Base


class AuditEntry(Base):
    """One audited request: every write and every denied request, chained by SHA-256."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    at: Mapped[datetime]
    request_id: Mapped[str] = mapped_column(String(128), index=True)
    actor: Mapped[str | None] = mapped_column(String(100), index=True)
    agency: Mapped[str | None] = mapped_column(String(40))
    uscc: Mapped[str | None] = mapped_column(String(18))
    inspector_id: Mapped[str | None] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(2000))
    object_key: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[int] = mapped_column(SmallInteger)
    outcome: Mapped[str] = mapped_column(String(10), index=True)  # success | denied | failed
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
