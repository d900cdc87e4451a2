"""Zone KPIs per calendar year in China time: notifications and returns per US$100M of
exports, spot-check pass rate, CAPA closure rate, open alerts, credit levels. Figures are as
of their period: the members are those of the period (membership periods, by the date each
admission, suspension or removal took effect), levels those at the period's end (level
history), and a year without export batches takes its exports, notifications and returns
from the members' surveys (`source`).

`figures` is the one query behind them, for any period and grouping (zone, industry, one
enterprise); the quality analysis (services/inspection/analysis) reads it per industry and
quarter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from kit.validation import CHINA
from services.inspection.analysis.schemas import CreditLevels
from services.inspection.risk.schemas import Kpi

PER_USD = 100_000_000

KPI_SQL = """
WITH members AS ({members}),
exports AS (
    SELECT uscc, sum(export_value_usd) AS usd FROM batches
    WHERE ship_date >= :first_day AND ship_date < :next_first_day GROUP BY uscc),
signals AS (
    SELECT uscc, count(*) FILTER (WHERE kind = 'foreign_notification') AS notifications,
           count(*) FILTER (WHERE kind = 'return') AS returns
    FROM risk_signals
    WHERE status = 'matched' AND notified_at >= :start AND notified_at < :end GROUP BY uscc),
surveyed AS (
    SELECT uscc, annual_export_usd AS usd, foreign_notifications AS notifications, returns
    FROM surveys WHERE year = CAST(:survey_year AS integer)),
checks AS (
    SELECT uscc, count(*) AS done, count(*) FILTER (WHERE verdict <> 'fail') AS passed
    FROM tasks
    WHERE kind = 'random' AND status = 'completed'
      AND completed_at >= :start AND completed_at < :end
    GROUP BY uscc),
capas AS (
    SELECT uscc, count(*) AS opened, count(*) FILTER (WHERE status = 'closed') AS closed
    FROM capas WHERE created_at >= :start AND created_at < :end GROUP BY uscc),
alerts AS (
    SELECT uscc, count(*) AS open FROM risk_alerts WHERE status <> 'closed' GROUP BY uscc),
levels AS (
    SELECT DISTINCT ON (h.uscc) h.uscc, h.level FROM level_history h
    WHERE h.uscc IN (SELECT uscc FROM members) AND h.at < :end
    ORDER BY h.uscc, coalesce(h.sequence, -1) DESC, h.at DESC)
SELECT m.key, count(*) AS enterprises,
       coalesce(sum(e.usd), 0) AS exports_usd,
       coalesce(sum(s.notifications), 0) AS notifications,
       coalesce(sum(s.returns), 0) AS returns,
       count(e.uscc) AS shipping,
       count(v.uscc) AS surveyed,
       coalesce(sum(v.usd), 0) AS survey_exports_usd,
       coalesce(sum(v.notifications), 0) AS survey_notifications,
       coalesce(sum(v.returns), 0) AS survey_returns,
       coalesce(sum(c.done), 0) AS spot_checks, coalesce(sum(c.passed), 0) AS passed,
       coalesce(sum(p.opened), 0) AS capas, coalesce(sum(p.closed), 0) AS closed,
       coalesce(sum(a.open), 0) AS open_alerts,
       count(*) FILTER (WHERE l.level = 'A') AS level_a,
       count(*) FILTER (WHERE l.level = 'B') AS level_b,
       count(*) FILTER (WHERE l.level = 'C') AS level_c,
       count(*) FILTER (WHERE l.level = 'D') AS level_d,
       count(*) FILTER (WHERE l.level IS NULL) AS unrated
