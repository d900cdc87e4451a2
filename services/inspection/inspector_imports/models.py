"""Inspector roster import jobs and their rows' outcomes (the columns are kit.feed_imports')."""

import uuid

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from kit.feed_imports import FeedJobColumns, FeedOutcomeColumns
from services.inspection.base import Base


class InspectorImport(FeedJobColumns, Base):
    """One inspector roster file imported (or tried, in a dry run)."""

    __tablename__ = "inspector_imports"


class InspectorImportOutcome(FeedOutcomeColumns, Base):
    """What happened to one row: created, updated or rejected (unchanged rows are only
    counted)."""

    __tablename__ = "inspector_import_outcomes"

    job_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("inspector_imports.id", ondelete="CASCADE"), primary_key=True
    )
