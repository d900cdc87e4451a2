"""The demo history's foreign notifications and returns (deploy/history.py loads them after
inspection's campaigns): each naming a shipped batch, raising an alert with a targeted
check. Resumable: a signal already recorded (by its reference) is passed over, and each has
a random state of its own, so a load interrupted here and run again makes what one
uninterrupted load makes."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from deploy.history import SEED_VALUE, Maker, _add, _check, _close_capa, _unit, admin, at, today
from kit.auth import Principal
from kit.bulk import Lines
from kit.db import clock_at


async def signals_history(
    maker: Maker, principals: dict[str, Principal], rng: random.Random
) -> dict[str, int]:
    """Foreign notifications and returns naming shipped batches (by their declaration
    number): each raises an alert with a targeted check; older ones investigated, checked
    and closed, recent serious ones still open. Recent serious ones put a handful of
    enterprises at credit C (a notification) and D (a notification, a return and failed
    checks)."""
    from services.inspection.risk import alerts, signals
    from services.inspection.risk.models import Alert, BatchMirror, Signal
    from services.inspection.risk.schemas import AlertPatch, AlertStatus, SignalIn
    from services.inspection.tasks.models import Task

    now = today()
    async with maker() as session:
        shipped = list(
            await session.scalars(
                select(BatchMirror)
                .where(BatchMirror.declaration_no.is_not(None), BatchMirror.ship_date.is_not(None))
                .order_by(BatchMirror.ship_date, BatchMirror.number)
            )
        )
    if not shipped:
        return {"signals": 0}
    plan: list[tuple[Any, str, str, date]] = []  # batch, kind, risk level, notified on
    by_year: dict[int, list[Any]] = defaultdict(list)
    shipped_on: dict[Any, date] = {b.id: b.ship_date for b in shipped if b.ship_date}
    for batch in shipped:
        by_year[shipped_on[batch.id].year].append(batch)
    recent_cut = now - timedelta(days=150)
    for _year, lots in sorted(by_year.items()):
        older = [b for b in lots if shipped_on[b.id] + timedelta(days=60) < recent_cut]
        for batch in rng.sample(older, k=min(len(older), 6)):
            kind = rng.choice(["foreign_notification", "foreign_notification", "return"])
            plan.append(
                (
                    batch,
                    kind,
                    rng.choice(["medium", "high"]),
                    shipped_on[batch.id] + timedelta(days=45),
                )
            )
    # the handful at C and D: recent serious signals about batches shipped this year
    recent = [
        b for b in shipped if recent_cut - timedelta(days=120) <= shipped_on[b.id] < recent_cut
    ]
    by_uscc: dict[str, list[Any]] = defaultdict(list)
    for batch in recent:
        by_uscc[batch.uscc].append(batch)
    chosen = sorted(by_uscc)[:: max(1, len(by_uscc) // 7)][:7]
    serious_d = set(chosen[:3])
    for uscc in chosen:
        batch = by_uscc[uscc][0]
        plan.append((batch, "foreign_notification", "serious", recent_cut + timedelta(days=20)))
        if uscc in serious_d:
            plan.append((batch, "return", "serious", recent_cut + timedelta(days=40)))
    plan = [p for p in plan if p[3] < now]
    counts = {"signals": 0, "alerts": 0, "alerts_closed": 0}

    async def signal_of(
        session: AsyncSession, batch: Any, kind: str, level: str, day: date
    ) -> dict[str, int]:
        made = {"signals": 0, "alerts": 0, "alerts_closed": 0}
        reference = (
            f"{'A12' if kind == 'foreign_notification' else 'TY'}/{batch.declaration_no}/{kind[:3]}"
        )
        if await session.scalar(select(Signal.id).where(Signal.reference == reference)):
            return made  # recorded by a load before this one (or named twice in the plan)
        rng = random.Random(f"{SEED_VALUE}:{reference}")
        signal_in = SignalIn.model_validate(
            {
                "kind": kind,
                "reference": reference,
                "notified_at": at(day),
                "notifying_country": batch.destination,
                "risk_type": rng.choice(["chemical", "electric shock", "injuries", "choking"]),
                "risk_level": level,
                "product": batch.product,
                "declaration_no": batch.declaration_no,
                "destination": batch.destination,
                "reason": "进口国检出不合格（演示数据）" if kind == "return" else None,
                "description": "目标市场通报的不合格批次（演示数据）",
            }
        )
        with clock_at(at(day, 11)):
            lines: Lines[SignalIn] = Lines(single=True, good=[(1, signal_in)])
            _, recorded = await signals.record_signals(session, lines, admin("ciq"))
        made["signals"] += 1
        for signal in recorded:
            if signal.alert_id is None:
                continue
            made["alerts"] += 1
            alert = await session.get_one(Alert, signal.alert_id)
            task = await session.get_one(Task, alert.task_id)
            serious = level == "serious"
            checked = day + timedelta(days=7)
            if checked < now and len(task.inspector_ids) >= 2:
                failed = (serious and batch.uscc in serious_d) or (
                    not serious and rng.random() < 0.5
                )
                await _check(
                    session,
                    task,
                    principals,
                    checked,
                    rng,
                    failed,
                    "fail" if failed else "pass",
                )
                if failed:
                    await _close_capa(session, task, principals, checked, close=not serious)
            closed_on = day + timedelta(days=50)
            if serious:
                continue  # the recent serious ones: the queue's open alerts, to investigate
            with clock_at(at(day + timedelta(days=2))):
                await alerts.move(
                    session,
                    alert,
                    AlertPatch(status=AlertStatus.investigating),
                    admin(alert.agency),
                )
            if closed_on < now:
                with clock_at(at(closed_on)):
                    await alerts.move(
                        session,
                        alert,
                        AlertPatch(
                            status=AlertStatus.closed,
                            conclusion="批次已追溯召回，整改验证有效（演示数据）",
                        ),
                        admin(alert.agency),
                    )
                made["alerts_closed"] += 1
        return made

    for batch, kind, level, day in sorted(plan, key=lambda p: (p[3], p[0].number)):

        async def one(
            session: AsyncSession, b: Any = batch, k: str = kind, lv: str = level, d: date = day
        ) -> dict[str, int]:
            return await signal_of(session, b, k, lv, d)

        _add(counts, await _unit(maker, None, one))
    return counts
