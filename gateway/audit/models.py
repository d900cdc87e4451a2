"""The audit log: append-only, hash-chained, numbered without gaps."""

from datetime import datetime

from sqlalchemy import BigInteger, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.base import Base


class AuditEntry(Base):
    """One step of an audited request, chained by SHA-256 (gateway/audit/service.py).

    A write has two rows: its `intent`, committed before the gateway forwards it, and its
    `outcome` (status, success | denied | failed), committed after, naming the intent by
    `intent_seq`. A denied read has only an outcome. `seq` counts 1, 2, 3, … with no gap:
    the writer assigns it under the append lock. Rows from before the intents existed have
    no `phase`: one row per answered request, chained without `seq` and `phase`.
    """

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    phase: Mapped[str | None] = mapped_column(String(10))  # intent | outcome
    intent_seq: Mapped[int | None] = mapped_column(BigInteger, index=True)
    request_id: Mapped[str] = mapped_column(String(128), index=True)
    actor: Mapped[str | None] = mapped_column(String(100), index=True)
    agency: Mapped[str | None] = mapped_column(String(40))
    uscc: Mapped[str | None] = mapped_column(String(18))
    inspector_id: Mapped[str | None] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(2000))
    object_key: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[int | None] = mapped_column(SmallInteger)
    outcome: Mapped[str | None] = mapped_column(String(10), index=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # the chain's hash for this row: sha256, or sm3 (GB/T 32905, for deployments that must
    # use 国密); each row names its own, so a chain may switch between two rows
    hash_alg: Mapped[str] = mapped_column(String(8), default="sha256", server_default="sha256")
