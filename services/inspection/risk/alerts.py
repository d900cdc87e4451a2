"""Alerts (风险预警): raised for matched signals, each with a targeted task for two
inspectors and `inspection.alert.raised`; moved on to investigating and closed."""

from __future__ import annotations

import heapq
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.db import get_or_404, utcnow
from kit.events import AlertClosed, AlertRaised, make_event
from kit.ids import uuid7
from kit.outbox import emit
from kit.pagination import PageParams, keyset_page
from kit.problems import Conflict, ProblemError
from kit.vocabulary import SIGNAL_KINDS, STATUSES, bilingual, name
from services.inspection.checklists.models import Checklist
from services.inspection.directory.models import DirectoryEntry
from services.inspection.eligibility import may_inspect
from services.inspection.events import SOURCE
from services.inspection.inspectors.models import Inspector
from services.inspection.inspectors.service import conflicts_today, inspector_uuid
from services.inspection.risk.models import Alert, BatchMirror, Signal
from services.inspection.risk.schemas import AlertPatch, AlertStatus, SignalKind
from services.inspection.tasks.models import Task

# "国外通报 Foreign notification": summaries are read in both languages.
KIND_NAMES = {kind: bilingual(SIGNAL_KINDS, kind) for kind in SignalKind}
TARGETED_INSPECTORS = 2


def _summary(signal: Signal, batch_number: str | None) -> str:
    facts = signal.facts
    what = facts.get("product") or " ".join(
        str(facts[k]) for k in ("brand", "model") if facts.get(k)
    )
    parts = [
        KIND_NAMES[SignalKind(signal.kind)],
        facts.get("notifying_country") or facts.get("destination"),
        facts.get("risk_type"),
        what or None,
        f"batch {batch_number}" if batch_number else None,
        signal.reference,
    ]
    return " · ".join(str(p) for p in parts if p)


async def _pool(
    session: AsyncSession, usccs: set[str]
) -> tuple[list[Inspector], dict[uuid.UUID, int], set[tuple[uuid.UUID, str]]]:
    """Active inspectors, their open tasks, and today's declared conflicts with `usccs`."""
    inspectors = list(await session.scalars(select(Inspector).where(Inspector.active)))
    load = {
        inspector_id: count
        for inspector_id, count in await session.execute(
            text(
                "SELECT unnest(inspector_ids), count(*) FROM tasks WHERE status = 'open' GROUP BY 1"
            )
        )
    }
    return inspectors, load, await conflicts_today(session, usccs)


def _assign(
    alert_id: uuid.UUID,
    agency: str,
    entry: DirectoryEntry | None,
    pool: tuple[list[Inspector], dict[uuid.UUID, int], set[tuple[uuid.UUID, str]]],
    uscc: str,
) -> list[uuid.UUID]:
    """Two inspectors for a targeted check: never conflicted, never of the enterprise's own
    supervising unit; the signal's agency first, the least loaded first, ties broken by the
    inspector's id mixed with the alert's (reproducible, and cheap for thousands of alerts:
    a hash per pair made a 10,000-line file with a 500-officer pool take seconds longer)."""
    inspectors, load, conflicts = pool
    # an empty unit keeps nobody out here, as ever (the draw's replays compare it as a unit)
    unit = (entry.unit if entry else None) or None
    eligible = [
        i
        for i in inspectors
        if may_inspect(
            conflicted=(i.id, uscc) in conflicts, inspector_unit=i.unit, target_unit=unit
        )
    ]
    best = heapq.nsmallest(
        TARGETED_INSPECTORS,
        eligible,
        key=lambda i: (
            i.agency != agency,
            load.get(i.id, 0),
            (i.id.int ^ alert_id.int) & 0xFFFFFFFFFFFF,  # cheap and reproducible
        ),
    )
    chosen = [i.id for i in best]
    for inspector_id in chosen:
        load[inspector_id] = load.get(inspector_id, 0) + 1
    return chosen


async def raise_alerts(session: AsyncSession, signals: Sequence[Signal]) -> list[uuid.UUID]:
    """For each matched signal: an alert, a targeted task for two inspectors, and
    `inspection.alert.raised` (credit turns it into a fact, registry traces the batch)."""
    if not signals:
        return []
    usccs = {s.uscc for s in signals if s.uscc}
    entries = {
        e.uscc: e
        for e in await session.scalars(select(DirectoryEntry).where(DirectoryEntry.uscc.in_(usccs)))
    }
    batch_ids = {s.batch_id for s in signals if s.batch_id}
    numbers = (
        {
            b.id: b.number
            for b in await session.scalars(select(BatchMirror).where(BatchMirror.id.in_(batch_ids)))
        }
        if batch_ids
        else {}
    )
    checklists = {
        industry: checklist_id
        for industry, checklist_id in await session.execute(
            select(Checklist.industry, Checklist.id)
            .distinct(Checklist.industry)
            .order_by(Checklist.industry, Checklist.created_at.desc())
        )
    }
    pool = await _pool(session, usccs)
    now = utcnow()
    alerts: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []
    events = []
    for signal in signals:
        assert signal.uscc is not None
        entry = entries.get(signal.uscc)
        alert_id = uuid7()
        task: dict[str, Any] = {
            "id": uuid7(),
            "kind": "targeted",
            "campaign_id": None,
            "checklist_id": checklists.get(entry.industry) if entry and entry.industry else None,
            "alert_id": alert_id,
            "agency": signal.source_agency,
            "uscc": signal.uscc,
            "level": entry.level if entry else "B",
            "inspector_ids": _assign(alert_id, signal.source_agency, entry, pool, signal.uscc),
            "status": "open",
            "version": 1,
            "updated_at": now,
        }
        batch_number = numbers.get(signal.batch_id) if signal.batch_id else None
        alert: dict[str, Any] = {
            "id": alert_id,
            "signal_id": signal.id,
            "kind": signal.kind,
            "uscc": signal.uscc,
            "batch_id": signal.batch_id,
            "batch_number": batch_number,
            "severity": signal.severity,
            "agency": signal.source_agency,
            "status": "open",
            "summary": _summary(signal, batch_number),
            "task_id": task["id"],
            "affected": [],
            "raised_at": now,
            "version": 1,
        }
        signal.alert_id = alert_id
        tasks.append(task)
        alerts.append(alert)
        events.append(
            make_event(
                source=SOURCE,
                type="inspection.alert.raised.v1",
                subject=signal.uscc,
                data=AlertRaised(
                    alert_id=str(alert_id),
                    uscc=signal.uscc,
                    signal_kind=signal.kind,  # type: ignore[arg-type]
                    severity=signal.severity,  # type: ignore[arg-type]
                    agency=signal.source_agency,
                    batch_id=str(signal.batch_id) if signal.batch_id else None,
                    batch_number=batch_number,
                    reference=signal.reference,
                    summary=alert["summary"],
                    task_id=str(task["id"]),
                    zones=list(entry.zones) if entry else [],
                    raised_at=now,
                ),
            )
        )
    await session.execute(insert(Task), tasks)
    await session.execute(insert(Alert), alerts)
    await emit(session, *events)
    return [a["id"] for a in alerts]


