"""Scoring model versions: the one in force, new versions, and queueing rescoring jobs."""

from __future__ import annotations

import uuid

from sqlalchemy import bindparam, event, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction, object_session

from kit import locks
from kit.auth import Principal
from kit.db import Prepared, Reads, get_or_404, utcnow
from kit.events import ModelPublished
from kit.locks import Lock
from kit.pagination import PageParams, keyset_page
from kit.problems import NotFound
from services.credit.domain import LEVEL_NAMES, LEVEL_ORDER
from services.credit.events import publish
from services.credit.policy.models import ModelVersion, RescoreJob
from services.credit.policy.schemas import LevelMeasures, MeasuresOut, ModelIn
from services.credit.scoring import DEFAULT_MODEL, ScoringModel

_parsed: dict[int, ScoringModel] = {}  # versions are immutable: parse each once
_PARSED_HERE = "credit.parsed_versions"  # session.info key: versions cached in this transaction


def parse(version: ModelVersion) -> ScoringModel:
    """The validated model of a stored version (cached once its transaction commits: a
    version whose publication rolls back is forgotten, or a later, different version of
    that number would be scored with a body that was never stored)."""
    model = _parsed.get(version.version)
    if model is None:
        model = _parsed[version.version] = ScoringModel.model_validate(version.body)
        if (session := object_session(version)) is not None:
            session.info.setdefault(_PARSED_HERE, set()).add(version.version)
    return model


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    for version in session.info.pop(_PARSED_HERE, ()):
        _parsed.pop(version, None)


@event.listens_for(Session, "after_commit")
def _keep_committed(session: Session) -> None:
    session.info.pop(_PARSED_HERE, None)


async def ensure_default(session: AsyncSession) -> None:
    """Install version 1 from `DEFAULT_MODEL` when there is none (safe to race)."""
    await session.execute(
        insert(ModelVersion)
        .values(
            version=1,
            body=DEFAULT_MODEL.model_dump(mode="json"),
            note="default model (宁海 starting point)",
            created_by="system",
        )
        .on_conflict_do_nothing()
    )


async def announce_measures(session: AsyncSession) -> bool:
    """At the service's start: announce the measures of the version in force when they
    never were (version 1; a version stored before #17), so registry and inspection hold
    what is in force, not their defaults. True when it announced."""
    row = await current_row(session)
    row = await session.get_one(
        ModelVersion, row.version, with_for_update=True, populate_existing=True
    )
    if row.measures_announced_at is not None:
        return False
    row.measures_announced_at = utcnow()
    await session.flush()
    await publish(
        session,
        "credit.model.published.v1",
        str(row.version),
        ModelPublished(version=row.version, measures=parse(row).measures_in_force()),
    )
    return True


async def current_row(session: AsyncSession) -> ModelVersion:
    """The version in force (the highest)."""
    row = await session.scalar(select(ModelVersion).order_by(ModelVersion.version.desc()).limit(1))
    if row is None:
        await ensure_default(session)
        row = await session.get_one(ModelVersion, 1)
    return row


async def lock_current(session: AsyncSession) -> ModelVersion:
    """The version in force, read after taking the publishers' lock (until commit), so a
    concurrent PUT is seen and `If-Match` answers 412 rather than a clash on the key."""
    await locks.hold(session, Lock.CREDIT_MODEL)
    return await current_row(session)


# A version's body, read on the read pool (committed versions only, so cached at once).
_BODY = Prepared(select(ModelVersion.body).where(ModelVersion.version == bindparam("version")))


async def model_of(session: Reads, version: int) -> ScoringModel:
    """A version's model; its body is read from the database only the first time (`session`
    may be the read pool, which sees committed versions only)."""
    model = _parsed.get(version)
    if model is not None:
        return model
    if isinstance(session, AsyncSession):
        return parse(await get_version(session, version))
    rows = await _BODY.all(session, version=version)
    if not rows:
        raise NotFound("model version", str(version))
    return _parsed.setdefault(version, ScoringModel.model_validate(rows[0]["body"]))


async def current(session: AsyncSession) -> tuple[int, ScoringModel]:
    """(version, model) in force: the number is read each time, the body once per version
    (every fact and every score read asks)."""
    version = await session.scalar(select(func.max(ModelVersion.version)))
    if version is None:
        row = await current_row(session)
        return row.version, parse(row)
    return version, await model_of(session, version)


async def get_version(session: AsyncSession, version: int) -> ModelVersion:
    """One version, or 404."""
    return await get_or_404(session, ModelVersion, version, "model version")


async def list_versions(
    session: AsyncSession, page: PageParams
) -> tuple[list[ModelVersion], str | None]:
    """Newest first."""
    return await keyset_page(
        session, select(ModelVersion), keys=[ModelVersion.version], page=page, descending=True
    )


async def publish_version(
    session: AsyncSession, *, model_in: ModelIn, principal: Principal, after: ModelVersion
) -> tuple[ModelVersion, RescoreJob]:
    """Store the next version and queue the job that rescores everyone under it.

    `after` is the version in force, read under `lock_current`.
    """
    model = ScoringModel.model_validate(model_in.model_dump(exclude={"note"}))
    body = model.model_dump(mode="json")
    row = ModelVersion(
        version=after.version + 1,
        body=body,
        note=model_in.note,
        created_by=principal.subject,
        measures_announced_at=utcnow(),  # announced below, in the same transaction
    )
    session.add(row)
    job = await queue_job(session, version=row.version, reason="model", actor=principal.subject)
    await publish(
        session,
        "credit.model.published.v1",
        str(row.version),
        ModelPublished(
            version=row.version,
            job_id=str(job.id),
            measures=model.measures_in_force(),
        ),
    )
    return row, job


async def queue_job(session: AsyncSession, *, version: int, reason: str, actor: str) -> RescoreJob:
    """A queued rescoring job; a worker of the service picks it up within a second."""
    job = RescoreJob(model_version=version, reason=reason, created_by=actor)
    session.add(job)
    await session.flush()
    return job


async def get_job(session: AsyncSession, job_id: uuid.UUID) -> RescoreJob:
    """One job, or 404."""
    return await get_or_404(session, RescoreJob, job_id, "rescore job")


async def list_jobs(session: AsyncSession, page: PageParams) -> tuple[list[RescoreJob], str | None]:
    """Newest first."""
    return await keyset_page(
        session, select(RescoreJob), keys=[RescoreJob.id], page=page, descending=True
    )


def measures_of(version: int, model: ScoringModel) -> MeasuresOut:
    """The joint rewards and punishments of each level, and what they do."""
    in_force = model.measures_in_force()
    return MeasuresOut(
        model_version=version,
        levels=[
            LevelMeasures(
                level=level.value,
                name_zh=LEVEL_NAMES[level][0],
                name_en=LEVEL_NAMES[level][1],
                min_score=model.levels[level].min,
                max_score=model.levels[level].max,
                measures=model.measures.get(level, []),
                in_force=in_force[level.value],
            )
            for level in LEVEL_ORDER
        ],
    )


async def start_manual(session: AsyncSession, actor: str) -> RescoreJob:
    """Queue a rescoring of everyone under the model in force."""
    version, _ = await current(session)
    return await queue_job(session, version=version, reason="manual", actor=actor)
