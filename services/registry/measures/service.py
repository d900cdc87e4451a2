"""Mirror credit's measures; read the ones in force at the moment of a decision."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kit.events import ModelPublished
from kit.measures import LEVELS, LevelEffects, effects_of
from services.registry.measures.models import MeasuresMirror


async def mirror(session: AsyncSession, published: ModelPublished) -> None:
    """Keep a version's measures (an older version arriving late never wins: the newest is
    read)."""
    if not published.measures:  # announced before measures were (#17): nothing to keep
        return
    await session.execute(
        insert(MeasuresMirror)
        .values(
            model_version=published.version,
            measures={lv: e.model_dump() for lv, e in published.measures.items()},
        )
        .on_conflict_do_nothing()
    )


async def in_force(session: AsyncSession) -> tuple[int | None, dict[str, LevelEffects]]:
    """(credit model version, effects per level) of the newest measures announced; (None,
    the platform defaults of `kit.measures`) until credit has announced any."""
    row = await session.scalar(
        select(MeasuresMirror).order_by(MeasuresMirror.model_version.desc()).limit(1)
    )
    measures = row.measures if row is not None else None
    return (row.model_version if row else None), {lv: effects_of(measures, lv) for lv in LEVELS}
