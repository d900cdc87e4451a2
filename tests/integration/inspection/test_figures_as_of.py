"""Figures as of their period (#17): zone KPIs and quarterly analysis count the members of
the period (membership periods, by the date each change took effect), take levels as of
the period's end (credit's level history), and a year without export batches takes its
exports and notification/return counts from the members' surveys; a release of a past
quarter freezes those."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from kit.events import (
    CloudEvent,
    CreditLevelChanged,
    EnterpriseRegistered,
    MembershipChanged,
    SurveyRecorded,
)
from kit.industries import Industry
from services.inspection import consumers
from services.inspection.analysis import service as analysis
from services.inspection.analysis.quarters import Quarter
from services.inspection.risk import kpis
from services.inspection.risk.models import BatchMirror
from services.inspection.risk.schemas import Kpi
from tests.helpers import new_uscc
from tests.integration.inspection.conftest import event

ZONE = "lighting-asof"


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 4, tzinfo=UTC)


def dated(envelope: CloudEvent, when: datetime | None) -> CloudEvent:
    return envelope if when is None else envelope.model_copy(update={"time": when})


async def enterprise(session: AsyncSession, industry: str = "lighting") -> str:
    uscc = new_uscc()
    registered = EnterpriseRegistered(uscc=uscc, name=f"企业{uscc[-4:]}", industry=industry)
    await consumers.on_enterprise(
        session,
        registered,
        event("registry", "registry.enterprise.registered.v1", uscc, registered),
    )
    return uscc


async def membership(
    session: AsyncSession,
    uscc: str,
    status: str,
    *,
    effective: datetime | None = None,
    recorded: datetime | None = None,
    zone: str = ZONE,
) -> None:
    change = MembershipChanged(
        membership_id=str(uuid.uuid4()),
        zone_code=zone,
        uscc=uscc,
        status=status,
        actor="office",
        effective_at=effective,
    )
    kind = f"registry.membership.{status}.v1"
    envelope = dated(event("registry", kind, uscc, change), recorded)
    await consumers.on_membership(status in ("admitted", "reinstated"))(session, change, envelope)


async def level(session: AsyncSession, uscc: str, to: str, sequence: int, when: datetime) -> None:
    change = CreditLevelChanged.model_validate(
        {"uscc": uscc, "to_level": to, "sequence": sequence, "model_version": 1}
    )
    envelope = dated(event("credit", "credit.level.changed.v1", uscc, change), when)
    await consumers.on_level(session, change, envelope)


async def survey(
    session: AsyncSession, uscc: str, year: int, usd: int, notes: int, rets: int
) -> None:
    recorded = SurveyRecorded(
        uscc=uscc, year=year, annual_export_usd=usd, foreign_notifications=notes, returns=rets
    )
    await consumers.on_survey(
        session, recorded, event("registry", "registry.survey.recorded.v1", uscc, recorded)
    )


async def zone_kpi(session: AsyncSession, year: int) -> Kpi | None:
    items = await kpis.kpis(session, year=year, zone=ZONE, uscc=None)
    return items[0] if items else None


async def test_a_year_with_surveys_but_no_batches_shows_the_surveys(session: AsyncSession) -> None:
    first, second = await enterprise(session), await enterprise(session)
    for uscc in (first, second):  # admitted in 2017, recorded today from the paper records
        await membership(session, uscc, "admitted", effective=at(2017, 3, 1))
    await survey(session, first, 2019, 3_000_000, 1, 2)
    await survey(session, second, 2019, 1_000_000, 0, 1)
    await survey(session, first, 2020, 9_000_000, 5, 5)
    session.add(  # 2020 has an export batch: batches take precedence over surveys
        BatchMirror(
            id=uuid.uuid4(),
            uscc=second,
            number=f"B-{uuid.uuid4().hex[:8]}",
            ship_date=date(2020, 5, 1),
            export_value_usd=2_000_000,
        )
    )
    await session.flush()

    kpi = await zone_kpi(session, 2019)
    assert kpi is not None and kpi.source == "surveys" and kpi.enterprises == 2
    assert (kpi.exports_usd, kpi.notifications, kpi.returns) == (4_000_000, 1, 3)
    assert kpi.notifications_per_100m_usd == 25.0 and kpi.returns_per_100m_usd == 75.0
    batches = await zone_kpi(session, 2020)
    assert batches is not None and batches.source == "batches"
    assert (batches.exports_usd, batches.notifications, batches.returns) == (2_000_000, 0, 0)
    # neither: batches, zero
    empty = await zone_kpi(session, 2018)
    assert empty is not None and (empty.source, empty.exports_usd) == ("batches", 0)
    # a batch of unknown value is still a batch: that year is the batches'
    await survey(session, first, 2021, 7_000_000, 0, 0)
    session.add(
        BatchMirror(id=uuid.uuid4(), uscc=first, number="B-unvalued", ship_date=date(2021, 3, 1))
    )
    await session.flush()
    unvalued = await zone_kpi(session, 2021)
    assert unvalued is not None and (unvalued.source, unvalued.exports_usd) == ("batches", 0)
    # one enterprise's own KPIs follow the same precedence
    (own,) = await kpis.kpis(session, year=2019, zone=None, uscc=first)
    assert (own.source, own.exports_usd, own.returns) == ("surveys", 3_000_000, 2)
    # a survey replaced is the figure used
    await survey(session, second, 2019, 5_000_000, 0, 0)
    replaced = await zone_kpi(session, 2019)
    assert replaced is not None and replaced.exports_usd == 8_000_000


async def test_members_and_levels_are_those_of_the_period(session: AsyncSession) -> None:
    early, late, gone = [await enterprise(session) for _ in range(3)]
    await membership(session, early, "admitted", effective=at(2017, 3, 1))
    await membership(session, gone, "admitted", effective=at(2017, 3, 1))
    await membership(session, gone, "removed", recorded=at(2018, 6, 30))  # by the event's time
    await membership(session, late, "admitted")  # today
    await level(session, early, "B", 1, at(2017, 1, 5))
    await level(session, early, "A", 2, at(2019, 2, 1))
    await level(session, gone, "C", 1, at(2017, 1, 5))

    in_2018 = await zone_kpi(session, 2018)
    assert in_2018 is not None and in_2018.enterprises == 2  # early and gone, not late
    assert in_2018.credit_levels.model_dump() == {"A": 0, "B": 1, "C": 1, "D": 0, "unrated": 0}
    in_2019 = await zone_kpi(session, 2019)
    assert in_2019 is not None and in_2019.enterprises == 1  # gone was removed in 2018
    assert in_2019.credit_levels.A == 1
    today = await zone_kpi(session, datetime.now(UTC).year)
    assert today is not None and today.enterprises == 2  # early and late
    assert today.credit_levels.unrated == 1  # late: no level from credit yet

    # a suspension closes the period, a reinstatement opens another; a repeat is idempotent
    await membership(session, early, "suspended", recorded=at(2020, 1, 1))
    await membership(session, early, "reinstated", recorded=at(2022, 1, 1))
    await membership(session, early, "reinstated", recorded=at(2022, 2, 1))
    assert await zone_kpi(session, 2021) is None  # nobody was a member in 2021
    again = await zone_kpi(session, 2022)
    assert again is not None and again.enterprises == 1


async def test_a_past_quarter_release_keeps_its_as_of_figures(session: AsyncSession) -> None:
    then = Quarter(2018, 2)
    member = await enterprise(session)
    await membership(session, member, "admitted", effective=at(2017, 3, 1))
    await level(session, member, "B", 1, at(2017, 1, 5))
    # since then: the level rose and another enterprise joined; today's figures differ
    await level(session, member, "A", 2, at(2025, 1, 5))
    newcomer = await enterprise(session)
    await membership(session, newcomer, "admitted")
    await level(session, newcomer, "D", 1, datetime.now(UTC))

    (today,) = await analysis.compute(
        session, quarter=Quarter.of(datetime.now(UTC)), industry=Industry.lighting
    )
    assert today.enterprises == 2 and (today.credit_levels.A, today.credit_levels.D) == (1, 1)
    release = await analysis.publish_release(
        session, quarter=then, industry=Industry.lighting, note=None, actor="office-staff"
    )
    frozen = release.figures
    assert frozen["enterprises"] == 1
    assert frozen["credit_levels"] == {"A": 0, "B": 1, "C": 0, "D": 0, "unrated": 0}
    # later changes leave the release as it was published
    await level(session, member, "C", 3, datetime.now(UTC))
    await membership(session, member, "removed")
    assert (await analysis.get_release(session, release.id)).figures == frozen
    (recomputed,) = await analysis.compute(session, quarter=then, industry=Industry.lighting)
    assert recomputed.enterprises == 1 and recomputed.credit_levels.B == 1  # still as of then
