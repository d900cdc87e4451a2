"""The rescoring worker: runs queued jobs chunk by chunk, resumably, one at a time.

Each service process runs `Rescorer.run_forever`; a session-level advisory lock on a
dedicated connection makes one of them the worker (if it dies, its connection closes and
another takes over). A chunk locks its enterprises (so a fact arriving meanwhile waits and
then rescores under the same model), reads their facts, scores them, writes scores, level
changes and outbox events, and advances the job's `last_uscc`, all in one transaction: memory
is bounded by the chunk, and a restarted job resumes after the last committed chunk.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import timedelta
from itertools import groupby
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from kit import locks
from kit.db import utcnow
from kit.events import CreditLevelChanged, make_event
from kit.ids import uuid7
from kit.locks import Lock
from kit.outbox import emit
from kit.problems import is_outage
from services.credit.config import CreditSettings
from services.credit.events import SOURCE
from services.credit.facts.models import Fact
from services.credit.policy import service as policy
from services.credit.policy.models import ModelVersion, RescoreJob
from services.credit.scores.models import CreditEnterprise, LevelChange
from services.credit.scores.service import FACT_COLUMNS, fact_input
from services.credit.scoring import ScoringModel, evaluate

log = logging.getLogger("credit.jobs")

MAX_ATTEMPTS = 3  # a job failing this often in a row is marked failed, with its error
DECAY_CHECK_S = 300.0
UPDATE_SCORES = text(
    """
    UPDATE scores AS e
    SET score = v.score, level = v.level, model_version = :version, computed_at = :at,
        version = e.version + 1
    FROM unnest(CAST(:usccs AS text[]), CAST(:scores AS float8[]), CAST(:levels AS text[]))
        AS v(uscc, score, level)
    WHERE e.uscc = v.uscc
    RETURNING e.uscc, e.version
    """
)
CAUSES = {"model": "model v{v} in force", "decay": "time decay and expiries", "manual": "rescored"}


class Rescorer:
    """Picks up rescoring jobs and runs them."""

    def __init__(
        self,
        engine: AsyncEngine,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: CreditSettings,
    ):
        self.engine = engine
        self.sessionmaker = sessionmaker
        self.settings = settings
        self._decay_checked = 0.0
        self._failures: dict[uuid.UUID, int] = {}

    async def run_forever(self) -> None:
        """Hold the worker lock while working; poll for jobs."""
        while True:
            try:
                async with self.engine.connect() as lock_conn:
                    locked = await locks.try_hold_session(lock_conn, Lock.CREDIT_RESCORER)
                    await lock_conn.commit()
                    if locked:
                        try:
                            while True:
                                await lock_conn.execute(text("SELECT 1"))  # still holding?
                                await lock_conn.commit()
                                await self.run_pending()
                                await asyncio.sleep(self.settings.job_poll_s)
                        finally:
                            # Closed, not returned to the pool: the session lock goes with it.
                            await lock_conn.invalidate()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("rescoring worker paused (%r)", exc)
            await asyncio.sleep(max(self.settings.job_poll_s, 1.0) * 5)

    async def run_pending(self) -> None:
        """Queue a decay job when one is due, then run every unfinished job, oldest first."""
        await self._queue_decay_if_due()
        async with self.sessionmaker() as session:
            ids = list(
                await session.scalars(
                    select(RescoreJob.id)
                    .where(RescoreJob.status.in_(("queued", "running")))
                    .order_by(RescoreJob.created_at)
                )
            )
        for job_id in ids:
            try:
                await self.run_job(job_id)
                self._failures.pop(job_id, None)
            except Exception as exc:
                if is_outage(exc):
                    raise  # not the job's fault: the worker pauses and retries
                self._failures[job_id] = self._failures.get(job_id, 0) + 1
                log.exception(
                    "rescoring job %s failed (attempt %d)", job_id, self._failures[job_id]
                )
                if self._failures[job_id] >= MAX_ATTEMPTS:
                    await self._fail(job_id, exc)

    async def _fail(self, job_id: uuid.UUID, exc: Exception) -> None:
        async with self.sessionmaker() as session, session.begin():
            job = await session.get_one(RescoreJob, job_id, with_for_update=True)
            job.status, job.finished_at = "failed", utcnow()
            job.error = f"{type(exc).__name__}: {exc}"[:2000]
        self._failures.pop(job_id, None)

    async def _queue_decay_if_due(self) -> None:
        if time.monotonic() - self._decay_checked < DECAY_CHECK_S:
            return
        self._decay_checked = time.monotonic()
        since = utcnow() - timedelta(seconds=self.settings.decay_interval_s)
        async with self.sessionmaker() as session, session.begin():
            recent = await session.scalar(select(func.count()).where(RescoreJob.created_at > since))
            stale = await session.scalar(
                select(CreditEnterprise.uscc).where(CreditEnterprise.computed_at < since).limit(1)
            )
            if recent or stale is None:
                return
            version, _ = await policy.current(session)
            await policy.queue_job(session, version=version, reason="decay", actor="system")

    async def run_job(self, job_id: uuid.UUID) -> None:
        """Run (or resume) one job to its end."""
        async with self.sessionmaker() as session, session.begin():
            job = await session.get_one(RescoreJob, job_id, with_for_update=True)
            newest = await session.scalar(select(func.max(ModelVersion.version)))
            if job.model_version != newest:
                job.status, job.finished_at = "superseded", utcnow()
                return
            if job.status == "queued":
                job.status, job.started_at = "running", utcnow()
                job.total = await session.scalar(select(func.count(CreditEnterprise.uscc))) or 0
            model = await policy.model_of(session, job.model_version)
            cause = CAUSES[job.reason].format(v=job.model_version)
        log.info("rescoring job %s (%s) started", job_id, cause)
        started = time.monotonic()
        while await self._chunk(job_id, model, cause):
            pass
        log.info("rescoring job %s finished in %.1fs", job_id, time.monotonic() - started)

    async def _chunk(self, job_id: uuid.UUID, model: ScoringModel, cause: str) -> bool:
        """Rescore the next chunk; False when the job has ended."""
        async with self.sessionmaker() as session, session.begin():
            job = await session.get_one(RescoreJob, job_id, with_for_update=True)
            if job.status != "running":
                return False
            rows = (
                await session.execute(
                    select(CreditEnterprise.uscc, CreditEnterprise.level)
                    .where(CreditEnterprise.uscc > job.last_uscc)
                    .order_by(CreditEnterprise.uscc)
                    .limit(self.settings.rescore_chunk)
                    .with_for_update()
                )
            ).all()
            # Checked after the rows are locked: a model published before this point is
            # seen here, and a fact scored under it cannot be overwritten with older scores.
            newest = await session.scalar(select(func.max(ModelVersion.version)))
            if job.model_version != newest:  # a newer model's job will redo everyone
                job.status, job.finished_at = "superseded", utcnow()
                return False
            if not rows:
                job.status, job.finished_at = "done", utcnow()
                return False
            usccs = [r.uscc for r in rows]
            facts = await session.execute(
                select(Fact.uscc, *FACT_COLUMNS)
                .where(Fact.uscc.in_(usccs))
                .order_by(Fact.uscc, Fact.occurred_at, Fact.id)
            )
            by_uscc = {u: [fact_input(r[1:]) for r in group] for u, group in _grouped(facts)}
            now = utcnow()
            scores, levels, changes = [], [], []
            for uscc, old_level in rows:
                evaluation = evaluate(model, by_uscc.get(uscc, ()), now, explain=False)
                scores.append(evaluation.score)
                levels.append(evaluation.level.value)
                if evaluation.level.value != old_level:
                    changes.append((uscc, old_level, evaluation.level.value, evaluation.score))
            updated = await session.execute(
                UPDATE_SCORES,
                {
                    "usccs": usccs,
                    "scores": scores,
                    "levels": levels,
                    "version": job.model_version,
                    "at": now,
                },
            )
            sequences: dict[str, int] = dict(updated.all())
            await self._record_changes(session, job, changes, sequences, cause, now)
            job.processed += len(rows)
            job.level_changes += len(changes)
            job.last_uscc = usccs[-1]
            return True

    @staticmethod
    async def _record_changes(
        session: AsyncSession,
        job: RescoreJob,
        changes: Sequence[tuple[str, str, str, float]],
        sequences: dict[str, int],
        cause: str,
        now: Any,
    ) -> None:
        if not changes:
            return
        await session.execute(
            insert(LevelChange),
            [
                {
                    "id": uuid7(),
                    "uscc": uscc,
                    "from_level": old,
                    "to_level": new,
                    "score": score,
                    "model_version": job.model_version,
                    "cause": cause,
                    "job_id": job.id,
                    "changed_at": now,
                }
                for uscc, old, new, score in changes
            ],
        )
        await emit(
            session,
            *(
                make_event(
                    source=SOURCE,
                    type="credit.level.changed.v1",
                    subject=uscc,
                    data=CreditLevelChanged(
                        uscc=uscc,
                        from_level=old,
                        to_level=new,  # type: ignore[arg-type]
                        score=score,
                        model_version=job.model_version,
                        cause=cause,
                        sequence=sequences[uscc],
                    ),
                )
                for uscc, old, new, score in changes
            ),
        )


def _grouped(rows: Any) -> Iterator[tuple[str, Iterator[Any]]]:
    return groupby(rows, key=lambda r: r[0])
