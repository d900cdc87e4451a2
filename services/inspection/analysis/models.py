"""Published quality analysis (质量分析评价和权威发布): frozen figures per industry and quarter."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from kit.db import utcnow
from kit.ids import uuid7
from services.inspection.base import Base


class AnalysisRelease(Base):
    """A quarter's figures for one industry, as approved; never changed afterwards."""

    __tablename__ = "analysis_releases"
    __table_args__ = (UniqueConstraint("industry", "quarter"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    industry: Mapped[str] = mapped_column(String(40))
    quarter: Mapped[str] = mapped_column(String(6), index=True)
    figures: Mapped[dict[str, Any]] = mapped_column(JSONB)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    published_by: Mapped[str] = mapped_column(String(200))
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
