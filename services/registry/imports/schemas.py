"""Import job API shapes."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.registry.imports.rows import Kind

# their names: kit/vocabulary.py STATUSES
ImportStatus = Literal["queued", "running", "done", "failed"]
RowOutcome = Literal["created", "updated", "unchanged", "rejected"]


class ImportCounts(BaseModel):
    """Rows settled so far, by outcome (in a dry run: what would happen)."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0


class ImportJobOut(BaseModel):
    """An import job: its status, progress and counts."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: Kind
    dry_run: bool = Field(description="True: nothing was written; the counts say what would be")
    filename: str | None
    status: ImportStatus = Field(description="queued, running, done or failed")
    submitted_by: str
    agency: str | None
    headings: list[str] = Field(description="The file's column headings as written")
    unknown_headings: list[str] = Field(
        description="Headings the table does not name or this kind does not use: ignored"
    )
    estimated_rows: int | None = Field(
        description="Data rows the file holds, as its sheet dimension or line count says "
        "(blank rows included): the total for a progress bar; `counts.rows` when done"
    )
    counts: ImportCounts
    error: str | None = Field(description="Why a failed job failed")
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class ImportOutcomeOut(BaseModel):
    """What happened (or would happen) to one row; unchanged rows are only counted."""

    model_config = ConfigDict(from_attributes=True)

    row: int = Field(description="The row number as the spreadsheet shows it (headings: 1)")
    outcome: RowOutcome = Field(description="created, updated or rejected")
    key: str | None = Field(description="USCC, USCC/year or USCC/zone")
    field: str | None = Field(description="The field a rejection is about")
    reason_zh: str | None = Field(
        description="Why the row was rejected, in Chinese (zh-CN); null otherwise"
    )
    reason_en: str | None = Field(
        description="Why the row was rejected, in English; null otherwise"
    )
    changed: list[str] = Field(description="Fields an update changes")
