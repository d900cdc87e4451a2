"""Inspection's event consumers: the directory (agencies, enterprises) from registry, levels and recognised results
from credit."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from kit.events import (
    AgencyRegistered,
    BatchRecorded,
    BatchTraced,
    CloudEvent,
    CreditFactRecorded,
    CreditLevelChanged,
    EnterpriseRegistered,
    MembershipChanged,
    RecognitionChanged,
)
from kit.inbox import Consumer
from services.inspection.directory import service as directory
from services.inspection.risk import service as risk

# Zone members are the admitted ones: a suspension takes an enterprise out until reinstated.
MEMBER_EVENTS = {
    "registry.membership.admitted.v1": True,
    "registry.membership.reinstated.v1": True,
    "registry.membership.suspended.v1": False,
    "registry.membership.removed.v1": False,
}


async def on_registry_event(session: AsyncSession, event: CloudEvent) -> None:
    """Agencies; enterprises and their zone memberships; export batches; traces of alerts'
    batches."""
    if event.type == "registry.agency.registered.v1":
        await directory.mirror_agency(session, AgencyRegistered.model_validate(event.data))
    elif event.type == "registry.enterprise.registered.v1":
        registered = EnterpriseRegistered.model_validate(event.data)
        await directory.announce(
            session, uscc=registered.uscc, name=registered.name, industry=registered.industry
        )
    elif event.type in MEMBER_EVENTS:
        membership = MembershipChanged.model_validate(event.data)
        await directory.set_zone(
            session,
            uscc=membership.uscc,
            zone=membership.zone_code,
            member=MEMBER_EVENTS[event.type],
        )
    elif event.type == "registry.batch.recorded.v1":
        await risk.mirror_batch(session, BatchRecorded.model_validate(event.data))
    elif event.type == "registry.batch.traced.v1":
        await risk.attach_trace(session, BatchTraced.model_validate(event.data))


async def on_credit_event(session: AsyncSession, event: CloudEvent) -> None:
    """Levels (the draw's strata), recognitions and recognisable results."""
    if event.type == "credit.level.changed.v1":
        await directory.set_level(
            session, CreditLevelChanged.model_validate(event.data), event.time
        )
    elif event.type in ("credit.recognition.granted.v1", "credit.recognition.revoked.v1"):
        await directory.mirror_recognition(session, RecognitionChanged.model_validate(event.data))
    elif event.type == "credit.fact.recorded.v1":
        await directory.mirror_result(session, CreditFactRecorded.model_validate(event.data))


CONSUMERS = [
    Consumer(durable="inspection-registry", stream="REGISTRY", handler=on_registry_event),
    Consumer(durable="inspection-credit", stream="CREDIT", handler=on_credit_event),
]
