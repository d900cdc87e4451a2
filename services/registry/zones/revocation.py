"""What revoking a zone ends (动态管理: 对不符合条件的，将予撤销): its open memberships
(`removed`, reason "zone revoked") and its commitments in force (`ended`), each with its
event and, for memberships, a decision in their history."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.db import utcnow
from kit.events import MembershipChanged
from services.registry.events import publish
from services.registry.memberships import commitment_events
from services.registry.memberships.models import (
    OPEN_STATUSES,
    Membership,
    MembershipDecision,
)

REASON = "zone revoked"


async def end_zone(session: AsyncSession, zone_code: str, *, actor: str) -> tuple[int, int]:
    """Remove every open membership of the zone and end its commitments in force; the
    numbers of each."""
    now = utcnow()
    members = list(
        await session.scalars(
            select(Membership)
            .where(Membership.zone_code == zone_code, Membership.status.in_(OPEN_STATUSES))
            .order_by(Membership.id)
            .with_for_update()
        )
    )
    for m in members:
        session.add(
            MembershipDecision(
                membership_id=m.id,
                from_status=m.status,
                to_status="removed",
                reason=REASON,
                actor=actor,
                at=now,
            )
        )
        m.status, m.reason, m.decided_at = "removed", REASON, now
        m.review_requested_at = m.review_reason = None
        await publish(
            session,
            "registry.membership.removed.v1",
            m.uscc,
            MembershipChanged(
                membership_id=str(m.id),
                zone_code=zone_code,
                uscc=m.uscc,
                status="removed",
                reason=REASON,
                actor=actor,
            ),
        )
    commitments = len(
        await commitment_events.end_for_zone(session, zone_code, reason=REASON, actor=actor)
    )
    await session.flush()
    return len(members), commitments
