"""The open alerts inspection announced, mirrored; award rounds, their candidates and
nominations, with the joint-punishment rule (联合惩戒) checked at nomination and grant."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, and_, exists, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.db import get_or_404, utcnow
from kit.events import AlertClosed, AlertRaised, AwardChanged, AwardRoundOpened
from kit.pagination import PageParams, keyset_page
from kit.problems import Conflict, NotFound, ProblemError
from kit.uscc import normalize
from services.registry.enterprises import service as enterprises
from services.registry.enterprises.models import Enterprise
from services.registry.events import publish
from services.registry.measures import service as measures
from services.registry.memberships.models import Membership
from services.registry.programme.honours.models import AlertMirror, AwardNomination, AwardRound
from services.registry.programme.honours.schemas import (
    AwardRoundIn,
    BlockingRule,
    Candidate,
    NominationIn,
)
from services.registry.programme.shared import insert_new
from services.registry.zones import service as zones

SERIOUS = "serious"


async def alert_raised(session: AsyncSession, alert: AlertRaised) -> None:
    """Remember an alert about an enterprise; a closure that came first is kept."""
    if alert.uscc is None:
        return
    await session.execute(
        insert(AlertMirror)
        .values(
            alert_id=uuid.UUID(alert.alert_id),
            uscc=alert.uscc,
            severity=alert.severity,
            kind=alert.signal_kind,
            agency=alert.agency,
            raised_at=alert.raised_at,
        )
        .on_conflict_do_update(
            index_elements=[AlertMirror.alert_id],
            set_={"kind": alert.signal_kind, "raised_at": alert.raised_at},
        )
    )


async def alert_closed(session: AsyncSession, alert: AlertClosed) -> None:
    """The alert no longer counts as open (even if its raising arrives later)."""
    if alert.uscc is None:
        return
    await session.execute(
        insert(AlertMirror)
        .values(
            alert_id=uuid.UUID(alert.alert_id),
            uscc=alert.uscc,
            severity=alert.severity,
            agency=alert.agency,
            closed_at=alert.closed_at,
        )
        .on_conflict_do_update(
            index_elements=[AlertMirror.alert_id], set_={"closed_at": alert.closed_at}
        )
    )


async def open_serious_alerts(session: AsyncSession, usccs: Sequence[str]) -> dict[str, list[str]]:
    """Open serious alert ids per enterprise."""
    if not usccs:
        return {}
    rows = await session.execute(
        select(AlertMirror.uscc, AlertMirror.alert_id)
        .where(
            AlertMirror.uscc.in_(usccs),
            AlertMirror.closed_at.is_(None),
            AlertMirror.severity == SERIOUS,
        )
        .order_by(AlertMirror.alert_id)
    )
    found: dict[str, list[str]] = {}
    for uscc, alert_id in rows:
        found.setdefault(uscc, []).append(str(alert_id))
    return found


async def open_round(
    session: AsyncSession, *, round_in: AwardRoundIn, principal: Principal
) -> AwardRound:
    """Open an award round with its criteria."""
    if round_in.zone_code:
        await zones.get(session, round_in.zone_code)
    award_round = AwardRound(
        **round_in.model_dump(mode="json", exclude={"allowed_levels"}),
        allowed_levels=[level.value for level in round_in.allowed_levels],
        opened_by=principal.subject,
    )
    session.add(award_round)
    await session.flush()
    await publish(
        session,
        "registry.award.opened.v1",
        str(award_round.id),
        AwardRoundOpened(
            round_id=str(award_round.id),
            title=award_round.title,
            year=award_round.year,
            allowed_levels=award_round.allowed_levels,
            zone_code=award_round.zone_code,
            industry=award_round.industry,
        ),
    )
    return award_round


async def get_round(session: AsyncSession, round_id: uuid.UUID) -> AwardRound:
    """An award round, or 404."""
    return await get_or_404(session, AwardRound, round_id, "award round")


async def list_rounds(
    session: AsyncSession, *, page: PageParams, year: int | None, zone_code: str | None
) -> tuple[list[AwardRound], str | None]:
    """Award rounds, newest first."""
    query = select(AwardRound)
    if year:
        query = query.where(AwardRound.year == year)
    if zone_code:
        query = query.where(AwardRound.zone_code == zone_code)
    return await keyset_page(session, query, keys=[AwardRound.id], page=page, descending=True)


def _in_scope(award_round: AwardRound) -> list[Any]:
    conditions: list[Any] = []
    if award_round.zone_code:
        conditions.append(
            exists().where(
                Membership.uscc == Enterprise.uscc,
                Membership.zone_code == award_round.zone_code,
                Membership.status == "admitted",
            )
        )
    if award_round.industry:
        conditions.append(Enterprise.industry == award_round.industry)
    return conditions


async def honours_excluded(session: AsyncSession) -> tuple[int | None, frozenset[str]]:
    """(credit model version, levels whose measures in force say honours_eligible false)."""
    version, in_force = await measures.in_force(session)
    return version, frozenset(lv for lv, e in in_force.items() if not e.honours_eligible)


def _eligible_clause(award_round: AwardRound, excluded_levels: frozenset[str]) -> Any:
    serious_open = exists().where(
        AlertMirror.uscc == Enterprise.uscc,
        AlertMirror.closed_at.is_(None),
        AlertMirror.severity == SERIOUS,
    )
    # not yet rated (NULL) is ineligible: without the IS NOT NULL the clause would be NULL
    # for it, and `eligible=false` (NOT clause) would drop it from the blocked list
    return and_(
        Enterprise.credit_level.is_not(None),
        Enterprise.credit_level.in_(
            [lv for lv in award_round.allowed_levels if lv not in excluded_levels]
        ),
        ~serious_open,
    )


def blocking_rules(
    award_round: AwardRound,
    enterprise: Enterprise,
    alerts: list[str],
    *,
    in_scope: bool,
    excluded_levels: frozenset[str] = frozenset(),
    measures_version: int | None = None,
) -> list[BlockingRule]:
    """Every rule that keeps the enterprise out of the round, in a fixed order."""
    reasons = []
    if not in_scope:
        where = [
            f"an admitted member of '{award_round.zone_code}'" if award_round.zone_code else "",
            f"of the {award_round.industry} industry" if award_round.industry else "",
        ]
        reasons.append(
            BlockingRule(
                rule="scope",
                detail=f"the round is for enterprises {' and '.join(w for w in where if w)}",
            )
        )
    if enterprise.credit_level not in award_round.allowed_levels:
        reasons.append(
            BlockingRule(
                rule="credit_level",
                detail=f"credit level {enterprise.credit_level or 'not yet rated'} is not among "
                f"the round's allowed levels {', '.join(award_round.allowed_levels)}",
            )
        )
    if enterprise.credit_level in excluded_levels:
        reasons.append(
            BlockingRule(
                rule="credit_measure",
                detail=f"joint punishment (联合惩戒): the measures of credit level "
                f"{enterprise.credit_level} say honours_eligible false (credit model "
                f"{'v' + str(measures_version) if measures_version else 'default'})",
            )
        )
    if alerts:
        reasons.append(
            BlockingRule(
                rule="open_serious_alert",
                detail="joint punishment (联合惩戒): open serious risk alert " + ", ".join(alerts),
            )
        )
    return reasons


async def candidates(
    session: AsyncSession, award_round: AwardRound, *, page: PageParams, eligible: bool | None
) -> tuple[list[Candidate], str | None]:
    """Enterprises in the round's scope by USCC, each with what blocks it."""
    query: Select[Any] = select(Enterprise).where(*_in_scope(award_round))
    version, excluded = await honours_excluded(session)
    if eligible is not None:
        clause = _eligible_clause(award_round, excluded)
        query = query.where(clause if eligible else ~clause)
    rows, next_cursor = await keyset_page(session, query, keys=[Enterprise.uscc], page=page)
    usccs = [e.uscc for e in rows]
    alerts = await open_serious_alerts(session, usccs)
    nominations = {
        u: s
        for u, s in await session.execute(
            select(AwardNomination.uscc, AwardNomination.status).where(
                AwardNomination.round_id == award_round.id, AwardNomination.uscc.in_(usccs)
            )
        )
    }
    out = []
    for e in rows:
        reasons = blocking_rules(
            award_round,
            e,
            alerts.get(e.uscc, []),
            in_scope=True,
            excluded_levels=excluded,
            measures_version=version,
        )
        out.append(
            Candidate(
                uscc=e.uscc,
                name=e.name,
                credit_level=e.credit_level,
                eligible=not reasons,
                reasons=reasons,
                nomination=nominations.get(e.uscc),  # type: ignore[arg-type]
            )
        )
    return out, next_cursor


