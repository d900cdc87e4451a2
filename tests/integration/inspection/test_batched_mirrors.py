"""Registry's batches and surveys taken a run at a time (the demo history's and a bulk
upload's thousands of events): the same rows as one at a time, the last of a run winning
for a batch or year named twice, a supplier lot left out, and a signal waiting on one of
the run's batches matched."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.bulk import Lines
from kit.events import BatchRecorded, SurveyRecorded
from services.inspection import consumers
from services.inspection.directory.models import SurveyMirror
from services.inspection.risk import signals
from services.inspection.risk.models import BatchMirror, Signal
from services.inspection.risk.schemas import SignalIn
from tests.integration.inspection.conftest import Listed, event


def batch(uscc: str, number: str, batch_id: str, **more: object) -> BatchRecorded:
    return BatchRecorded.model_validate(
        {"batch_id": batch_id, "uscc": uscc, "number": number, "kind": "export", **more}
    )


async def test_a_run_of_batches_is_mirrored_as_one_at_a_time(
    session: AsyncSession, listed: Listed
) -> None:
    maker = await listed()
    first, second, lot = (str(uuid.uuid4()) for _ in range(3))
    run = [
        batch(maker, "NH-RUN-1", first, export_value_usd=100, destination="US"),
        batch(maker, "NH-RUN-2", second, ship_date=date(2025, 5, 1)),
        batch(maker, "NH-LOT-1", lot, kind="supplier"),
        batch(maker, "NH-RUN-1", first, export_value_usd=250, destination="DE"),  # replaced
    ]
    await consumers.on_batches(
        session,
        [(b, event("registry", "registry.batch.recorded.v1", maker, b)) for b in run],
    )
    rows = {
        str(m.id): m
        for m in await session.scalars(select(BatchMirror).where(BatchMirror.uscc == maker))
    }
    assert set(rows) == {first, second}  # the supplier lot is no export batch
    assert (rows[first].export_value_usd, rows[first].destination) == (250, "DE")
    assert rows[second].ship_date == date(2025, 5, 1)

    again = batch(maker, "NH-RUN-2", second, ship_date=date(2025, 6, 1))
    await consumers.on_batch(
        session, again, event("registry", "registry.batch.recorded.v1", maker, again)
    )
    mirrored = await session.get_one(BatchMirror, uuid.UUID(second), populate_existing=True)
    assert mirrored.ship_date == date(2025, 6, 1)


async def test_a_signal_waiting_on_a_batch_of_the_run_is_matched(
    session: AsyncSession, office: Principal, listed: Listed
) -> None:
    maker = await listed()
    declaration = f"3102{uuid.uuid4().int % 10**14:014d}"
    waiting = SignalIn.model_validate(
        {
            "kind": "foreign_notification",
            "reference": f"A12/{declaration}/run",
            "notified_at": datetime(2025, 9, 1, tzinfo=UTC),
            "notifying_country": "DE",
            "risk_level": "high",
            "product": "台灯",
            "declaration_no": declaration,
        }
    )
    _, recorded = await signals.record_signals(
        session, Lines(single=True, good=[(1, waiting)]), office
    )
    assert [s.status for s in recorded] == ["unmatched"]

    run = [
        batch(maker, f"NH-W-{n}", str(uuid.uuid4()), declaration_no=f"{declaration[:-1]}{n}")
        for n in range(3)
    ] + [batch(maker, "NH-W-9", str(uuid.uuid4()), declaration_no=declaration)]
    await consumers.on_batches(
        session,
        [(b, event("registry", "registry.batch.recorded.v1", maker, b)) for b in run],
    )
    signal = await session.scalar(
        select(Signal)
        .where(Signal.reference == waiting.reference)
        .execution_options(populate_existing=True)
    )
    assert signal is not None and signal.status != "unmatched"
    assert (signal.uscc, signal.match_method) == (maker, "declaration_no")


async def test_a_run_of_surveys_keeps_each_year_last_as_sent(
    session: AsyncSession, listed: Listed
) -> None:
    maker = await listed()

    def survey(year: int, usd: int, notes: int = 0) -> SurveyRecorded:
        return SurveyRecorded(
            uscc=maker, year=year, annual_export_usd=usd, foreign_notifications=notes, returns=0
        )

    await consumers.on_survey(
        session,
        survey(2022, 10),
        event("registry", "registry.survey.recorded.v1", maker, survey(2022, 10)),
    )
    run = [survey(2022, 20), survey(2023, 30), survey(2023, 35, notes=1), survey(2024, 40)]
    await consumers.on_surveys(
        session,
        [(s, event("registry", "registry.survey.recorded.v1", maker, s)) for s in run],
    )
    rows = await session.execute(
        select(
            SurveyMirror.year, SurveyMirror.annual_export_usd, SurveyMirror.foreign_notifications
        )
        .where(SurveyMirror.uscc == maker)
        .order_by(SurveyMirror.year)
    )
    assert [tuple(r) for r in rows] == [(2022, 20, 0), (2023, 35, 1), (2024, 40, 0)]
