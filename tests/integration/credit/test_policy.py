"""Scoring model versions: publishing one is announced with its rescoring job, the job
rescores everyone under it (levels changed, announced with their sequence), and a job for an
older version gives way."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kit.auth import Principal
from kit.measures import DEFAULTS
from services.credit.config import settings
from services.credit.domain import FactKind, Severity
from services.credit.facts import service as facts
from services.credit.facts.schemas import FactIn
from services.credit.policy import jobs, service
from services.credit.policy.models import ModelVersion, RescoreJob
from services.credit.policy.schemas import ModelIn
from services.credit.scores.models import CreditEnterprise, LevelChange
from services.credit.scoring import DEFAULT_MODEL
from tests.integration.conftest import emitted

Announced = Callable[..., Awaitable[str]]


@pytest.fixture(autouse=True)
def _fresh_model_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parsed versions are cached by number; a version 2 of this test is rolled back."""
    monkeypatch.setattr(service, "_parsed", {})


def _rescorer(session: AsyncSession) -> jobs.Rescorer:
    """The rescoring worker, its transactions savepoints of the test's."""
    sessions = async_sessionmaker(
        bind=session.bind,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
        autoflush=False,
    )
    return jobs.Rescorer(session.bind, sessions, settings)  # type: ignore[arg-type]


def _lenient() -> ModelIn:
    """The default model with a general failed spot check costing 5 points, not 12."""
    body = DEFAULT_MODEL.model_dump(mode="json")
    body["weights"][FactKind.spot_check_fail.value][Severity.general.value] = -5
    return ModelIn.model_validate({**body, "note": "抽查不合格扣分下调"})


async def _failed_check(session: AsyncSession, uscc: str, samr: Principal) -> None:
    fact_in = FactIn.model_validate(
        {
            "uscc": uscc,
            "kind": "spot_check_fail",
            "occurred_at": datetime.now(UTC) - timedelta(days=1),
        }
    )
    await facts.submit(session, fact_in=fact_in, principal=samr)


async def test_a_published_model_is_announced_and_its_job_rescores_everyone(
    session: AsyncSession, office: Principal, samr: Principal, announced: Announced
) -> None:
    failed, clean = await announced(), await announced()
    await _failed_check(session, failed, samr)  # 100 − 12 = 88: C
    assert (await session.get_one(CreditEnterprise, failed)).level == "C"

    after = await service.lock_current(session)
    row, job = await service.publish_version(
        session, model_in=_lenient(), principal=office, after=after
    )
    assert (row.version, row.created_by, row.note) == (2, "office-staff", "抽查不合格扣分下调")
    assert (job.model_version, job.reason, job.status) == (2, "model", "queued")
    measures = {lv: e.model_dump() for lv, e in DEFAULTS.items()}  # the lenient model's
    assert [(s, d) for t, s, d in await emitted(session) if t == "credit.model.published.v1"] == [
        ("2", {"version": 2, "job_id": str(job.id), "measures": measures})
    ]

    await _rescorer(session).run_job(job.id)

    done = await session.get_one(RescoreJob, job.id, populate_existing=True)
    assert (done.status, done.total, done.processed, done.level_changes) == ("done", 2, 2, 1)
    rescored = await session.get_one(CreditEnterprise, failed, populate_existing=True)
    assert (round(rescored.score), rescored.level, rescored.model_version) == (95, "B", 2)
    untouched = await session.get_one(CreditEnterprise, clean, populate_existing=True)
    assert (untouched.level, untouched.model_version) == ("B", 2)
    change = await session.scalar(select(LevelChange).where(LevelChange.job_id == job.id))
    assert change is not None and (change.uscc, change.from_level, change.to_level) == (
        failed,
        "C",
        "B",
    )
    last = [d for t, s, d in await emitted(session) if t == "credit.level.changed.v1"][-1]
    expected = {
        "uscc": failed,
        "from_level": "C",
        "to_level": "B",
        "model_version": 2,
        "cause": "model v2 in force",
        "sequence": rescored.version,
    }
    assert {k: last[k] for k in expected} == expected
    assert rescored.version == 3  # announced, the fact, the job


