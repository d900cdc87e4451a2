"""Mutual recognition (监管互认): grant, revoke, and answer whether an item is covered."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.db import get_or_404, utcnow
from kit.events import RecognitionChanged
from kit.pagination import PageParams, keyset_page
from kit.problems import Conflict, ProblemError
from services.credit.domain import RESULT_FACTS, ResultKind
from services.credit.events import publish
from services.credit.facts.models import Fact
from services.credit.facts.service import source_agency_of
from services.credit.recognitions.models import Recognition
from services.credit.recognitions.schemas import (
    CoverageOut,
    CoveringResult,
    RecognitionIn,
)
from services.credit.scores import service as scores

# A result's `details.checklist_items`: absent, not a list, or empty covers every item.
ITEM_COVERED = text(
    "(coalesce(jsonb_typeof(facts.details -> 'checklist_items'), 'null') <> 'array'"
    " OR facts.details -> 'checklist_items' = '[]'::jsonb"
    " OR facts.details -> 'checklist_items' @> jsonb_build_array(CAST(:item AS text)))"
)


async def _announce(session: AsyncSession, recognition: Recognition) -> None:
    await publish(
        session,
        f"credit.recognition.{'granted' if recognition.status == 'active' else 'revoked'}.v1",
        recognition.recognised_agency,
        RecognitionChanged(
            recognition_id=str(recognition.id),
            recognising_agency=recognition.recognising_agency,
            recognised_agency=recognition.recognised_agency,
            result_kind=recognition.result_kind,
            industries=recognition.industries,
            checklist_items=recognition.checklist_items,
            valid_from=recognition.valid_from,
            valid_to=recognition.valid_to,
            status=recognition.status,  # type: ignore[arg-type]
        ),
    )


async def grant(
    session: AsyncSession, *, recognition_in: RecognitionIn, principal: Principal
) -> Recognition:
    """Record a recognition and announce it."""
    recognising = source_agency_of(principal, recognition_in.recognising_agency)
    if recognising == recognition_in.recognised_agency:
        raise ProblemError(
            "validation",
            "an agency does not need to recognise its own results",
            detail_zh="部门无需互认自己的结果",
            errors=[
                {
                    "field": "recognised_agency",
                    "reason": "same as the recognising agency",
                    "reason_zh": "与互认部门相同",
                }
            ],
        )
    recognition = Recognition(
        **recognition_in.model_dump(exclude={"recognising_agency"}),
        recognising_agency=recognising,
        created_by=principal.subject,
    )
    session.add(recognition)
    await session.flush()
    await _announce(session, recognition)
    return recognition


async def get(
    session: AsyncSession, recognition_id: uuid.UUID, *, for_update: bool = False
) -> Recognition:
    """One recognition, or 404."""
    return await get_or_404(
        session, Recognition, recognition_id, "recognition", for_update=for_update
    )


async def revoke(
    session: AsyncSession, recognition: Recognition, *, reason: str, principal: Principal
) -> Recognition:
    """The recognising agency (or an admin) ends a recognition."""
    if not principal.is_admin and principal.agency != recognition.recognising_agency:
        raise ProblemError(
            "forbidden",
            "only the recognising agency may revoke its recognition",
            detail_zh="只有作出互认的部门可以撤销互认",
        )
    if recognition.status == "revoked":
        raise Conflict(
            "the recognition is already revoked",
            detail_zh="该互认已被撤销",
            revoked_at=str(recognition.revoked_at),
        )
    recognition.status = "revoked"
    recognition.revoked_at = utcnow()
    recognition.revoke_reason = reason
    recognition.version += 1
    await _announce(session, recognition)
    return recognition


async def search(
    session: AsyncSession,
    *,
    page: PageParams,
    recognising_agency: str | None,
    recognised_agency: str | None,
    result_kind: str | None,
    status: str | None,
    active_on: date | None,
) -> tuple[list[Recognition], str | None]:
    """The ledger, newest first."""
    query = select(Recognition)
    if recognising_agency:
        query = query.where(Recognition.recognising_agency == recognising_agency)
    if recognised_agency:
        query = query.where(Recognition.recognised_agency == recognised_agency)
    if result_kind:
        query = query.where(Recognition.result_kind == result_kind)
    if status:
        query = query.where(Recognition.status == status)
    if active_on:
        query = query.where(
            Recognition.status == "active",
            Recognition.valid_from <= active_on,
            Recognition.valid_to >= active_on,
        )
    return await keyset_page(session, query, keys=[Recognition.id], page=page, descending=True)


async def coverage(
    session: AsyncSession,
    *,
    uscc: str,
    agency: str,
    item: str | None,
    on: date,
    result_kind: ResultKind | None,
) -> CoverageOut:
    """Results about `uscc` by agencies `agency` recognises, in scope for `item` on `on`.

    A result counts when a recognition is active on that day, names its kind and covers the
    enterprise's industry and the item (an empty scope covers all), and the result itself is
    a fact of the recognised agency that occurred within the recognition's period and is
    neither expired nor repaired by then.
    """
    enterprise = await scores.get(session, uscc)
    day_end = datetime.combine(on, time.max, tzinfo=UTC)
    query = select(Recognition).where(
        Recognition.recognising_agency == agency,
        Recognition.status == "active",
        Recognition.valid_from <= on,
        Recognition.valid_to >= on,
    )
    if result_kind is not None:
        query = query.where(Recognition.result_kind == result_kind.value)
    if item is not None:
        query = query.where(
            or_(Recognition.checklist_items == [], Recognition.checklist_items.any_() == item)
        )
    if enterprise.industry is None:  # only a recognition for every industry applies
        query = query.where(Recognition.industries == [])
    else:
        query = query.where(
            or_(
                Recognition.industries == [],
                Recognition.industries.any_() == enterprise.industry,
            )
        )
    results: list[CoveringResult] = []
    for recognition in await session.scalars(query):
        kinds = [k.value for k in RESULT_FACTS[ResultKind(recognition.result_kind)]]
        conditions: list[Any] = [
            Fact.uscc == enterprise.uscc,
            Fact.source_agency == recognition.recognised_agency,
            Fact.kind.in_(kinds),
            Fact.occurred_at >= datetime.combine(recognition.valid_from, time.min, tzinfo=UTC),
            Fact.occurred_at <= day_end,
            or_(Fact.expires_at.is_(None), Fact.expires_at > day_end),
            or_(Fact.ended_at.is_(None), Fact.ended_at > day_end),
        ]
        if item is not None:  # a result naming no items covers the whole checklist
            conditions.append(ITEM_COVERED.bindparams(item=item))
        facts = await session.scalars(
            select(Fact).where(*conditions).order_by(Fact.occurred_at.desc())
        )
        results += [
            CoveringResult(
                recognition_id=recognition.id,
                fact_id=f.id,
                recognised_agency=f.source_agency,
                kind=f.kind,
                occurred_at=f.occurred_at,
                recognised_until=recognition.valid_to,
            )
            for f in facts
        ]
    return CoverageOut(
        uscc=enterprise.uscc,
        agency=agency,
        item=item,
        on=on,
        covered=bool(results),
        results=results,
    )