FROM members m
LEFT JOIN exports e ON e.uscc = m.uscc
LEFT JOIN signals s ON s.uscc = m.uscc
LEFT JOIN surveyed v ON v.uscc = m.uscc
LEFT JOIN checks c ON c.uscc = m.uscc
LEFT JOIN capas p ON p.uscc = m.uscc
LEFT JOIN alerts a ON a.uscc = m.uscc
LEFT JOIN levels l ON l.uscc = m.uscc
GROUP BY m.key ORDER BY m.key
"""
# members: (uscc, key) pairs, the key being what the figures are grouped by; a zone's and an
# industry's are the members of a zone at some moment of [start, end) (a membership period
# overlapping it; `since` null: from before history was kept)
GROUPINGS = {
    "zone": text(
        KPI_SQL.format(
            members="SELECT DISTINCT p.uscc, p.zone AS key FROM membership_periods p "
            "WHERE (p.since IS NULL OR p.since < :end) AND (p.until IS NULL OR p.until > :start) "
            "AND (CAST(:key AS text) IS NULL OR p.zone = CAST(:key AS text))"
        )
    ),
    "industry": text(
        KPI_SQL.format(
            members="SELECT DISTINCT p.uscc, d.industry AS key FROM membership_periods p "
            "JOIN directory d ON d.uscc = p.uscc "
            "WHERE (p.since IS NULL OR p.since < :end) AND (p.until IS NULL OR p.until > :start) "
            "AND d.industry IS NOT NULL "
            "AND (CAST(:key AS text) IS NULL OR d.industry = CAST(:key AS text))"
        )
    ),
    "enterprise": text(
        KPI_SQL.format(members="SELECT uscc, NULL::text AS key FROM directory WHERE uscc = :key")
    ),
}


@dataclass(frozen=True)
class Sourced:
    """Exports, notifications and returns as the precedence gives them."""

    source: Literal["batches", "surveys"]
    exports_usd: int
    notifications: int
    returns: int


def sourced(row: Any) -> Sourced:
    """Batches take precedence: a group's figures come from its members' export batches
    (and the matched signals) when any member shipped one in the period, else from their
    surveys of the year when any member has one (surveys are yearly: quarters have none),
    else batches (zero)."""
    if row.shipping or not row.surveyed:
        return Sourced("batches", row.exports_usd, row.notifications, row.returns)
    return Sourced("surveys", row.survey_exports_usd, row.survey_notifications, row.survey_returns)


def levels(row: Any) -> CreditLevels:
    """The members' levels as of the period's end (the last one credit announced before
    it); `unrated` for members credit had not rated by then."""
    return CreditLevels(
        A=row.level_a, B=row.level_b, C=row.level_c, D=row.level_d, unrated=row.unrated
    )


def rate(part: int, whole: int) -> float | None:
    """part / whole to four places; None without a whole."""
    return round(part / whole, 4) if whole else None


def per_100m(count: int, usd: int) -> float | None:
    """Occurrences per US$100M of exports; None without exports."""
    return round(count * PER_USD / usd, 3) if usd else None


async def figures(
    session: AsyncSession,
    *,
    first_day: date,
    next_first_day: date,
    by: Literal["zone", "industry", "enterprise"],
    key: str | None,
    survey_year: int | None = None,
) -> list[Any]:
    """Counts per group for the days [first_day, next_first_day) in China time: enterprises
    (members at some moment of the period), exports_usd (export batches shipped),
    notifications and returns (matched signals), shipping (members with batches), the
    members' surveys of `survey_year` (surveyed, survey_exports_usd, survey_notifications,
    survey_returns; see `sourced`), spot_checks and passed (random checks completed), capas
    opened and closed, open_alerts (now), levels as of the period's end (level_a … level_d,
    unrated). Only `key`'s group when given (the enterprise's USCC for `enterprise`)."""
    params = {
        "first_day": first_day,
        "next_first_day": next_first_day,
        "start": datetime.combine(first_day, datetime.min.time(), CHINA),
        "end": datetime.combine(next_first_day, datetime.min.time(), CHINA),
        "key": key,
        "survey_year": survey_year,
    }
    rows = await session.execute(GROUPINGS[by], params)
    return [r for r in rows if by == "enterprise" or key is None or r.key == key]


async def kpis(
    session: AsyncSession, *, year: int, zone: str | None, uscc: str | None
) -> list[Kpi]:
    """One item per zone (only `zone` when given), or one for the enterprise `uscc`."""
    rows = await figures(
        session,
        first_day=date(year, 1, 1),
        next_first_day=date(year + 1, 1, 1),
        by="enterprise" if uscc else "zone",
        key=uscc or zone,
        survey_year=year,
    )
    out = []
    for r in rows:
        chosen = sourced(r)
        out.append(
            Kpi(
                zone=r.key,
                uscc=uscc,
                year=year,
                enterprises=r.enterprises,
                source=chosen.source,
                exports_usd=chosen.exports_usd,
                notifications=chosen.notifications,
                returns=chosen.returns,
                notifications_per_100m_usd=per_100m(chosen.notifications, chosen.exports_usd),
                returns_per_100m_usd=per_100m(chosen.returns, chosen.exports_usd),
                spot_checks=r.spot_checks,
                spot_check_pass_rate=rate(r.passed, r.spot_checks),
                capas=r.capas,
                capa_closure_rate=rate(r.closed, r.capas),
                open_alerts=r.open_alerts,
                credit_levels=levels(r),
            )
        )
    return out