async def test_a_job_for_an_older_model_is_superseded_and_changes_nothing(
    session: AsyncSession, office: Principal, samr: Principal, announced: Announced
) -> None:
    uscc = await announced()
    await _failed_check(session, uscc, samr)
    manual = await service.start_manual(session, "office-staff")
    assert (manual.model_version, manual.reason) == (1, "manual")
    await service.publish_version(
        session, model_in=_lenient(), principal=office, after=await service.lock_current(session)
    )
    assert (
        await session.scalar(select(ModelVersion.version).order_by(ModelVersion.version.desc()))
        == 2
    )

    await _rescorer(session).run_job(manual.id)

    job = await session.get_one(RescoreJob, manual.id, populate_existing=True)
    assert (job.status, job.processed) == ("superseded", 0)
    enterprise = await session.get_one(CreditEnterprise, uscc, populate_existing=True)
    assert (enterprise.level, enterprise.model_version) == ("C", 1)


async def test_a_version_whose_publication_rolled_back_is_not_remembered(
    session: AsyncSession, office: Principal
) -> None:
    lost = _lenient()
    async with session.begin_nested() as attempt:  # a PUT whose commit then fails
        row, _ = await service.publish_version(
            session, model_in=lost, principal=office, after=await service.lock_current(session)
        )
        service.parse(row)  # what the PUT's answer (router._out) does before the commit
        await attempt.rollback()

    stored = ModelIn.model_validate({**DEFAULT_MODEL.model_dump(mode="json"), "note": "v2"})
    await service.publish_version(
        session, model_in=stored, principal=office, after=await service.lock_current(session)
    )
    version, model = await service.current(session)
    assert version == 2
    assert model == DEFAULT_MODEL  # scored under the version stored, not the one rolled back


async def test_a_changed_measure_is_announced_with_the_version(
    session: AsyncSession, office: Principal
) -> None:
    """联合奖惩 as data: the A ratio changed to 0.5 goes out with version 2, resolved per
    level, and `GET /v1/credit/measures` says so."""
    body = DEFAULT_MODEL.model_dump(mode="json")
    body["measures"]["A"][0]["params"]["inspection_ratio"] = 0.5
    await service.publish_version(
        session,
        model_in=ModelIn.model_validate(body),
        principal=office,
        after=await service.lock_current(session),
    )
    (published,) = [d for t, _, d in await emitted(session) if t == "credit.model.published.v1"]
    assert published["measures"]["A"]["inspection_ratio"] == 0.5
    assert published["measures"]["D"] == {
        "inspection_ratio": 1.0,
        "honours_eligible": False,
        "zone_admission": "refused",
        "removal_review": True,
    }
    version, model = await service.current(session)
    out = service.measures_of(version, model)
    assert (out.model_version, out.levels[0].in_force.inspection_ratio) == (2, 0.5)
    assert out.levels[2].in_force.zone_admission == "review"


async def test_the_measures_in_force_are_announced_once_at_start(
    session: AsyncSession, office: Principal
) -> None:
    """Version 1 (and any version stored before #17) was never announced: the start does it
    once, so registry and inspection hold what is in force; a published version needs none."""
    await service.ensure_default(session)
    assert await service.announce_measures(session)
    assert not await service.announce_measures(session)  # a restart: nothing again
    assert [
        (s, d["version"]) for t, s, d in await emitted(session) if t == "credit.model.published.v1"
    ] == [("1", 1)]
    await service.publish_version(
        session, model_in=_lenient(), principal=office, after=await service.lock_current(session)
    )
    assert not await service.announce_measures(session)
    published = [d for t, _, d in await emitted(session) if t == "credit.model.published.v1"]
    assert [d["version"] for d in published] == [1, 2]
    assert published[0]["measures"] == {lv: e.model_dump() for lv, e in DEFAULTS.items()}
