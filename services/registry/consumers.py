"""Registry's event consumers."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import BigInteger, DateTime, String, update
from sqlalchemy.ext.asyncio import AsyncSession

from kit.db import newer_than_mirrored, once_each, values_table
from kit.events import AlertClosed, AlertRaised, CloudEvent, CreditLevelChanged, ModelPublished
from kit.inbox import Batched, Consumer, in_lanes
from services.registry.batches import service as batches
from services.registry.batches.models import Lot
from services.registry.enterprises.models import Enterprise
from services.registry.measures import service as measures
from services.registry.memberships import service as memberships
from services.registry.programme.honours import service as honours

log = logging.getLogger("registry.consumers")


async def on_credit_levels(
    session: AsyncSession, changes: list[tuple[CreditLevelChanged, CloudEvent]]
) -> None:
    """Mirror each level unless it is older than the one held; a fall into a level whose
    measures say `removal_review` (D by default) raises a removal review (动态管理).
    A run of changes (a rescoring job's storm) is one guarded Core UPDATE, so the version
    (the ETag) stays: the level is credit's, not an edit a client could lose, and a client's
    If-Match must not fail because credit spoke meanwhile."""
    reviewed: set[str] | None = None
    for chunk in once_each(changes, key=lambda item: item[0].uscc):
        incoming = values_table(
            uscc=([c.uscc for c, _ in chunk], String()),
            level=([c.to_level for c, _ in chunk], String()),
            seq=([c.sequence for c, _ in chunk], BigInteger()),
            at=([e.time for _, e in chunk], DateTime(timezone=True)),
        )
        mirrored = set(
            await session.scalars(
                update(Enterprise)
                .where(
                    Enterprise.uscc == incoming.c.uscc,
                    newer_than_mirrored(
                        Enterprise.credit_level_seq,
                        Enterprise.credit_level_at,
                        incoming.c.seq,
                        incoming.c.at,
                    ),
                )
                .values(
                    credit_level=incoming.c.level,
                    credit_level_at=incoming.c.at,
                    credit_level_seq=incoming.c.seq,
                )
                .returning(Enterprise.uscc)
                .execution_options(synchronize_session=False)
            )
        )
        for change, event in chunk:
            if change.uscc not in mirrored:
                log.info(
                    "credit level %s for %s: unknown enterprise or stale", event.id, change.uscc
                )
                continue
            if reviewed is None:
                _, in_force = await measures.in_force(session)
                reviewed = {level for level, effects in in_force.items() if effects.removal_review}
            if change.to_level in reviewed and change.from_level not in reviewed:
                reason = f"credit level fell to {change.to_level}" + (
                    f": {change.cause}" if change.cause else ""
                )
                await memberships.request_removal_review(
                    session, uscc=change.uscc, reason=reason, actor=event.source
                )


async def on_credit_level_changed(
    session: AsyncSession, change: CreditLevelChanged, event: CloudEvent
) -> None:
    """One level change (a run of one)."""
    await on_credit_levels(session, [(change, event)])


async def on_model_published(
    session: AsyncSession, published: ModelPublished, event: CloudEvent
) -> None:
    """The measures (联合奖惩) of credit's new model version: honours, zone admission and
    removal reviews follow them."""
    await measures.mirror(session, published)


async def on_alert_raised(session: AsyncSession, alert: AlertRaised, event: CloudEvent) -> None:
    """Trace an alert's batch upstream and announce its steps, supplier lots and the other
    enterprises that received the same supplier lots (inspection attaches it to the alert).
    Open alerts are remembered per enterprise until inspection closes them: an open serious
    one keeps the enterprise out of honours (联合惩戒)."""
    await honours.alert_raised(session, alert)
    if alert.batch_id is None:
        return
    lot = await session.get(Lot, uuid.UUID(alert.batch_id))
    if lot is None:
        log.warning("alert %s names unknown batch %s", alert.alert_id, alert.batch_id)
        return
    await batches.announce_trace(session, lot, alert_id=alert.alert_id)


async def on_alert_closed(session: AsyncSession, closed: AlertClosed, event: CloudEvent) -> None:
    """The alert no longer keeps its enterprise out of honours."""
    await honours.alert_closed(session, closed)


CONSUMERS = in_lanes(
    Consumer(
        "registry-credit-levels",
        "CREDIT",
        {
            "credit.level.changed.v1": Batched(on_credit_levels),
            "credit.model.published.v1": on_model_published,
        },
    ),
    Consumer(
        "registry-inspection",
        "INSPECTION",
        {
            "inspection.alert.raised.v1": on_alert_raised,
            "inspection.alert.closed.v1": on_alert_closed,
        },
    ),
)
