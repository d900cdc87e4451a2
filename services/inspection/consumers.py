"""Inspection's event consumers: the directory (agencies, zones, enterprises, membership
periods, survey figures) from registry, levels (and their history) and recognised results from
credit."""

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
    ModelPublished,
    RecognitionChanged,
    SurveyRecorded,
    ZoneRegistered,
)
from kit.inbox import Batched, Consumer, Handler, in_lanes
from services.inspection.directory import history
from services.inspection.directory import service as directory
from services.inspection.risk import mirrors


async def on_agency(session: AsyncSession, agency: AgencyRegistered, _: CloudEvent) -> None:
    """A member agency (a lab's operator must be one)."""
    await directory.mirror_agency(session, agency)


async def on_zone(session: AsyncSession, zone: ZoneRegistered, _: CloudEvent) -> None:
    """A zone registry planned: the `zone` filters accept its code."""
    await directory.mirror_zone(session, zone)


async def on_enterprises(
    session: AsyncSession, registered: list[tuple[EnterpriseRegistered, CloudEvent]]
) -> None:
    """Enterprises enter the directory (a run of them in one statement)."""
    await directory.announce(session, [e for e, _ in registered])


async def on_enterprise(
    session: AsyncSession, registered: EnterpriseRegistered, event: CloudEvent
) -> None:
    """One enterprise (a run of one)."""
    await on_enterprises(session, [(registered, event)])


def on_membership(member: bool) -> Handler:
    """Zone members are the admitted ones: a suspension takes an enterprise out until
    reinstated."""

    async def handle(
        session: AsyncSession, membership: MembershipChanged, event: CloudEvent
    ) -> None:
        await directory.set_zone(
            session, uscc=membership.uscc, zone=membership.zone_code, member=member
        )
        at = membership.effective_at or event.time
        await history.record_membership(session, membership, member=member, at=at)

    return handle


async def on_batches(
    session: AsyncSession, batches: list[tuple[BatchRecorded, CloudEvent]]
) -> None:
    """Export batches, for risk signals that name them (a bulk upload's run of them, or the
    demo history's, in a few statements)."""
    await mirrors.mirror_batches(session, [b for b, _ in batches])


async def on_batch(session: AsyncSession, batch: BatchRecorded, event: CloudEvent) -> None:
    """One export batch (a run of one)."""
    await on_batches(session, [(batch, event)])


async def on_trace(session: AsyncSession, trace: BatchTraced, _: CloudEvent) -> None:
    """The trace of an alert's batch, attached to the alert."""
    await mirrors.attach_trace(session, trace)


async def on_levels(
    session: AsyncSession, changes: list[tuple[CreditLevelChanged, CloudEvent]]
) -> None:
    """Levels are the draw's strata; their history dates a period's levels. A run of changes
    (a rescoring storm) is two statements."""
    timed = [(change, event.time) for change, event in changes]
    await directory.set_levels(session, timed)
    await history.record_levels(session, timed)


async def on_level(session: AsyncSession, change: CreditLevelChanged, event: CloudEvent) -> None:
    """One level change (a run of one)."""
    await on_levels(session, [(change, event)])


async def on_surveys(
    session: AsyncSession, surveys: list[tuple[SurveyRecorded, CloudEvent]]
) -> None:
    """Years' survey figures, for zone KPIs of a year without export batches (an import's
    or the demo history's run of them in one statement)."""
    await history.mirror_surveys(session, [s for s, _ in surveys])


async def on_survey(session: AsyncSession, survey: SurveyRecorded, event: CloudEvent) -> None:
    """One year's survey figures (a run of one)."""
    await on_surveys(session, [(survey, event)])


async def on_model(session: AsyncSession, published: ModelPublished, _: CloudEvent) -> None:
    """The measures in force per level give a campaign's default ratios (联合奖惩)."""
    await directory.mirror_measures(session, published)


async def on_recognition(session: AsyncSession, change: RecognitionChanged, _: CloudEvent) -> None:
    """Which agencies recognise which results (监管互认)."""
    await directory.mirror_recognition(session, change)


async def on_fact(session: AsyncSession, fact: CreditFactRecorded, _: CloudEvent) -> None:
    """A recognisable result."""
    await directory.mirror_result(session, fact)


CONSUMERS = in_lanes(
    Consumer(
        "inspection-registry",
        "REGISTRY",
        {
            "registry.agency.registered.v1": on_agency,
            "registry.zone.registered.v1": on_zone,
            "registry.enterprise.registered.v1": Batched(on_enterprises),
            "registry.membership.admitted.v1": on_membership(True),
            "registry.membership.reinstated.v1": on_membership(True),
            "registry.membership.suspended.v1": on_membership(False),
            "registry.membership.removed.v1": on_membership(False),
            "registry.batch.recorded.v1": Batched(on_batches),
            "registry.batch.traced.v1": on_trace,
            "registry.survey.recorded.v1": Batched(on_surveys),
        },
    ),
    Consumer(
        "inspection-credit",
        "CREDIT",
        {
            "credit.level.changed.v1": Batched(on_levels),
            "credit.fact.recorded.v1": on_fact,
            "credit.model.published.v1": on_model,
            "credit.recognition.granted.v1": on_recognition,
            "credit.recognition.revoked.v1": on_recognition,
        },
    ),
)
