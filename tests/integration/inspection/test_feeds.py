"""The Safety Gate importer against the inspection database: the fixture export recorded
through `record_signals` (a match raises its alert and event), a dry run leaving no row and
no event, the same file again changing nothing."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.feed_imports import import_file
from services.inspection.feeds.models import FeedImport, FeedImportOutcome
from services.inspection.feeds.service import FEED
from services.inspection.risk.models import BatchMirror, Signal
from tests.integration.conftest import emitted
from tests.integration.inspection.conftest import Listed

EXPORT = (Path(__file__).parents[2] / "fixtures" / "feeds" / "safety-gate-alerts.xlsx").read_bytes()
REFERENCES = ["A12/01501/26", "A12/01502/26", "A12/01503/26", "A12/01504/26"]


async def run(session: AsyncSession, office: Principal, *, dry_run: bool = False) -> FeedImport:
    job: FeedImport = await import_file(
        session,
        FEED,
        FeedImport,
        FeedImportOutcome,
        content=EXPORT,
        filename="alerts.xlsx",
        dry_run=dry_run,
        principal=office,
    )
    return job


async def signals(session: AsyncSession) -> int:
    query = select(func.count()).select_from(Signal).where(Signal.reference.in_(REFERENCES))
    return int(await session.scalar(query) or 0)


async def test_a_dry_run_records_nothing_and_the_import_once(
    session: AsyncSession, office: Principal, listed: Listed
) -> None:
    maker = await listed()
    session.add(BatchMirror(id=uuid.uuid4(), uscc=maker, number="HY-LOT-2609", brand="Haiyu"))
    await session.flush()

    dry = await run(session, office, dry_run=True)
    assert dry.counts == {"rows": 6, "created": 4, "updated": 0, "unchanged": 0, "rejected": 2}
    assert await signals(session) == 0 and await emitted(session) == []

    job = await run(session, office)
    assert job.counts == dry.counts
    assert await signals(session) == 4
    toy = await session.scalar(select(Signal).where(Signal.reference == "A12/01501/26"))
    assert toy is not None and toy.uscc == maker and toy.match_method == "batch_number"
    assert toy.source_agency == "commerce" and toy.alert_id is not None
    raised = [e for e in await emitted(session) if e[0] == "inspection.alert.raised.v1"]
    assert [(subject, data["reference"]) for _, subject, data in raised] == [
        (maker, "A12/01501/26")
    ]
    outcomes = (
        await session.scalars(
            select(FeedImportOutcome)
            .where(FeedImportOutcome.job_id == job.id)
            .order_by(FeedImportOutcome.row)
        )
    ).all()
    assert [(o.row, o.outcome, o.field) for o in outcomes] == [
        (2, "created", None),
        (3, "created", None),
        (4, "created", None),
        (5, "created", None),
        (6, "rejected", "country_of_origin"),
        (7, "rejected", "alert_number"),
    ]
    assert outcomes[-1].cells is not None and outcomes[-1].reason_zh == "缺少通报编号"

    events = len(await emitted(session))
    again = await run(session, office)
    assert again.counts == {"rows": 6, "created": 0, "updated": 0, "unchanged": 4, "rejected": 2}
    assert await signals(session) == 4 and len(await emitted(session)) == events
