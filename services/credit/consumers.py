"""Credit's event consumers: enterprises announced by registry, facts from registry and
inspection. Each event becomes at most one fact (the fact's `source_event_id` is unique, and
the inbox records the event in the same transaction)."""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime, time

from sqlalchemy.ext.asyncio import AsyncSession

from kit.events import (
    AgencyRegistered,
    AlertRaised,
    AwardChanged,
    CloudEvent,
    CommitmentChanged,
    EnterpriseRegistered,
    LabTestChanged,
    TaskCompleted,
    TrainingAttended,
)
from kit.inbox import Batched, Consumer, in_lanes
from kit.validation import CHINA
from services.credit.agencies import service as agencies
from services.credit.config import settings
from services.credit.domain import FactKind, Severity
from services.credit.facts import service as facts
from services.credit.facts.schemas import FactBase
from services.credit.scores import service as scores

log = logging.getLogger("credit.consumers")

SIGNAL_FACTS = {
    "foreign_notification": FactKind.foreign_notification,
    "return": FactKind.product_return,
    "recall": FactKind.recall,
}


async def _record(
    session: AsyncSession, event: CloudEvent, uscc: str, agency: str, fact: FactBase
) -> None:
    await facts.record(
        session,
        fact=fact,
        uscc=uscc,
        source_agency=agency,
        actor=event.source,
        source_event_id=uuid.UUID(event.id),
    )


def _china_day(day: date) -> datetime:
    """The start of a calendar day in China, as an instant."""
    return datetime.combine(day, time.min, tzinfo=CHINA)


async def on_agency(session: AsyncSession, agency: AgencyRegistered, _: CloudEvent) -> None:
    """A member agency: facts submitted over HTTP may name it as their source."""
    await agencies.mirror(session, agency)


async def on_registered(
    session: AsyncSession, registered: list[tuple[EnterpriseRegistered, CloudEvent]]
) -> None:
    """Announced enterprises start at the base score (a run of them in one call)."""
    await scores.announce(session, [(e, event.time) for e, event in registered])


async def on_commitment_countersigned(
    session: AsyncSession, commitment: CommitmentChanged, event: CloudEvent
) -> None:
    """A commitment countersigned by the zone office is a fact, from the countersigning
    agency: one per enterprise and zone, so a superseding signature adds none."""
    if await facts.has_commitment_fact(session, uscc=commitment.uscc, zone=commitment.zone_code):
        log.info(
            "commitment %s supersedes one already counted for %s in %s",
            commitment.commitment_id,
            commitment.uscc,
            commitment.zone_code,
        )
        return
    await _record(
        session,
        event,
        commitment.uscc,
        commitment.agency or settings.office_agency,
        FactBase(
            kind=FactKind.commitment_signed,
            severity=Severity.general,
            occurred_at=event.time,
            evidence_ref=f"commitment {commitment.commitment_id} ({commitment.zone_code})",
            details={
                "zone_code": commitment.zone_code,
                "text_sha256": commitment.text_sha256,
                "version": commitment.version,
                "countersigned_by": commitment.actor,
            },
        ),
    )


async def on_commitment_ended(
    session: AsyncSession, commitment: CommitmentChanged, event: CloudEvent
) -> None:
    """A commitment ended with its zone's revocation no longer counts: its fact ends and the
    enterprise is rescored (a breach's fact stands: it is not a commitment fact)."""
    ended = await facts.end_commitment_facts(
        session, uscc=commitment.uscc, zone=commitment.zone_code, at=event.time
    )
    if ended:
        enterprise = await scores.get(session, commitment.uscc, for_update=True)
        await scores.rescore(
            session,
            enterprise,
            cause=f"commitment ended ({commitment.reason or 'zone revoked'})",
            fact_id=ended[0].id,
        )


async def on_commitment_breached(
    session: AsyncSession, commitment: CommitmentChanged, event: CloudEvent
) -> None:
    """A breach is a fact of the severity registry recorded, on its evidence (events from
    before breaches named one were serious)."""
    await _record(
        session,
        event,
        commitment.uscc,
        commitment.agency or settings.office_agency,
        FactBase(
            kind=FactKind.commitment_breached,
            severity=Severity(commitment.severity or "serious"),
            occurred_at=event.time,
            evidence_ref=commitment.evidence
            or f"commitment {commitment.commitment_id} ({commitment.zone_code})",
            description=commitment.reason,
            details={"zone_code": commitment.zone_code, "text_sha256": commitment.text_sha256},
        ),
    )


