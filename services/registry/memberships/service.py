"""Memberships (准入/退出, dynamic management) and integrity commitments."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, time

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kit import locks
from kit.auth import Principal
from kit.db import get_or_404, utcnow
from kit.events import MembershipChanged
from kit.pagination import PageParams, keyset_page
from kit.problems import Conflict, NotFound, ProblemError
from kit.uscc import normalize
from kit.validation import CHINA
from kit.vocabulary import STATUSES, name
from services.registry import personal
from services.registry.config import settings
from services.registry.enterprises import service as enterprises
from services.registry.events import publish
from services.registry.measures import service as measures
from services.registry.memberships import commitment_events
from services.registry.memberships.models import (
    COMMITMENT_IN_FORCE,
    OPEN_STATUSES,
    Commitment,
    Membership,
    MembershipDecision,
)
from services.registry.memberships.schemas import (
    ApplicationIn,
    BreachIn,
    CommitmentIn,
    CommitmentOut,
    Decision,
    DecisionIn,
    MembershipStatus,
)
from services.registry.zones import service as zones

S = MembershipStatus
# decision -> (states it may be taken from, resulting state, whether a reason is required)
DECISIONS: dict[Decision, tuple[set[S], S, bool]] = {
    Decision.assess: ({S.applied}, S.assessing, False),
    Decision.admit: ({S.applied, S.assessing}, S.admitted, False),
    Decision.reject: ({S.applied, S.assessing}, S.rejected, True),
    Decision.suspend: ({S.admitted}, S.suspended, True),
    Decision.reinstate: ({S.suspended}, S.admitted, False),
    Decision.remove: ({S.admitted, S.suspended}, S.removed, True),
}
EVENT_OF: dict[S, str] = {
    S.applied: "registry.membership.applied.v1",
    S.assessing: "registry.membership.assessing.v1",
    S.admitted: "registry.membership.admitted.v1",
    S.rejected: "registry.membership.rejected.v1",
    S.suspended: "registry.membership.suspended.v1",
    S.removed: "registry.membership.removed.v1",
}


async def _emit(
    session: AsyncSession,
    m: Membership,
    event_type: str,
    actor: str,
    reason: str | None,
    effective_at: datetime | None = None,
) -> None:
    await publish(
        session,
        event_type,
        m.uscc,
        MembershipChanged(
            membership_id=str(m.id),
            zone_code=m.zone_code,
            uscc=m.uscc,
            status=m.status,
            reason=reason,
            actor=actor,
            effective_at=effective_at,
        ),
    )


async def apply(
    session: AsyncSession, zone_code: str, *, application: ApplicationIn, principal: Principal
) -> Membership:
    """An enterprise applies to a zone; 409 while another membership there is open."""
    zone = await zones.get(session, zone_code)
    if zone.stage == "revoked":
        raise Conflict(
            f"zone '{zone.code}' is revoked and takes no applications",
            detail_zh=f"示范区“{zone.code}”已撤销，不再受理企业申请入区",
        )
    enterprise = await enterprises.get(session, application.uscc)
    open_one = await session.scalar(
        select(Membership).where(
            Membership.zone_code == zone.code,
            Membership.uscc == enterprise.uscc,
            Membership.status.in_(OPEN_STATUSES),
        )
    )
    if open_one is not None:
        raise Conflict(
            f"{enterprise.uscc} already has an open membership of '{zone.code}' ({open_one.status})",
            detail_zh=f"{enterprise.uscc} 在示范区“{zone.code}”已有未结束的入区记录（{name(STATUSES, open_one.status)}）",
            membership_id=str(open_one.id),
        )
    membership = Membership(
        zone_code=zone.code,
        uscc=enterprise.uscc,
        status=S.applied.value,
        note=application.note,
        applied_at=utcnow(),
    )
    session.add(membership)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(
            f"{enterprise.uscc} already has an open membership of '{zone.code}'",
            detail_zh=f"{enterprise.uscc} 在示范区“{zone.code}”已有未结束的入区记录",
        ) from exc
    session.add(
        MembershipDecision(
            membership_id=membership.id,
            from_status=None,
            to_status=S.applied.value,
            reason=application.note,
            actor=principal.subject,
        )
    )
    await _emit(session, membership, EVENT_OF[S.applied], principal.subject, application.note)
    return membership


async def get(
    session: AsyncSession, membership_id: uuid.UUID, *, for_update: bool = False
) -> Membership:
    """A membership, or 404; `for_update` locks the row (decisions must not race)."""
    return await get_or_404(session, Membership, membership_id, "membership", for_update=for_update)


async def history(session: AsyncSession, membership_id: uuid.UUID) -> list[MembershipDecision]:
    """A membership's decisions, oldest first."""
    query = select(MembershipDecision).where(MembershipDecision.membership_id == membership_id)
    return list((await session.scalars(query.order_by(MembershipDecision.at))).all())


