"""Quality analysis (质量分析评价和权威发布): a quarter's figures per industry from live data,
previewed, then frozen into a release the public reads."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kit import locks
from kit.db import get_or_404, utcnow
from kit.events import AnalysisPublished
from kit.industries import INDUSTRY_NAMES, Industry
from kit.locks import Lock
from kit.pagination import PageParams, keyset_page
from kit.problems import Conflict
from services.inspection.analysis.models import AnalysisRelease
from services.inspection.analysis.quarters import Quarter
from services.inspection.analysis.schemas import AnalysisFigures, CreditLevels
from services.inspection.events import publish
from services.inspection.risk import kpis


async def compute(
    session: AsyncSession, *, quarter: Quarter, industry: Industry | None
) -> list[AnalysisFigures]:
    """Each industry's figures (only `industry`'s when given), every industry listed even
    without enterprises: spot-check pass rate of random checks, foreign notifications and
    returns per US$100M of exports, credit levels, CAPA closure rate; as of the quarter
    (its members, their levels at its end). Export figures are the batches' (surveys are
    yearly)."""
    rows = {
        r.key: r
        for r in await kpis.figures(
            session,
            first_day=quarter.first_day,
            next_first_day=quarter.next_first_day,
            by="industry",
            key=industry.value if industry else None,
        )
    }
    now = utcnow()
    out = []
    for each in [industry] if industry else list(Industry):
        r = rows.get(each.value)
        zh, en = INDUSTRY_NAMES[each]
        exports = r.exports_usd if r else 0
        notifications, returns = (r.notifications, r.returns) if r else (0, 0)
        checks, passed = (r.spot_checks, r.passed) if r else (0, 0)
        capas, closed = (r.capas, r.closed) if r else (0, 0)
        out.append(
            AnalysisFigures(
                industry=each,
                industry_name_zh=zh,
                industry_name_en=en,
                quarter=str(quarter),
                first_day=quarter.first_day,
                last_day=quarter.next_first_day - timedelta(days=1),
                enterprises=r.enterprises if r else 0,
                exports_usd=exports,
                notifications=notifications,
                returns=returns,
                notifications_per_100m_usd=kpis.per_100m(notifications, exports),
                returns_per_100m_usd=kpis.per_100m(returns, exports),
                spot_checks=checks,
                spot_checks_passed=passed,
                spot_check_pass_rate=kpis.rate(passed, checks),
                capas=capas,
                capas_closed=closed,
                capa_closure_rate=kpis.rate(closed, capas),
                credit_levels=kpis.levels(r) if r else CreditLevels(),
                computed_at=now,
            )
        )
    return out


def ended(quarter: Quarter) -> bool:
    """The quarter is over in China time."""
    return utcnow() >= quarter.end


async def published_industries(session: AsyncSession, quarter: Quarter) -> list[str]:
    """Industries with a release for the quarter."""
    return list(
        await session.scalars(
            select(AnalysisRelease.industry)
            .where(AnalysisRelease.quarter == str(quarter))
            .order_by(AnalysisRelease.industry)
        )
    )


async def publish_release(
    session: AsyncSession,
    *,
    quarter: Quarter,
    industry: Industry,
    note: str | None,
    actor: str,
) -> AnalysisRelease:
    """Freeze the quarter's figures for the industry into a release (once: 409 again, and
    409 while the quarter is still running) and announce `inspection.analysis.published`."""
    if not ended(quarter):
        raise Conflict(
            f"{quarter} runs until {quarter.next_first_day} (China time); only a finished "
            "quarter's figures are published",
            detail_zh=f"{quarter} 持续到 {quarter.next_first_day}（北京时间）；只发布已结束季度的数据",
            quarter=str(quarter),
        )
    # one release per industry and quarter, also between concurrent approvals
    await locks.hold(session, Lock.ANALYSIS_RELEASE, f"{industry}:{quarter}")
    existing = await session.scalar(
        select(AnalysisRelease.id).where(
            AnalysisRelease.quarter == str(quarter), AnalysisRelease.industry == industry.value
        )
    )
    if existing is not None:
        raise Conflict(
            f"{industry.value} {quarter} is already published",
            detail_zh=f"{industry.value} 行业 {quarter} 的数据已发布",
            release_id=str(existing),
        )
    (figures,) = await compute(session, quarter=quarter, industry=industry)
    release = AnalysisRelease(
        industry=industry.value,
        quarter=str(quarter),
        figures=figures.model_dump(mode="json"),
        note=note,
        published_by=actor,
        published_at=utcnow(),
    )
    session.add(release)
    await session.flush()
    zh = INDUSTRY_NAMES[industry][0]
    await publish(
        session,
        "inspection.analysis.published.v1",
        f"{industry.value}/{quarter}",
        AnalysisPublished(
            release_id=str(release.id),
            industry=industry.value,
            quarter=str(quarter),
            figures=release.figures,
            published_by=actor,
            published_at=release.published_at,
            summary=f"{zh} {quarter} 质量分析发布 quality analysis published",
        ),
    )
    return release


async def get_release(session: AsyncSession, release_id: uuid.UUID) -> AnalysisRelease:
    """One release, or 404."""
    return await get_or_404(session, AnalysisRelease, release_id, "analysis release")


async def search_releases(
    session: AsyncSession,
    *,
    page: PageParams,
    industry: Industry | None,
    quarter: str | None,
) -> tuple[list[AnalysisRelease], str | None]:
    """Releases in the order published."""
    query = select(AnalysisRelease)
    if industry:
        query = query.where(AnalysisRelease.industry == industry.value)
    if quarter:
        query = query.where(AnalysisRelease.quarter == quarter)
    return await keyset_page(session, query, keys=[AnalysisRelease.id], page=page)
