"""Acceptance (考核验收, 指导意见 四(四)): the county's leadership group office applies for a
zone in `assessing`; the zone's accepting authority (宁波检验检疫局 for provincial zones,
国家质检总局 for national ones) accepts it or returns the application. Only that decision
moves a zone to `accepted`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.events import AcceptanceApplied, AcceptanceDecided
from kit.problems import Conflict, ProblemError, invalid
from kit.vocabulary import STAGES, name
from services.registry.agencies.models import Agency
from services.registry.domain import ACCEPTING_AGENCY, Stage, ZoneLevel
from services.registry.events import publish
from services.registry.memberships.models import Membership
from services.registry.programme.acceptance.models import (
    AcceptanceApplication,
    AcceptanceDecision,
)
from services.registry.programme.acceptance.schemas import (
    AcceptanceApplicationIn,
    AcceptanceApplicationOut,
    AcceptanceDecisionIn,
    AcceptanceDecisionOut,
    AcceptanceOut,
)
from services.registry.programme.shared import today
from services.registry.zones import service as zones
from services.registry.zones.models import Zone


def authority_of(zone: Zone) -> str:
    """The code of the agency that accepts `zone` (by its level)."""
    return ACCEPTING_AGENCY[ZoneLevel(zone.level)]


def _require_assessing(zone: Zone) -> None:
    if zone.stage != Stage.assessing.value:
        raise Conflict(
            f"zone '{zone.code}' is {zone.stage}; acceptance is applied for and decided in "
            "`assessing` (总结考核)",
            detail_zh=f"示范区“{zone.code}”当前处于“{name(STAGES, zone.stage)}”阶段；验收只在总结考核"
            "阶段申请和决定",
            rule="zone_assessing",
            stage=zone.stage,
        )


async def _filed(session: AsyncSession, zone_code: str) -> AcceptanceApplication | None:
    return await session.scalar(
        select(AcceptanceApplication)
        .where(
            AcceptanceApplication.zone_code == zone_code, AcceptanceApplication.status == "filed"
        )
        .with_for_update()
    )


async def file_application(
    session: AsyncSession,
    zone: Zone,
    *,
    application_in: AcceptanceApplicationIn,
    principal: Principal,
) -> AcceptanceApplication:
    """The leadership group's office (an agency whose group role is `office`, or an admin)
    applies; 403 for anyone else, 409 unless the zone is `assessing` (`zone_assessing`) or
    while another application awaits its decision (`one_open_application`)."""
    if not principal.is_admin:
        agency = await session.get(Agency, principal.agency) if principal.agency else None
        if agency is None or agency.group_role != "office":
            raise ProblemError(
                "forbidden",
                "only the leadership group's office (领导小组办公室) applies for acceptance",
                detail_zh="只有领导小组办公室可以申请验收",
            )
    _require_assessing(zone)
    filed_on = application_in.filed_on or today()
    if filed_on > today():
        raise invalid("filed_on", "must not be in the future", "不能晚于今天")
    existing = await _filed(session, zone.code)
    if existing is not None:
        raise Conflict(
            f"zone '{zone.code}' has an application awaiting its decision (filed {existing.filed_on})",
            detail_zh=f"示范区“{zone.code}”已有待决定的验收申请（{existing.filed_on} 提交）",
            rule="one_open_application",
            application_id=str(existing.id),
        )
    application = AcceptanceApplication(
        zone_code=zone.code,
        authority=authority_of(zone),
        filed_on=filed_on,
        self_assessment=application_in.self_assessment,
        dossier_sha256=application_in.dossier_sha256,
        status="filed",
        filed_by=principal.subject,
        filed_agency=principal.agency,
    )
    session.add(application)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent twin filed first
        raise Conflict(
            f"zone '{zone.code}' has an application awaiting its decision",
            detail_zh=f"示范区“{zone.code}”已有待决定的验收申请",
            rule="one_open_application",
        ) from exc
    await publish(
        session,
        "registry.acceptance.applied.v1",
        zone.code,
        AcceptanceApplied(
            application_id=str(application.id),
            zone_code=zone.code,
            authority=application.authority,
            filed_on=filed_on,
            dossier_sha256=application.dossier_sha256,
            filed_by=principal.subject,
        ),
    )
    return application


async def admitted_members(session: AsyncSession, zone_code: str) -> int:
    """How many enterprises are admitted members of the zone now."""
    count = await session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.zone_code == zone_code, Membership.status == "admitted")
    )
    return int(count or 0)


async def decide(
    session: AsyncSession,
    zone: Zone,
    *,
    decision_in: AcceptanceDecisionIn,
    principal: Principal,
    at: datetime | None = None,
) -> AcceptanceDecision:
    """Record the authority's decision on the filed application: 403 unless the token is the
    zone's accepting authority's (or an admin's, recorded as acting for it); 409 without a
    filed application (`application_filed`), and for `accepted` without an admitted member
    (`admitted_members`). `accepted` moves the zone to `accepted`; `returned` leaves it in
    `assessing` for a new application. `at` dates the stage move (the demo seed)."""
    authority = authority_of(zone)
    on_behalf = principal.agency != authority
    if on_behalf and not principal.is_admin:
        raise ProblemError(
            "forbidden",
            f"only the zone's accepting authority ({authority}) records its acceptance decision",
            detail_zh=f"只有示范区的验收单位（{authority}）可以记录验收决定",
            authority=authority,
        )
    application = await _filed(session, zone.code)
    if application is None:
        raise Conflict(
            f"zone '{zone.code}' has no acceptance application awaiting a decision: the "
            "leadership group's office applies first",
            detail_zh=f"示范区“{zone.code}”没有待决定的验收申请：须先由领导小组办公室申请",
            rule="application_filed",
        )
    _require_assessing(zone)
    if decision_in.decided_on > today():
        raise invalid("decided_on", "must not be in the future", "不能晚于今天")
    if decision_in.decided_on < application.filed_on:
        raise invalid(
            "decided_on",
            f"must not be before the application ({application.filed_on})",
            f"不能早于申请日期（{application.filed_on}）",
        )
    if decision_in.outcome == "accepted" and await admitted_members(session, zone.code) == 0:
        raise Conflict(
            f"zone '{zone.code}' has no admitted member enterprise and cannot be accepted",
            detail_zh=f"示范区“{zone.code}”没有已准入的成员企业，不能通过验收",
            rule="admitted_members",
        )
    decision = AcceptanceDecision(
        application_id=application.id,
        zone_code=zone.code,
        authority=authority,
        outcome=decision_in.outcome,
        document_number=decision_in.document_number,
        decided_on=decision_in.decided_on,
        inspection_team=list(decision_in.inspection_team),
        findings=decision_in.findings,
        recorded_by=principal.subject,
        recorded_agency=principal.agency,
        on_behalf=on_behalf,
    )
    application.status = decision_in.outcome
    session.add(decision)
    await session.flush()
    if decision_in.outcome == "accepted":
        await zones.move(
            session,
            zone,
            to=Stage.accepted,
            reason=f"验收通过（{decision_in.document_number}）",
            actor=principal.subject,
            agency=authority,
            at=at,
        )
    await publish(
        session,
        "registry.acceptance.decided.v1",
        zone.code,
        AcceptanceDecided(
            application_id=str(application.id),
            zone_code=zone.code,
            authority=authority,
            outcome=decision_in.outcome,
            document_number=decision_in.document_number,
            decided_on=decision_in.decided_on,
            recorded_by=principal.subject,
            on_behalf=on_behalf,
        ),
    )
    return decision


async def record(session: AsyncSession, zone: Zone) -> AcceptanceOut:
    """A zone's acceptance record, oldest first."""
    applications = await session.scalars(
        select(AcceptanceApplication)
        .where(AcceptanceApplication.zone_code == zone.code)
        .order_by(AcceptanceApplication.created_at, AcceptanceApplication.id)
    )
    decisions = await session.scalars(
        select(AcceptanceDecision)
        .where(AcceptanceDecision.zone_code == zone.code)
        .order_by(AcceptanceDecision.recorded_at, AcceptanceDecision.id)
    )
    return AcceptanceOut(
        zone_code=zone.code,
        stage=zone.stage,
        authority=authority_of(zone),
        applications=[AcceptanceApplicationOut.model_validate(a) for a in applications],
        decisions=[AcceptanceDecisionOut.model_validate(d) for d in decisions],
    )