async def _ensure_eligible(session: AsyncSession, award_round: AwardRound, uscc: str) -> Enterprise:
    """409 naming the first rule that blocks the enterprise (and listing all of them)."""
    enterprise = await enterprises.get(session, uscc)
    scoped = _in_scope(award_round)
    in_scope = not scoped or bool(
        await session.scalar(select(exists().where(Enterprise.uscc == enterprise.uscc, *scoped)))
    )
    alerts = (await open_serious_alerts(session, [enterprise.uscc])).get(enterprise.uscc, [])
    version, excluded = await honours_excluded(session)
    reasons = blocking_rules(
        award_round,
        enterprise,
        alerts,
        in_scope=in_scope,
        excluded_levels=excluded,
        measures_version=version,
    )
    if reasons:
        raise Conflict(
            f"{enterprise.uscc} is not eligible: {reasons[0].detail}",
            detail_zh=f"{enterprise.uscc} 不符合评选条件（{reasons[0].rule}）：{reasons[0].detail}",
            rule=reasons[0].rule,
            reasons=[r.model_dump() for r in reasons],
        )
    return enterprise


async def _award_event(
    session: AsyncSession, award_round: AwardRound, n: AwardNomination, event_type: str
) -> None:
    await publish(
        session,
        event_type,
        n.uscc,
        AwardChanged(
            round_id=str(award_round.id),
            title=award_round.title,
            year=award_round.year,
            uscc=n.uscc,
            status=n.status,  # type: ignore[arg-type]
            zone_code=award_round.zone_code,
        ),
    )