async def decide(
    session: AsyncSession, membership: Membership, *, decision_in: DecisionIn, principal: Principal
) -> Membership:
    """Apply a decision; 409 listing the possible decisions when it does not fit the status."""
    allowed_from, target, needs_reason = DECISIONS[decision_in.decision]
    current = S(membership.status)
    if current not in allowed_from:
        possible = [d.value for d, (src, _, _) in DECISIONS.items() if current in src]
        raise ProblemError(
            "illegal-transition",
            f"membership is {current.value}; possible decisions: {', '.join(possible) or 'none'}",
            detail_zh=f"入区记录当前为“{name(STATUSES, current)}”；可作的决定：{'、'.join(possible) or '无'}",
            current=current.value,
            requested=decision_in.decision.value,
            allowed=possible,
        )
    if needs_reason and not (decision_in.reason and decision_in.reason.strip()):
        raise ProblemError(
            "validation",
            f"a reason is required to {decision_in.decision.value}",
            detail_zh=f"作出 {decision_in.decision.value} 决定须填写原因",
            errors=[
                {
                    "field": "reason",
                    "reason": "required for this decision",
                    "reason_zh": "此决定须填写原因",
                }
            ],
        )
    if target is S.admitted:  # admitting, and reinstating a suspended member, alike
        await _check_admission(session, membership, decision_in)
    effective_at = (
        datetime.combine(decision_in.effective_on, time.min, CHINA)
        if decision_in.effective_on
        else None
    )
    membership.status = target.value
    membership.reason = decision_in.reason
    membership.decided_at = effective_at or utcnow()
    # A person's decision settles any automatic removal review; the history keeps the reason.
    membership.review_requested_at = None
    membership.review_reason = None
    session.add(
        MembershipDecision(
            membership_id=membership.id,
            from_status=current.value,
            to_status=target.value,
            reason=decision_in.reason,
            actor=principal.subject,
        )
    )
    await session.flush()
    event_type = (
        "registry.membership.reinstated.v1"
        if decision_in.decision is Decision.reinstate
        else EVENT_OF[target]
    )
    await _emit(
        session, membership, event_type, principal.subject, decision_in.reason, effective_at
    )
    return membership


async def _check_admission(
    session: AsyncSession, membership: Membership, decision_in: DecisionIn
) -> None:
    """准入 follows credit's measures for the enterprise's level (联合奖惩): `refused` is a
    409 naming rule `credit_measure`, `review` needs a reason; a level not yet rated passes."""
    enterprise = await enterprises.get(session, membership.uscc)
    level = enterprise.credit_level
    if level is None:
        return
    version, in_force = await measures.in_force(session)
    admission = in_force[level].zone_admission
    model = f"credit model v{version}" if version else "the default measures"
    if admission == "refused":
        raise Conflict(
            f"credit level {level} is refused zone admission by {model} (联合惩戒)",
            detail_zh=f"信用等级 {level} 按 {model} 的措施不得入区（联合惩戒）",
            rule="credit_measure",
            credit_level=level,
            zone_admission=admission,
            model_version=version,
        )
    if admission == "review" and not (decision_in.reason and decision_in.reason.strip()):
        raise ProblemError(
            "validation",
            f"credit level {level} is admitted only after review ({model}): give the reason",
            detail_zh=f"信用等级 {level} 须经审核方可入区（{model}）：请填写原因",
            errors=[
                {
                    "field": "reason",
                    "reason": f"required to admit a level {level} enterprise",
                    "reason_zh": f"准入 {level} 级企业须填写原因",
                }
            ],
            rule="credit_measure",
            credit_level=level,
            zone_admission=admission,
            model_version=version,
        )


