"""The joint measures credit put in force, per model version."""

from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from kit.db import utcnow
from services.registry.base import Base


class MeasuresMirror(Base):
    """A credit model version's measures, resolved per level as credit announced them; the
    newest decides honours, zone admission and removal reviews."""

    __tablename__ = "credit_measures"

    model_version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    measures: Mapped[dict[str, Any]] = mapped_column(JSONB)  # level -> kit.measures.LevelEffects
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
