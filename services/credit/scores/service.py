"""Scores: announce enterprises, rescore one under the model in force, explain, simulate."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from kit.db import Prepared, Reads, utcnow
from kit.events import CreditLevelChanged, EnterpriseRegistered, make_event
from kit.ids import uuid7
from kit.outbox import emit
from kit.pagination import PageParams, keyset_page
from kit.problems import NotFound, ProblemError
from kit.uscc import normalize
from services.credit.config import settings
from services.credit.domain import LEVEL_NAMES, LEVEL_ORDER, Level
from services.credit.events import SOURCE, publish
from services.credit.facts.models import Fact
from services.credit.policy import service as policy
from services.credit.scores.models import CreditEnterprise, LevelChange
from services.credit.scores.schemas import (
    ContributionOut,
    ScoreOut,
    SimulateIn,
    SimulationOut,
)
from services.credit.scoring import Evaluation, FactInput, evaluate

FACT_COLUMNS = (
    Fact.id,
    Fact.kind,
    Fact.severity,
    Fact.occurred_at,
    Fact.expires_at,
    Fact.ended_at,
    Fact.amount,
)


def fact_input(row: Sequence[object]) -> FactInput:
    """A `FACT_COLUMNS` row as scoring input."""
    fid, kind, severity, occurred_at, expires_at, ended_at, amount = row
    return FactInput(
        str(fid),
        kind,  # type: ignore[arg-type]
        severity,  # type: ignore[arg-type]
        occurred_at,  # type: ignore[arg-type]
        expires_at,  # type: ignore[arg-type]
        ended_at,  # type: ignore[arg-type]
        float(amount) if amount is not None else None,  # type: ignore[arg-type]
    )


async def facts_of(session: AsyncSession, uscc: str) -> list[FactInput]:
    """Every fact about an enterprise, oldest first."""
    return [fact_input(tuple(r.values())) for r in await _FACTS.all(session, uscc=uscc)]


# Every score read and rescoring asks for an enterprise's facts (kit.db.Prepared).
_FACTS = Prepared(
    select(*FACT_COLUMNS).where(Fact.uscc == bindparam("uscc")).order_by(Fact.occurred_at, Fact.id)
)


async def get(session: AsyncSession, uscc: str, *, for_update: bool = False) -> CreditEnterprise:
    """An enterprise registry announced, or 404."""
    key = normalize(uscc)
    enterprise = await session.get(
        CreditEnterprise, key, with_for_update=for_update, populate_existing=for_update
    )
    if enterprise is None:
        raise NotFound("enterprise", key)
    return enterprise


async def get_announced(session: AsyncSession, uscc: str) -> CreditEnterprise:
    """The enterprise, locked, waiting briefly for registry's announcement to arrive.

    Registering an enterprise and sending a fact about it right away is normal use; the
    registration reaches credit as an event a few milliseconds later.
    """
    deadline = time.monotonic() + settings.announce_wait_s
    while True:
        enterprise = await session.get(CreditEnterprise, uscc, with_for_update=True)
        if enterprise is not None:
            return enterprise
        if time.monotonic() >= deadline:
            raise ProblemError(
                "not-found",
                f"enterprise '{uscc}' has not been registered in the registry; "
                "credit facts are accepted only for registered enterprises",
                detail_zh=f"企业“{uscc}”尚未在 registry 登记；只接受已登记企业的信用事实",
                resource="enterprise",
                key=uscc,
            )
        await asyncio.sleep(0.1)


# A run of announcements in two prebuilt statements, whatever its length (one compiled and
# prepared statement each, not a multi-row INSERT built and compiled per run).
ANNOUNCE = text(
    """
    INSERT INTO scores
        (uscc, name, industry, registered_at, score, level, model_version, computed_at, version)
    SELECT t.uscc, t.name, t.industry, t.at, t.score, t.level, :version, t.at, 1
    FROM unnest(CAST(:usccs AS text[]), CAST(:names AS text[]), CAST(:industries AS text[]),
                CAST(:ats AS timestamptz[]), CAST(:scores AS float8[]), CAST(:levels AS text[]))
        AS t(uscc, name, industry, at, score, level)
    ON CONFLICT DO NOTHING
    RETURNING uscc
    """
)
FIRST_LEVELS = text(
    """
    INSERT INTO level_changes
        (id, uscc, from_level, to_level, score, model_version, cause, changed_at)
    SELECT t.id, t.uscc, NULL, t.level, t.score, :version, :cause, t.at
    FROM unnest(CAST(:ids AS uuid[]), CAST(:usccs AS text[]), CAST(:levels AS text[]),
                CAST(:scores AS float8[]), CAST(:ats AS timestamptz[]))
        AS t(id, uscc, level, score, at)
    """
)


async def announce(
    session: AsyncSession, registered: Sequence[tuple[EnterpriseRegistered, datetime]]
) -> None:
    """Registry announced enterprises (each at its event's time): each starts at the base
    score, at the level that gives, with its first level change and event. A run of
    announcements (an import's registrations) is three statements; one announced before is
    left as it is."""
    version, model = await policy.current(session)
    first = {e.uscc: (e, at) for e, at in reversed(registered)}  # the first one counts
    evaluations = {uscc: evaluate(model, [], at) for uscc, (_, at) in first.items()}
    usccs = list(first)
    created = set(
        await session.scalars(
            ANNOUNCE,
            {
                "usccs": usccs,
                "names": [first[u][0].name for u in usccs],
                "industries": [first[u][0].industry for u in usccs],
                "ats": [first[u][1] for u in usccs],
                "scores": [evaluations[u].score for u in usccs],
                "levels": [evaluations[u].level.value for u in usccs],
                "version": version,
            },
        )
    )
    if not created:
        return
    cause = "registered: base score"
    new = [u for u in usccs if u in created]
    await session.execute(
        FIRST_LEVELS,
        {
            "ids": [uuid7() for _ in new],
            "usccs": new,
            "levels": [evaluations[u].level.value for u in new],
            "scores": [evaluations[u].score for u in new],
            "ats": [evaluations[u].at for u in new],
            "version": version,
            "cause": cause,
        },
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
                    from_level=None,
                    to_level=evaluations[uscc].level.value,
                    score=evaluations[uscc].score,
                    model_version=version,
                    cause=cause,
                    sequence=1,
                ),
            )
            for uscc in new
        ),
    )


async def rescore(
    session: AsyncSession,
    enterprise: CreditEnterprise,
    *,
    cause: str,
    fact_id: uuid.UUID | None = None,
) -> Evaluation:
    """Score a locked enterprise from its facts under the model in force, now; a level
    change is stored with its cause and emitted as `credit.level.changed`."""
    version, model = await policy.current(session)
    now = utcnow()
    evaluation = evaluate(model, await facts_of(session, enterprise.uscc), now, explain=False)
    previous = enterprise.level
    enterprise.score = evaluation.score
    enterprise.level = evaluation.level.value
    enterprise.model_version = version
    enterprise.computed_at = now
    enterprise.version += 1
    if previous != evaluation.level.value:
        await _level_changed(
            session,
            uscc=enterprise.uscc,
            from_level=previous,
            evaluation=evaluation,
            version=version,
            cause=cause,
            fact_id=fact_id,
            sequence=enterprise.version,
        )
    return evaluation


async def _level_changed(
    session: AsyncSession,
    *,
    uscc: str,
    from_level: str | None,
    evaluation: Evaluation,
    version: int,
    cause: str,
    sequence: int,
    fact_id: uuid.UUID | None = None,
) -> None:
    session.add(
        LevelChange(
            uscc=uscc,
            from_level=from_level,
            to_level=evaluation.level.value,
            score=evaluation.score,
            model_version=version,
            cause=cause,
            fact_id=fact_id,
            changed_at=evaluation.at,
        )
    )
    await publish(
        session,
        "credit.level.changed.v1",
        uscc,
        CreditLevelChanged(
            uscc=uscc,
            from_level=from_level,
            to_level=evaluation.level.value,
            score=evaluation.score,
            model_version=version,
            cause=cause,
            fact_id=str(fact_id) if fact_id else None,
            sequence=sequence,
        ),
    )


# A score read's one statement (kit.db.Prepared): the enterprise's row and its facts, oldest
# first, one row per fact (one row of NULL facts for an enterprise without any).
_FACT_LABELS = tuple(f"fact_{column.key}" for column in FACT_COLUMNS)
_SCORED = Prepared(
    select(
        CreditEnterprise.__table__,
        *(column.label(label) for column, label in zip(FACT_COLUMNS, _FACT_LABELS, strict=True)),
    )
    .select_from(CreditEnterprise.__table__.outerjoin(Fact, Fact.uscc == CreditEnterprise.uscc))
    .where(CreditEnterprise.uscc == bindparam("uscc"))
    .order_by(Fact.occurred_at, Fact.id)
)


async def search(
    session: AsyncSession,
    *,
    page: PageParams,
    level: str | None,
    industry: str | None,
    only_uscc: str | None,
) -> tuple[list[CreditEnterprise], str | None]:
    """Enterprises with their current level, by USCC."""
    query = select(CreditEnterprise)
    if level:
        query = query.where(CreditEnterprise.level == level)
    if industry:
        query = query.where(CreditEnterprise.industry == industry)
    if only_uscc is not None:
        query = query.where(CreditEnterprise.uscc == only_uscc)
    return await keyset_page(session, query, keys=[CreditEnterprise.uscc], page=page)


async def history(
    session: AsyncSession, uscc: str, page: PageParams
) -> tuple[list[LevelChange], str | None]:
    """Level changes, newest first."""
    await get(session, uscc)
    query = select(LevelChange).where(LevelChange.uscc == normalize(uscc))
    return await keyset_page(
        session, query, keys=[LevelChange.changed_at, LevelChange.id], page=page, descending=True
    )


async def distribution(session: AsyncSession, industry: str | None) -> dict[str, int]:
    """How many enterprises are at each level."""
    query = select(CreditEnterprise.level, func.count()).group_by(CreditEnterprise.level)
    if industry:
        query = query.where(CreditEnterprise.industry == industry)
    counts = dict((await session.execute(query)).all())
    return {level.value: counts.get(level.value, 0) for level in LEVEL_ORDER}


def _contributions(evaluation: Evaluation) -> list[ContributionOut]:
    return [ContributionOut.model_validate(c) for c in evaluation.contributions]


async def score_view(on: Reads, uscc: str) -> tuple[ScoreOut, int]:
    """An enterprise's stored score (USCC normalised) with its explanation and the measures
    of its level, and the row's version (the ETag), in one round trip; or 404. The
    contributions come from the same function, facts and model version at the stored
    `computed_at`, so they add up to the stored score. The key lookup runs it on the read
    pool, without a session."""
    key = normalize(uscc)
    rows = await _SCORED.all(on, uscc=key)
    if not rows:
        raise NotFound("enterprise", key)
    row = rows[0]
    facts = [
        fact_input(tuple(fact[label] for label in _FACT_LABELS))
        for fact in rows
        if fact["fact_id"] is not None
    ]
    model = await policy.model_of(on, row["model_version"])
    evaluation = evaluate(model, facts, row["computed_at"])
    level = Level(row["level"])
    view = ScoreOut(
        uscc=row["uscc"],
        name=row["name"],
        industry=row["industry"],
        score=row["score"],
        level=row["level"],
        model_version=row["model_version"],
        computed_at=row["computed_at"],
        level_name_zh=LEVEL_NAMES[level][0],
        level_name_en=LEVEL_NAMES[level][1],
        band_level=evaluation.band_level.value,
        base_score=model.base_score,
        contributions=_contributions(evaluation),
        overrides=evaluation.overrides,
        measures=model.measures.get(level, []),
    )
    return view, row["version"]


async def simulate(session: AsyncSession, body: SimulateIn) -> SimulationOut:
    """Evaluate without writing: its facts minus some, plus hypothetical ones, under a model."""
    enterprise = await get(session, body.uscc)
    facts = await facts_of(session, enterprise.uscc)
    known = {f.id for f in facts}
    unknown = [str(i) for i in body.remove_fact_ids if str(i) not in known]
    if unknown:
        raise ProblemError(
            "validation",
            f"remove_fact_ids: {', '.join(unknown[:5])} are not facts of {enterprise.uscc}",
            detail_zh=f"remove_fact_ids：{'、'.join(unknown[:5])} 不是 {enterprise.uscc} 的信用事实",
            errors=[
                {
                    "field": "remove_fact_ids",
                    "reason": "not a fact of this enterprise",
                    "reason_zh": "不是该企业的信用事实",
                }
            ],
        )
    removed = {str(i) for i in body.remove_fact_ids}
    facts = [f for f in facts if f.id not in removed]
    for i, added in enumerate(body.add_facts):
        facts.append(
            FactInput(
                f"hypothetical-{i + 1}",
                added.kind.value,
                added.severity.value,
                added.occurred_at,
                added.expires_at,
                None,
                float(added.amount) if added.amount is not None else None,
            )
        )
    if body.model is not None:
        version, model = None, body.model
    else:
        version, model = await policy.current(session)
    evaluation = evaluate(model, facts, utcnow())
    return SimulationOut(
        uscc=enterprise.uscc,
        current_score=enterprise.score,
        current_level=enterprise.level,  # type: ignore[arg-type]
        score=evaluation.score,
        level=evaluation.level.value,
        band_level=evaluation.band_level.value,
        level_changes=evaluation.level.value != enterprise.level,
        model_version=version,
        contributions=_contributions(evaluation),
        overrides=evaluation.overrides,
    )
