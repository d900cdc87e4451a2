"""The directory through time: zone membership periods (registry's membership events, by
the date each took effect), credit levels as announced (credit's level events, by their
time) and yearly survey figures (registry's survey events). Zone KPIs and quarterly
analysis read a period's figures from them, not today's directory."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kit.events import CreditLevelChanged, MembershipChanged, SurveyRecorded
from services.inspection.directory.models import LevelHistory, MembershipPeriod, SurveyMirror


async def record_membership(
    session: AsyncSession, membership: MembershipChanged, *, member: bool, at: datetime
) -> None:
    """Open a membership period when admitted or reinstated, close the open one when
    suspended or removed; `at` is when the change took effect (the event's `effective_at`,
    else its time). Idempotent: an open period is not opened twice."""
    open_one = await session.scalar(
        select(MembershipPeriod)
        .where(
            MembershipPeriod.uscc == membership.uscc,
            MembershipPeriod.zone == membership.zone_code,
            MembershipPeriod.until.is_(None),
        )
        .order_by(MembershipPeriod.id.desc())
        .limit(1)
        .with_for_update()
    )
    if member and open_one is None:
        session.add(MembershipPeriod(uscc=membership.uscc, zone=membership.zone_code, since=at))
    elif not member and open_one is not None:
        open_one.until = max(at, open_one.since) if open_one.since else at
    await session.flush()  # the figures' queries are plain SQL (no autoflush)


async def record_levels(
    session: AsyncSession, changes: Sequence[tuple[CreditLevelChanged, datetime]]
) -> None:
    """Keep every level credit announced, at its event's time (one INSERT for a run)."""
    await session.execute(
        insert(LevelHistory),
        [
            {
                "uscc": c.uscc,
                "level": c.to_level,
                "at": at,
                "sequence": c.sequence,
                "model_version": c.model_version,
            }
            for c, at in changes
        ],
    )


async def mirror_surveys(session: AsyncSession, surveys: Sequence[SurveyRecorded]) -> None:
    """A run of years' survey figures in one statement, each replacing the year's before
    (within the run the last of a year wins, as one at a time)."""
    latest = {(s.uscc, s.year): s for s in surveys}
    if not latest:
        return
    stmt = insert(SurveyMirror).values(
        [
            {"uscc": s.uscc, "year": s.year, **s.model_dump(exclude={"uscc", "year"})}
            for s in latest.values()
        ]
    )
    columns = SurveyRecorded.model_fields.keys() - {"uscc", "year"}
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["uscc", "year"], set_={c: stmt.excluded[c] for c in sorted(columns)}
        )
    )


async def mirror_survey(session: AsyncSession, survey: SurveyRecorded) -> None:
    """A year's survey figures, replaced when the survey is."""
    await mirror_surveys(session, [survey])
