"""Zone KPIs per calendar year in China time: notifications and returns per US$100M of exports, spot-check pass
rate, CAPA closure rate, open alerts. Zone membership is today's (the directory's).

`figures` is the one query behind them, for any period and grouping (zone, industry, one
enterprise); the quality analysis (services/inspection/analysis) reads it per industry and
quarter."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from kit.validation import CHINA
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
    SELECT uscc, count(*) AS open FROM risk_alerts WHERE status <> 'closed' GROUP BY uscc)
SELECT m.key, count(*) AS enterprises,
       coalesce(sum(e.usd), 0) AS exports_usd,
       coalesce(sum(s.notifications), 0) AS notifications,
       coalesce(sum(s.returns), 0) AS returns,
       coalesce(sum(c.done), 0) AS spot_checks, coalesce(sum(c.passed), 0) AS passed,
       coalesce(sum(p.opened), 0) AS capas, coalesce(sum(p.closed), 0) AS closed,
       coalesce(sum(a.open), 0) AS open_alerts
FROM members m
LEFT JOIN exports e ON e.uscc = m.uscc
LEFT JOIN signals s ON s.uscc = m.uscc
LEFT JOIN checks c ON c.uscc = m.uscc
LEFT JOIN capas p ON p.uscc = m.uscc
LEFT JOIN alerts a ON a.uscc = m.uscc
GROUP BY m.key ORDER BY m.key
"""
# members: (uscc, key) pairs, the key being what the figures are grouped by
GROUPINGS = {
    "zone": text(
        KPI_SQL.format(
            members="SELECT uscc, unnest(zones) AS key FROM directory "
            "WHERE CAST(:key AS text) IS NULL OR CAST(:key AS text) = ANY(zones)"
        )
    ),
    "industry": text(
        KPI_SQL.format(
            members="SELECT uscc, industry AS key FROM directory WHERE industry IS NOT NULL "
            "AND (CAST(:key AS text) IS NULL OR industry = CAST(:key AS text))"
        )
    ),
    "enterprise": text(
        KPI_SQL.format(members="SELECT uscc, NULL::text AS key FROM directory WHERE uscc = :key")
    ),
}


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
) -> list[Any]:
    """Counts per group for the days [first_day, next_first_day) in China time: enterprises,
    exports_usd (export batches shipped), notifications and returns (matched signals),
    spot_checks and passed (random checks completed), capas opened and closed, open_alerts
    (now). Only `key`'s group when given (the enterprise's USCC for `enterprise`)."""
    params = {
        "first_day": first_day,
        "next_first_day": next_first_day,
        "start": datetime.combine(first_day, datetime.min.time(), CHINA),
        "end": datetime.combine(next_first_day, datetime.min.time(), CHINA),
        "key": key,
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
    )
    out = []
    for r in rows:
        out.append(
            Kpi(
                zone=r.key,
                uscc=uscc,
                year=year,
                enterprises=r.enterprises,
                exports_usd=r.exports_usd,
                notifications=r.notifications,
                returns=r.returns,
                notifications_per_100m_usd=per_100m(r.notifications, r.exports_usd),
                returns_per_100m_usd=per_100m(r.returns, r.exports_usd),
                spot_checks=r.spot_checks,
                spot_check_pass_rate=rate(r.passed, r.spot_checks),
                capas=r.capas,
                capa_closure_rate=rate(r.closed, r.capas),
                open_alerts=r.open_alerts,
            )
        )
    return out
