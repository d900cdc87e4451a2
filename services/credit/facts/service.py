"""Credit facts: record once (by event id or client key), rescore, list."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.db import get_or_404, utcnow
from kit.events import CreditFactRecorded
from kit.ids import uuid7
from kit.pagination import PageParams, keyset_page
from kit.problems import Conflict, ProblemError
from kit.uscc import normalize
from services.credit.agencies import service as agencies
from services.credit.config import settings
from services.credit.domain import FactKind
from services.credit.events import publish
from services.credit.facts.models import Fact
from services.credit.facts.schemas import FactBase, FactIn
from services.credit.scores import service as scores
from services.credit.scores.models import CreditEnterprise


def source_agency_of(principal: Principal, named: str | None) -> str:
    """The submitting agency: the token's; an admin may name another, and an admin token
    without an agency (the zone office's staff) speaks for the office's bureau."""
    if named is not None and named != principal.agency and not principal.is_admin:
        raise ProblemError(
            "forbidden",
            f"a token of agency '{principal.agency}' cannot submit facts as '{named}'",
            detail_zh=f"部门“{principal.agency}”的令牌不能以“{named}”的名义提交信用事实",
        )
    agency = named or principal.agency or (settings.office_agency if principal.is_admin else None)
    if agency is None:
        raise ProblemError(
            "validation",
            "source_agency is required: the token names no agency",
            detail_zh="令牌未指明部门，须填写 source_agency（来源部门）",
            errors=[
                {
                    "field": "source_agency",
                    "reason": "required when the token has no agency",
                    "reason_zh": "令牌未指明部门时为必填项",
                }
            ],
        )
    return agency


def not_future(fact: FactBase) -> FactBase:
    """Facts are about the past: a few minutes ahead (clock skew between agency systems)
    count as now, anything later is refused."""
    now = utcnow()
    if fact.occurred_at > now + timedelta(seconds=settings.clock_skew_s):
        raise ProblemError(
            "validation",
            f"occurred_at {fact.occurred_at.isoformat()} is in the future",
            detail_zh=f"发生时间 {fact.occurred_at.isoformat()} 晚于当前时间",
            errors=[
                {
                    "field": "occurred_at",
                    "reason": "must not be in the future",
                    "reason_zh": "发生时间不能晚于当前时间",
                }
            ],
        )
    return fact.model_copy(update={"occurred_at": now}) if fact.occurred_at > now else fact


def _items(details: dict[str, Any] | None) -> list[str] | None:
    """A result's checklist items, when its details name them as a list."""
    items = (details or {}).get("checklist_items")
    return [str(i) for i in items] if isinstance(items, list) and items else None


def _same(existing: Fact, uscc: str, fact: FactBase) -> bool:
    """A resubmission is the same fact when every field agrees (the time within the skew)."""
    skew = timedelta(seconds=settings.clock_skew_s)
    if existing.uscc != uscc or abs(existing.occurred_at - fact.occurred_at) > skew:
        return False
    stored = FactBase.model_validate(existing, from_attributes=True)
    return stored.model_dump(exclude={"occurred_at"}) == fact.model_dump(exclude={"occurred_at"})


async def record(
    session: AsyncSession,
    *,
    fact: FactBase,
    uscc: str,
    source_agency: str,
    actor: str,
    client_key: str | None = None,
    source_event_id: uuid.UUID | None = None,
) -> tuple[Fact, bool, CreditEnterprise]:
    """Record a fact and rescore its enterprise; (fact, created, enterprise).

    The same client key (per agency) or source event id answers the fact already recorded.
    """
    fact = not_future(fact)
    enterprise = await scores.get_announced(session, uscc)
    values: dict[str, Any] = fact.model_dump()
    fact_id = await session.scalar(
        insert(Fact)
        .values(
            id=uuid7(),
            uscc=uscc,
            source_agency=source_agency,
            client_key=client_key,
            source_event_id=source_event_id,
            recorded_by=actor,
            recorded_at=utcnow(),
            **values,
        )
        .on_conflict_do_nothing()
        .returning(Fact.id)
    )
    if fact_id is None:
        existing = await _existing(session, source_agency, client_key, source_event_id)
        if not _same(existing, uscc, fact):
            raise Conflict(
                f"client_key '{client_key}' was already used for another fact",
                detail_zh=f"client_key“{client_key}”已用于另一条信用事实",
                fact_id=str(existing.id),
            )
        return existing, False, enterprise
    stored = await session.get_one(Fact, fact_id)
    await scores.rescore(
        session,
        enterprise,
        cause=f"fact {stored.kind}/{stored.severity} from {source_agency}",
        fact_id=fact_id,
    )
    await publish(
        session,
        "credit.fact.recorded.v1",
        uscc,
        CreditFactRecorded(
            fact_id=str(fact_id),
            uscc=uscc,
            kind=stored.kind,
            severity=stored.severity,
            source_agency=source_agency,
            occurred_at=stored.occurred_at,
            checklist_items=_items(stored.details),
        ),
    )
    return stored, True, enterprise


async def _existing(
    session: AsyncSession,
    source_agency: str,
    client_key: str | None,
    source_event_id: uuid.UUID | None,
) -> Fact:
    query = select(Fact)
    if source_event_id is not None:
        query = query.where(Fact.source_event_id == source_event_id)
    else:
        query = query.where(Fact.source_agency == source_agency, Fact.client_key == client_key)
    existing = await session.scalar(query)
    assert existing is not None, "a conflicting insert leaves the row it conflicted with"
    return existing


async def submit(
    session: AsyncSession, *, fact_in: FactIn, principal: Principal
) -> tuple[Fact, bool, CreditEnterprise]:
    """An agency's submission over HTTP; 404 naming the source agency when registry has not
    announced it as a member agency."""
    agency = source_agency_of(principal, fact_in.source_agency)
    await agencies.ensure_known(session, agency)
    return await record(
        session,
        fact=FactBase.model_validate(fact_in.model_dump(include=set(FactBase.model_fields))),
        uscc=fact_in.uscc,
        source_agency=agency,
        actor=principal.subject,
        client_key=fact_in.client_key,
    )


async def has_commitment_fact(session: AsyncSession, *, uscc: str, zone: str) -> bool:
    """Whether the enterprise already has a commitment fact in force for the zone."""
    found = await session.scalar(
        select(Fact.id)
        .where(
            Fact.uscc == uscc,
            Fact.kind == FactKind.commitment_signed,
            Fact.details["zone_code"].astext == zone,
            Fact.ended_at.is_(None),
        )
        .limit(1)
    )
    return found is not None


async def end_commitment_facts(
    session: AsyncSession, *, uscc: str, zone: str, at: datetime
) -> list[Fact]:
    """End the enterprise's commitment facts in force for the zone (its commitment ended with
    the zone's revocation): they stop counting from `at`."""
    ended = list(
        await session.scalars(
            select(Fact)
            .where(
                Fact.uscc == uscc,
                Fact.kind == FactKind.commitment_signed,
                Fact.details["zone_code"].astext == zone,
                Fact.ended_at.is_(None),
            )
            .with_for_update()
        )
    )
    for fact in ended:
        fact.ended_at = at
    await session.flush()
    return ended


async def get(session: AsyncSession, fact_id: uuid.UUID, *, for_update: bool = False) -> Fact:
    """One fact, or 404."""
    return await get_or_404(session, Fact, fact_id, "fact", for_update=for_update)


async def search(
    session: AsyncSession,
    *,
    page: PageParams,
    uscc: str | None,
    kind: str | None,
    source_agency: str | None,
    in_force: bool | None,
) -> tuple[list[Fact], str | None]:
    """Facts, newest recorded first."""
    query = select(Fact)
    if uscc:
        query = query.where(Fact.uscc == normalize(uscc))
    if kind:
        query = query.where(Fact.kind == kind)
    if source_agency:
        query = query.where(Fact.source_agency == source_agency)
    if in_force is not None:
        now = utcnow()
        live = (Fact.ended_at.is_(None) | (Fact.ended_at > now)) & (
            Fact.expires_at.is_(None) | (Fact.expires_at > now)
        )
        query = query.where(live if in_force else ~live)
    return await keyset_page(session, query, keys=[Fact.id], page=page, descending=True)