async def nominate(
    session: AsyncSession,
    award_round: AwardRound,
    *,
    nomination_in: NominationIn,
    principal: Principal,
) -> AwardNomination:
    """Nominate an eligible enterprise; 409 naming the blocking rule, or if nominated."""
    enterprise = await _ensure_eligible(session, award_round, nomination_in.uscc)
    # one statement for the sequential repeat and the concurrent one: both are the same 409
    nomination = await insert_new(
        session,
        AwardNomination,
        round_id=award_round.id,
        uscc=enterprise.uscc,
        status="nominated",
        citation=nomination_in.citation,
        nominated_by=principal.subject,
        nominated_at=utcnow(),
    )
    if nomination is None:
        raise Conflict(
            f"{enterprise.uscc} is already nominated in this round",
            detail_zh=f"{enterprise.uscc} 已在本批次中被提名",
        )
    await _award_event(session, award_round, nomination, "registry.award.nominated.v1")
    return nomination


async def grant(
    session: AsyncSession, award_round: AwardRound, uscc: str, *, principal: Principal
) -> AwardNomination:
    """Grant the award to a nominee, checking eligibility again (a level may have fallen or
    an alert been raised since the nomination); 409 naming the blocking rule."""
    key = normalize(uscc)
    nomination = await session.get(AwardNomination, (award_round.id, key), with_for_update=True)
    if nomination is None:
        raise NotFound("nomination", f"{award_round.id}/{key}")
    if nomination.status == "granted":
        raise ProblemError(
            "illegal-transition",
            "the award is already granted",
            detail_zh="该荣誉已授予",
            current="granted",
            requested="granted",
            allowed=[],
        )
    await _ensure_eligible(session, award_round, key)
    nomination.status = "granted"
    nomination.granted_by = principal.subject
    nomination.granted_at = utcnow()
    await session.flush()
    await _award_event(session, award_round, nomination, "registry.award.granted.v1")
    return nomination


async def list_nominations(
    session: AsyncSession,
    award_round: AwardRound,
    *,
    page: PageParams,
    status: str | None,
    uscc: str | None,
) -> tuple[list[AwardNomination], str | None]:
    """A round's nominations, by USCC."""
    query = select(AwardNomination).where(AwardNomination.round_id == award_round.id)
    if status:
        query = query.where(AwardNomination.status == status)
    if uscc:
        query = query.where(AwardNomination.uscc == uscc)
    return await keyset_page(session, query, keys=[AwardNomination.uscc], page=page)
