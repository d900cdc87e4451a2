"""The guidance's targets (总体目标) and the work plan's phases (建设计划) as data."""

from datetime import date

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.registry.base import Base


class ProgrammeTarget(Base):
    """A target: so many zones of a level accepted within a period (十三五: 2 national and 6
    provincial zones by the end of 2020)."""

    __tablename__ = "programme_targets"

    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    level: Mapped[str] = mapped_column(String(20))
    zones: Mapped[int] = mapped_column(Integer)
    period_start: Mapped[date]
    period_end: Mapped[date]
    source: Mapped[str] = mapped_column(Text)


class PlanPhase(Base):
    """A phase of the work plan (第一阶段 …) and its window; a zone's phase names one, and the
    zone's planned dates fall inside its window."""

    __tablename__ = "plan_phases"

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    summary_zh: Mapped[str] = mapped_column(Text)
    summary_en: Mapped[str] = mapped_column(Text)