async def get_alert(
    session: AsyncSession, alert_id: uuid.UUID, *, for_update: bool = False
) -> Alert:
    """One alert, or 404."""
    return await get_or_404(session, Alert, alert_id, "alert", for_update=for_update)


async def ensure_may_see(session: AsyncSession, principal: Principal, alert: Alert) -> None:
    """An enterprise sees the alerts about itself, an inspector those whose targeted task is
    assigned to them; agencies and the office see all."""
    if not principal.can_act_for(alert.uscc):
        raise ProblemError(
            "forbidden",
            "an enterprise sees only the alerts about itself",
            detail_zh="企业只能查看与本企业有关的风险预警",
        )
    if principal.inspector_id is not None:
        task = await session.get(Task, alert.task_id) if alert.task_id else None
        if task is None or inspector_uuid(principal) not in task.inspector_ids:
            raise ProblemError(
                "forbidden",
                "an inspector sees only the alerts of tasks assigned to them",
                detail_zh="检查员只能查看分配给自己的任务的风险预警",
            )


async def search_alerts(
    session: AsyncSession,
    *,
    page: PageParams,
    uscc: str | None,
    inspector: uuid.UUID | None,
    status: str | None,
    severity: str | None,
    zone: str | None,
    since: datetime | None,
) -> tuple[list[Alert], str | None]:
    """Alerts, oldest first; with `inspector`, only those whose task is assigned to them."""
    query = select(Alert)
    if inspector is not None:
        query = query.where(
            select(Task.id)
            .where(Task.id == Alert.task_id, Task.inspector_ids.contains([inspector]))
            .exists()
        )
    if uscc:
        query = query.where(Alert.uscc == uscc)
    if status:
        query = query.where(Alert.status == status)
    if severity:
        query = query.where(Alert.severity == severity)
    if since:
        query = query.where(Alert.raised_at >= since)
    if zone:
        query = query.where(
            select(DirectoryEntry.uscc)
            .where(DirectoryEntry.uscc == Alert.uscc, DirectoryEntry.zones.contains([zone]))
            .exists()
        )
    return await keyset_page(session, query, keys=[Alert.id], page=page)


TRANSITIONS = {
    AlertStatus.open: {AlertStatus.investigating, AlertStatus.closed},
    AlertStatus.investigating: {AlertStatus.closed},
    AlertStatus.closed: set(),
}


async def move(
    session: AsyncSession, alert: Alert, patch: AlertPatch, principal: Principal
) -> Alert:
    """open → investigating → closed (with a conclusion), by the alert's agency or an admin."""
    if not principal.is_admin and principal.agency != alert.agency:
        raise ProblemError(
            "forbidden",
            f"the alert is {alert.agency}'s to investigate and close",
            detail_zh=f"该风险预警应由 {alert.agency} 调查和关闭",
        )
    actor = principal.subject
    if patch.status not in TRANSITIONS[AlertStatus(alert.status)]:
        raise Conflict(
            f"an alert that is {alert.status} cannot become {patch.status.value}",
            detail_zh=f"状态为“{name(STATUSES, alert.status)}”的风险预警不能变为“{name(STATUSES, patch.status)}”",
            status_now=alert.status,
        )
    alert.status = patch.status.value
    if patch.conclusion:
        alert.conclusion = patch.conclusion
    if patch.status == AlertStatus.closed:
        alert.closed_at = utcnow()
        alert.closed_by = actor
    alert.version += 1
    await session.flush()
    if patch.status == AlertStatus.closed:
        await emit(
            session,
            make_event(
                source=SOURCE,
                type="inspection.alert.closed.v1",
                subject=alert.uscc,
                data=AlertClosed(
                    alert_id=str(alert.id),
                    uscc=alert.uscc,
                    severity=alert.severity,  # type: ignore[arg-type]
                    agency=alert.agency,
                    conclusion=alert.conclusion,
                    closed_at=alert.closed_at,  # type: ignore[arg-type]
                ),
            ),
        )
    return alert