async def search(
    session: AsyncSession,
    *,
    page: PageParams,
    zone_code: str | None,
    uscc: str | None,
    status: str | None,
    under_review: bool | None,
) -> tuple[list[Membership], str | None]:
    """Keyset page of memberships, newest first."""
    query = select(Membership)
    if zone_code:
        query = query.where(Membership.zone_code == zone_code)
    if uscc:
        query = query.where(Membership.uscc == normalize(uscc))
    if status:
        query = query.where(Membership.status == status)
    if under_review is not None:
        query = query.where(
            Membership.review_requested_at.is_not(None)
            if under_review
            else Membership.review_requested_at.is_(None)
        )
    return await keyset_page(session, query, keys=[Membership.id], page=page, descending=True)


async def request_removal_review(
    session: AsyncSession, *, uscc: str, reason: str, actor: str
) -> list[Membership]:
    """Dynamic management (动态管理): flag every admitted membership of `uscc` for review."""
    memberships = list(
        (
            await session.scalars(
                select(Membership).where(
                    Membership.uscc == uscc,
                    Membership.status.in_((S.admitted.value, S.suspended.value)),
                    Membership.review_requested_at.is_(None),
                )
            )
        ).all()
    )
    for m in memberships:
        m.review_requested_at = utcnow()
        m.review_reason = reason
        await _emit(session, m, "registry.membership.review_requested.v1", actor, reason)
    await session.flush()
    return memberships


# Who may sign for a zone: its applicants and members (a suspended member signs again once
# reinstated); a revoked zone takes no commitments.
SIGNING_STATUSES = (S.applied.value, S.assessing.value, S.admitted.value)


async def _in_force(session: AsyncSession, uscc: str, zone_code: str) -> Commitment | None:
    return await session.scalar(
        select(Commitment)
        .where(
            Commitment.uscc == uscc,
            Commitment.zone_code == zone_code,
            Commitment.status.in_(COMMITMENT_IN_FORCE),
        )
        .with_for_update()
    )


async def sign_commitment(
    session: AsyncSession, uscc: str, *, commitment_in: CommitmentIn, principal: Principal
) -> Commitment:
    """Record a signed commitment, superseding the one in force for the zone (history kept).

    409 `zone_revoked` for a revoked zone, `applicant_or_member` when the enterprise neither
    applied to nor belongs to the zone."""
    enterprise = await enterprises.get(session, uscc)
    zone = await zones.get(session, commitment_in.zone_code)
    if zone.stage == "revoked":
        raise Conflict(
            f"zone '{zone.code}' is revoked and takes no commitments",
            detail_zh=f"示范区“{zone.code}”已撤销，不再受理承诺书",
            rule="zone_revoked",
            field="zone_code",
        )
    member = await session.scalar(
        select(Membership.id).where(
            Membership.zone_code == zone.code,
            Membership.uscc == enterprise.uscc,
            Membership.status.in_(SIGNING_STATUSES),
        )
    )
    if member is None:
        raise Conflict(
            f"{enterprise.uscc} is neither an applicant nor a member of zone '{zone.code}': "
            "only they sign its commitment",
            detail_zh=f"{enterprise.uscc} 既不是示范区“{zone.code}”的申请企业也不是成员企业："
            "只有它们才能签署承诺书",
            rule="applicant_or_member",
            field="zone_code",
        )
    await locks.hold(session, locks.Lock.COMMITMENT, f"{enterprise.uscc}/{zone.code}")
    previous = await _in_force(session, enterprise.uscc, zone.code)
    latest = await session.scalar(
        select(func.max(Commitment.version)).where(
            Commitment.uscc == enterprise.uscc, Commitment.zone_code == zone.code
        )
    )
    now = utcnow()
    if previous is not None:
        previous.status = "superseded"
        previous.superseded_at = now
        await session.flush()
        await commitment_events.emit(session, previous, "registry.commitment.superseded.v1")
    commitment = Commitment(
        zone_code=zone.code,
        uscc=enterprise.uscc,
        version=(latest or 0) + 1,
        supersedes_id=previous.id if previous is not None else None,
        signatory=commitment_in.signatory,
        signed_on=commitment_in.signed_on,
        text_version=commitment_in.text_version,
        text_sha256=hashlib.sha256(commitment_in.text.encode("utf-8")).hexdigest(),
        status="signed",
        recorded_by=principal.subject,
        created_at=now,
    )
    session.add(commitment)
    await session.flush()
    await commitment_events.emit(session, commitment, "registry.commitment.signed.v1")
    return commitment


