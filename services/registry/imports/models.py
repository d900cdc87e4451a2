"""Spreadsheet import jobs (导入) and their per-row outcomes."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from kit.db import TimestampMixin
from kit.ids import uuid7
from services.registry.base import Base


class ImportJob(TimestampMixin, Base):
    """One uploaded file and its processing: queued → running → done | failed.

    Rows are processed in batches, each in its own transaction with the job row locked;
    `next_row` is how many data rows are settled, so a job whose worker died (its lease ran
    out) is resumed where it stopped by whichever worker claims it next.
    """

    __tablename__ = "import_jobs"
    __table_args__ = (Index("ix_import_jobs_status", "status", "lease_until"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    kind: Mapped[str] = mapped_column(String(20))
    dry_run: Mapped[bool] = mapped_column(default=False)
    filename: Mapped[str | None] = mapped_column(String(255), default=None)
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    # who submitted it: the rows are written as that principal would write them one by one
    submitted_by: Mapped[str] = mapped_column(String(200))
    agency: Mapped[str | None] = mapped_column(String(40), default=None)
    scopes: Mapped[list[str]] = mapped_column(JSONB, default=list)
    headings: Mapped[list[str]] = mapped_column(JSONB, default=list)
    unknown_headings: Mapped[list[str]] = mapped_column(JSONB, default=list)
    estimated_rows: Mapped[int | None] = mapped_column(Integer, default=None)  # for progress
    next_row: Mapped[int] = mapped_column(Integer, default=0)  # data rows settled
    counts: Mapped[dict[str, int]] = mapped_column(JSONB, default=dict)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    worker: Mapped[str | None] = mapped_column(String(60), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class ImportOutcome(Base):
    """What happened (or, in a dry run, would happen) to one row: created, updated or
    rejected (unchanged rows are only counted). A rejected row keeps its cells so the
    rejected rows can be downloaded, fixed and imported again."""

    __tablename__ = "import_outcomes"

    job_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("import_jobs.id", ondelete="CASCADE"), primary_key=True
    )
    row: Mapped[int] = mapped_column(Integer, primary_key=True)
    outcome: Mapped[str] = mapped_column(String(10))
    key: Mapped[str | None] = mapped_column(String(200), default=None)
    field: Mapped[str | None] = mapped_column(String(60), default=None)
    reason_zh: Mapped[str | None] = mapped_column(Text, default=None)
    reason_en: Mapped[str | None] = mapped_column(Text, default=None)
    changed: Mapped[list[str]] = mapped_column(JSONB, default=list)
    cells: Mapped[list[Any] | None] = mapped_column(JSONB, default=None)
