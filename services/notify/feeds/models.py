"""ePing import jobs and their rows' outcomes (the columns are kit.feed_imports')."""

import uuid

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from kit.feed_imports import FeedJobColumns, FeedOutcomeColumns
from services.notify.base import Base


class FeedImport(FeedJobColumns, Base):
    """One ePing export file imported (or tried, in a dry run)."""

    __tablename__ = "feed_imports"


class FeedImportOutcome(FeedOutcomeColumns, Base):
    """What happened to one row: created or rejected (unchanged rows are only counted)."""

    __tablename__ = "feed_import_outcomes"

    job_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("feed_imports.id", ondelete="CASCADE"), primary_key=True
    )
