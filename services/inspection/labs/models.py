"""Labs of the public testing platform (公共检测服务平台) and enterprises' test requests."""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from kit.db import utcnow
from kit.ids import uuid7
from services.inspection.base import Base


class Lab(Base):
    """An accredited lab: CNAS and/or CMA number, scope entries, validity."""

    __tablename__ = "labs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200), default=None)
    cnas_number: Mapped[str | None] = mapped_column(String(20), unique=True, default=None)
    cma_number: Mapped[str | None] = mapped_column(String(30), unique=True, default=None)
    # The agency that operates the lab: its tokens accept requests and record results.
    agency: Mapped[str | None] = mapped_column(String(40), default=None)
    address: Mapped[str | None] = mapped_column(String(300), default=None)
    # [{hs_prefix | product, standard, title?}]
    scope: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    valid_from: Mapped[date]
    valid_to: Mapped[date]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)


class TestRequest(Base):
    """requested → accepted → tested (pass or fail, with a report) | rejected."""

    __tablename__ = "test_requests"
    __table_args__ = (
        Index("ix_test_requests_uscc_id", "uscc", "id"),
        Index("ix_test_requests_lab_id_status", "lab_id", "status"),
        # the office's queue across labs: ?status= pages by id
        Index("ix_test_requests_status_id", "status", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    uscc: Mapped[str] = mapped_column(String(18))
    lab_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("labs.id"))
    batch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("batches.id"), index=True)
    batch_number: Mapped[str] = mapped_column(String(64))
    hs_code: Mapped[str] = mapped_column(String(10))
    product: Mapped[str | None] = mapped_column(String(200), default=None)
    standard: Mapped[str] = mapped_column(String(60))
    note: Mapped[str | None] = mapped_column(Text, default=None)
    status: Mapped[str] = mapped_column(String(10), default="requested")
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(default=None)
    decided_by: Mapped[str | None] = mapped_column(String(200), default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    outcome: Mapped[str | None] = mapped_column(String(4), default=None)
    report_number: Mapped[str | None] = mapped_column(String(60), default=None)
    values: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    tested_at: Mapped[datetime | None] = mapped_column(default=None)
    signal_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    alert_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)


# A report number once per lab, whatever its case (WT-1 and wt-1 are one report).
Index(
    "uq_test_requests_lab_id_report_number_ci",
    TestRequest.lab_id,
    func.lower(TestRequest.report_number),
    unique=True,
)
