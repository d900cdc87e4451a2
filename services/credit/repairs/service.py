"""Credit repair (信用修复): request, decide; an approval ends the fact's effect and rescores."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.db import get_or_404, utcnow
from kit.events import RepairDecided
from kit.pagination import PageParams, keyset_page
from kit.problems import Conflict, ProblemError, invalid
from kit.uscc import normalize
from kit.validation import CHINA
from kit.vocabulary import FACT_KINDS, SEVERITIES, STATUSES, name
from services.credit.config import settings
from services.credit.domain import ADVERSE, FactKind
from services.credit.events import publish
from services.credit.facts import service as facts
from services.credit.facts.models import Fact
from services.credit.policy import service as policy
from services.credit.repairs.models import Repair
from services.credit.repairs.schemas import DecisionIn, RepairIn
from services.credit.scores import service as scores
from services.credit.scoring import earliest_repair_date

WAITING_RULE = "repair_waiting_period"


async def waiting_period(session: AsyncSession, fact: Fact) -> tuple[int, date | None]:
    """(model version, earliest repair date) of a fact under the model in force."""
    version, model = await policy.current(session)
    earliest = earliest_repair_date(
        model, kind=fact.kind, severity=fact.severity, occurred_at=fact.occurred_at
    )
    return version, earliest


def _ensure_waited(fact: Fact, version: int, earliest: date, at: datetime) -> str:
    """409 naming `earliest_repair_date` before it; the reason in words otherwise."""
    days = (earliest - fact.occurred_at.astimezone(CHINA).date()).days
    rule = f"the {days}-day waiting period of a {fact.severity} {fact.kind} fact"
    if at.astimezone(CHINA).date() < earliest:
        raise Conflict(
            f"{rule} (credit model v{version}) ends on {earliest}: repair from then",
            detail_zh=f"信用修复等待期（信用模型第 {version} 版）至 {earliest} 结束：届时方可修复",
            rule=WAITING_RULE,
            earliest_repair_date=earliest.isoformat(),
            model_version=version,
        )
    return f"{rule} (credit model v{version}) ended on {earliest}"


async def request(session: AsyncSession, *, repair_in: RepairIn, principal: Principal) -> Repair:
    """The enterprise (or the office for it) asks; one pending request per fact."""
    fact = await facts.get(session, repair_in.fact_id)
    if principal.uscc != fact.uscc and not principal.is_admin:
        raise ProblemError(
            "forbidden",
            "credit repair is asked for by the enterprise itself (or the zone office for it)",
            detail_zh="信用修复须由企业本身（或示范区办公室代为）申请",
        )
    if FactKind(fact.kind) not in ADVERSE:
        raise invalid(
            "fact_id",
            f"a {fact.kind} fact counts in the enterprise's favour",
            f"{fact.kind} 类信用事实对企业有利，无需修复",
        )
    if fact.ended_at is not None:
        raise Conflict(
            "the fact's effect has already ended by a repair",
            detail_zh="该信用事实的影响已因修复而终止",
            fact_id=str(fact.id),
        )
    version, earliest = await waiting_period(session, fact)
    if earliest is None:
        raise invalid(
            "fact_id",
            f"a {fact.severity} {fact.kind} fact needs no repair (credit model v{version} sets "
            "no waiting period for it): it weighs little and decays by itself",
            f"{name(SEVERITIES, fact.severity)}的“{name(FACT_KINDS, fact.kind)}”信用事实无需修复（信用模型第 {version} 版未设等待期）："
            "其影响小，会自行衰减",
        )
    _ensure_waited(fact, version, earliest, utcnow())
    repair = Repair(
        fact_id=fact.id,
        uscc=fact.uscc,
        source_agency=fact.source_agency,
        reason=repair_in.reason,
        evidence_ref=repair_in.evidence_ref,
        requested_by=principal.subject,
        earliest_repair_date=earliest,
        model_version=version,
    )
    pending = await session.scalar(
        select(Repair.id).where(Repair.fact_id == fact.id, Repair.status == "pending")
    )
    if pending is not None:  # (a concurrent twin is refused by the unique index: also 409)
        raise Conflict(
            "a repair of this fact is already pending",
            detail_zh="该信用事实已有待处理的修复申请",
            repair_id=str(pending),
        )
    session.add(repair)
    await session.flush()
    return repair


async def get(session: AsyncSession, repair_id: uuid.UUID, *, for_update: bool = False) -> Repair:
    """One repair request, or 404."""
    return await get_or_404(session, Repair, repair_id, "repair", for_update=for_update)


async def decide(
    session: AsyncSession, repair: Repair, *, decision_in: DecisionIn, principal: Principal
) -> Repair:
    """The fact's source agency approves or rejects; approval ends its effect and rescores."""
    if not principal.is_admin and principal.agency != repair.source_agency:
        raise ProblemError(
            "forbidden",
            f"only the fact's source agency ({repair.source_agency}) decides",
            detail_zh=f"只有该信用事实的来源部门（{repair.source_agency}）可以作出决定",
        )
    if repair.status != "pending":
        raise Conflict(
            f"the repair was already {repair.status}",
            detail_zh=f"该修复申请已是“{name(STATUSES, repair.status)}”状态",
            status_now=repair.status,
        )
    now = utcnow()
    reasons: list[dict[str, Any]] = []
    if decision_in.decision == "approve":
        enterprise = await scores.get(session, repair.uscc, for_update=True)
        fact = await facts.get(session, repair.fact_id, for_update=True)
        effective = decision_in.effective_from or now
        if effective > now + timedelta(seconds=settings.clock_skew_s):
            raise invalid("effective_from", "must not be in the future", "不能晚于当前时间")
        effective = min(effective, now)  # within the clock skew: now
        if effective < fact.occurred_at:
            raise invalid(
                "effective_from",
                "must not be before the fact occurred",
                "不能早于信用事实发生的时间",
            )
        # the model in force now decides (it may have lengthened the wait since the request)
        version, earliest = await waiting_period(session, fact)
        if earliest is None:
            reasons.append(
                {"code": "waiting_period", "detail": f"no waiting period (model v{version})"}
            )
        else:
            waited = _ensure_waited(fact, version, earliest, effective)
            reasons.append({"code": "waiting_period", "detail": waited})
        fact.ended_at = effective
        repair.effective_from = effective
        repair.status = "approved"
        await session.flush()
        await scores.rescore(
            session, enterprise, cause=f"credit repair of {fact.kind} fact", fact_id=fact.id
        )
    elif decision_in.effective_from is not None:
        raise invalid("effective_from", "applies only to an approval", "只适用于批准")
    elif not (decision_in.note and decision_in.note.strip()):
        raise invalid("note", "a rejection states its reason", "驳回须说明理由")
    else:
        repair.status = "rejected"
    if decision_in.note:
        reasons.append({"code": "agency_note", "detail": decision_in.note})
    repair.decided_by = principal.subject
    repair.decided_at = now
    repair.decision_note = decision_in.note
    repair.decision_reasons = reasons
    await publish(
        session,
        "credit.repair.decided.v1",
        repair.uscc,
        RepairDecided(
            repair_id=str(repair.id),
            fact_id=str(repair.fact_id),
            uscc=repair.uscc,
            status=repair.status,  # type: ignore[arg-type]
            effective_from=repair.effective_from,
        ),
    )
    return repair


async def search(
    session: AsyncSession,
    *,
    page: PageParams,
    status: str | None,
    uscc: str | None,
    source_agency: str | None,
) -> tuple[list[Repair], str | None]:
    """Repair requests, newest first."""
    query = select(Repair)
    if status:
        query = query.where(Repair.status == status)
    if uscc:
        query = query.where(Repair.uscc == normalize(uscc))
    if source_agency:
        query = query.where(Repair.source_agency == source_agency)
    return await keyset_page(session, query, keys=[Repair.id], page=page, descending=True)