async def countersign_commitment(
    session: AsyncSession, uscc: str, commitment_id: uuid.UUID, *, principal: Principal
) -> Commitment:
    """The zone office countersigns (会签) a signed commitment: from now it counts for credit,
    the countersigning agency its source. 403 for any other agency, 409 unless `signed`."""
    if not principal.is_admin and principal.agency != settings.office_agency:
        raise ProblemError(
            "forbidden",
            "only the zone office (or an administrator) countersigns a commitment",
            detail_zh="只有示范区办公室（或管理员）可以会签承诺书",
        )
    commitment = await _get_commitment(session, uscc, commitment_id)
    if commitment.status != "signed":
        raise ProblemError(
            "illegal-transition",
            f"commitment is {commitment.status}; only a signed commitment in force is "
            "countersigned",
            detail_zh=f"承诺书当前为“{name(STATUSES, commitment.status)}”；只有已签署且有效的承诺书才能会签",
            current=commitment.status,
            requested="countersign",
            allowed=[],
        )
    commitment.status = "countersigned"
    commitment.countersigned_at = utcnow()
    commitment.countersigned_by = principal.subject
    commitment.countersigning_agency = principal.agency or settings.office_agency
    await session.flush()
    await commitment_events.emit(session, commitment, "registry.commitment.countersigned.v1")
    return commitment


async def commitments_out(
    session: AsyncSession, commitments: list[Commitment], *, principal: Principal
) -> list[CommitmentOut]:
    """API views; the signatory (a person) masked unless `principal` may see it in full."""
    view = await personal.viewer(session, principal, usccs=[c.uscc for c in commitments])
    return [
        view.show(CommitmentOut.model_validate(c), c.uscc, personal.SIGNATORY_MASKS)
        for c in commitments
    ]


async def list_commitments(
    session: AsyncSession, uscc: str, *, page: PageParams
) -> tuple[list[Commitment], str | None]:
    """An enterprise's commitments, newest first."""
    enterprise = await enterprises.get(session, uscc)
    query = select(Commitment).where(Commitment.uscc == enterprise.uscc)
    keys = [Commitment.created_at, Commitment.id]
    return await keyset_page(session, query, keys=keys, page=page, descending=True)


async def _get_commitment(session: AsyncSession, uscc: str, commitment_id: uuid.UUID) -> Commitment:
    commitment = await session.get(Commitment, commitment_id, with_for_update=True)
    if commitment is None or commitment.uscc != normalize(uscc):
        raise NotFound("commitment", str(commitment_id))
    return commitment


async def breach_commitment(
    session: AsyncSession,
    uscc: str,
    commitment_id: uuid.UUID,
    *,
    breach_in: BreachIn,
    principal: Principal,
) -> Commitment:
    """Mark a commitment in force breached, with its severity and evidence (a credit fact
    downstream, from the recording agency); 409 if it is not in force."""
    commitment = await _get_commitment(session, uscc, commitment_id)
    if commitment.status == "breached":
        raise Conflict("commitment is already marked breached", detail_zh="承诺书已被标记为违诺")
    if commitment.status not in COMMITMENT_IN_FORCE:
        raise Conflict(
            f"commitment is {commitment.status}, not in force: breach the one in force",
            detail_zh=f"承诺书当前为“{name(STATUSES, commitment.status)}”，并非有效：请对有效的承诺书标记违诺",
            rule="in_force",
        )
    commitment.status = "breached"
    commitment.breached_at = utcnow()
    commitment.breach_reason = breach_in.reason
    commitment.breach_severity = breach_in.severity.value
    commitment.breach_evidence = breach_in.evidence
    commitment.breached_by = principal.subject
    await session.flush()
    await commitment_events.emit(
        session,
        commitment,
        "registry.commitment.breached.v1",
        actor=principal.subject,
        agency=principal.agency or settings.office_agency,
    )
    return commitment
