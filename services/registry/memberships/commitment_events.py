"""A commitment's events, and ending a zone's commitments in force: shared by the
commitments' own service and by a zone's revocation (which must not import that service:
it imports the zones)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.db import utcnow
from kit.events import CommitmentChanged
from services.registry.events import publish
from services.registry.memberships.models import COMMITMENT_IN_FORCE, Commitment


async def emit(
    session: AsyncSession,
    c: Commitment,
    event_type: str,
    *,
    actor: str | None = None,
    agency: str | None = None,
) -> None:
    """Announce a commitment's change (`registry.commitment.<status>.v1`) as it now stands."""
    await publish(
        session,
        event_type,
        c.uscc,
        CommitmentChanged(
            commitment_id=str(c.id),
            zone_code=c.zone_code,
            uscc=c.uscc,
            text_sha256=c.text_sha256,
            signed_on=c.signed_on,
            status=c.status,  # type: ignore[arg-type]
            reason=c.breach_reason or c.end_reason,
            version=c.version,
            supersedes=str(c.supersedes_id) if c.supersedes_id else None,
            agency=agency or c.countersigning_agency,
            actor=actor or c.countersigned_by or c.recorded_by,
            severity=c.breach_severity,  # type: ignore[arg-type]
            evidence=c.breach_evidence,
        ),
    )


async def end_for_zone(
    session: AsyncSession, zone_code: str, *, reason: str, actor: str = "registry"
) -> list[Commitment]:
    """End every commitment in force for a zone (its revocation: reason "zone revoked"), each
    announced as `registry.commitment.ended`; credit records no fact for an ending."""
    ended = list(
        (
            await session.scalars(
                select(Commitment)
                .where(
                    Commitment.zone_code == zone_code,
                    Commitment.status.in_(COMMITMENT_IN_FORCE),
                )
                .order_by(Commitment.id)
                .with_for_update()
            )
        ).all()
    )
    now = utcnow()
    for c in ended:
        c.status = "ended"
        c.ended_at = now
        c.end_reason = reason
    await session.flush()
    for c in ended:
        await emit(session, c, "registry.commitment.ended.v1", actor=actor)
    return ended