async def on_training(session: AsyncSession, attended: TrainingAttended, event: CloudEvent) -> None:
    """Training attended is a fact, dated the day it was held."""
    await _record(
        session,
        event,
        attended.uscc,
        attended.organiser_agency,
        FactBase(
            kind=FactKind.training,
            severity=Severity.general,
            occurred_at=min(_china_day(attended.held_on), event.time),
            evidence_ref=f"training {attended.training_id}",
            description=attended.title,
            details={"training_id": attended.training_id, "topic": attended.topic},
        ),
    )


async def on_award(session: AsyncSession, award: AwardChanged, event: CloudEvent) -> None:
    """An award granted is a fact."""
    await _record(
        session,
        event,
        award.uscc,
        settings.office_agency,
        FactBase(
            kind=FactKind.award,
            severity=Severity.general,
            occurred_at=event.time,
            evidence_ref=f"award round {award.round_id}",
            description=award.title,
            details={"round_id": award.round_id, "year": award.year},
        ),
    )


async def on_task(session: AsyncSession, task: TaskCompleted, event: CloudEvent) -> None:
    """A spot-check result is a fact."""
    await _record(
        session,
        event,
        task.uscc,
        task.agency,
        FactBase(
            kind=FactKind.spot_check_pass if task.outcome == "pass" else FactKind.spot_check_fail,
            severity=Severity(task.severity),
            occurred_at=min(task.completed_at, event.time),
            evidence_ref=task.evidence_ref or f"task {task.task_id}",
            details={
                "task_id": task.task_id,
                "campaign_id": task.campaign_id,
                **({"checklist_items": task.checklist_items} if task.checklist_items else {}),
            },
        ),
    )


async def on_alert(session: AsyncSession, alert: AlertRaised, event: CloudEvent) -> None:
    """A risk alert about an enterprise is a fact when its signal is one (a foreign
    notification, a return, a recall)."""
    kind = SIGNAL_FACTS.get(alert.signal_kind)
    if kind is None or alert.uscc is None:
        log.info("alert %s is not a credit fact (%s)", alert.alert_id, alert.signal_kind)
        return
    await _record(
        session,
        event,
        alert.uscc,
        alert.agency,
        FactBase(
            kind=kind,
            severity=Severity(alert.severity),
            occurred_at=min(alert.raised_at, event.time),
            evidence_ref=alert.reference or f"alert {alert.alert_id}",
            details={"alert_id": alert.alert_id, "batch_id": alert.batch_id},
        ),
    )


async def on_lab_test(session: AsyncSession, test: LabTestChanged, event: CloudEvent) -> None:
    """A completed lab test is a fact."""
    passed = test.outcome == "pass"
    await _record(
        session,
        event,
        test.uscc,
        test.agency or settings.office_agency,
        FactBase(
            kind=FactKind.lab_test_pass if passed else FactKind.lab_test_fail,
            severity=Severity(test.severity or "general"),
            occurred_at=min(test.tested_at or event.time, event.time),
            evidence_ref=f"lab report {test.report_number} ({test.lab_name})",
            details={
                "request_id": test.request_id,
                "lab_id": test.lab_id,
                "batch_id": test.batch_id,
                "standard": test.standard,
            },
        ),
    )


CONSUMERS = in_lanes(
    Consumer(
        "credit-registry",
        "REGISTRY",
        lanes=False,  # a commitment's fact needs its enterprise's registration applied first
        handlers={
            "registry.agency.registered.v1": on_agency,
            "registry.enterprise.registered.v1": Batched(on_registered),
            "registry.commitment.countersigned.v1": on_commitment_countersigned,
            "registry.commitment.breached.v1": on_commitment_breached,
            "registry.commitment.ended.v1": on_commitment_ended,
            "registry.training.attended.v1": on_training,
            "registry.award.granted.v1": on_award,
        },
    ),
    Consumer(
        "credit-inspection",
        "INSPECTION",
        {
            "inspection.task.completed.v1": on_task,
            "inspection.alert.raised.v1": on_alert,
            "inspection.test.completed.v1": on_lab_test,
        },
    ),
)
