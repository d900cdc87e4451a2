"""Batches: record lots (one or many), record lineage events (one or many), and trace."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import String, any_, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.bulk import BulkResult, LineRecorded, Lines, finish, new_result
from kit.db import get_or_404, utcnow
from kit.events import AffectedEnterprise, BatchRecorded, BatchTraced, TracedStep, make_event
from kit.ids import uuid7
from kit.outbox import emit
from kit.pagination import PageParams, keyset_page
from kit.problems import Conflict, ProblemError
from services.registry.batches.models import Lot, LotEvent, LotEventLot, LotLink
from services.registry.batches.schemas import (
    AggregationEventIn,
    BatchIn,
    BatchOut,
    EventLotOut,
    LotEventOut,
    ObjectEventIn,
    SharedSupplierLot,
    TraceNode,
    TraceOut,
    TraceStep,
    TransformationEventIn,
)
from services.registry.enterprises.models import Enterprise
from services.registry.events import SOURCE, publish

EventIn = ObjectEventIn | TransformationEventIn | AggregationEventIn
MAX_TRACE_NODES = 10_000
# What an alert carries: the batch's upstream genealogy, bounded to stay a small event.
ALERT_TRACE_DEPTH = 10
ALERT_TRACE_LIMIT = 500
ALERT_TRACE_STEPS = 500
ALERT_AFFECTED = 1_000  # the event stays well under NATS's 1 MiB default payload


def _texts(values: set[str]) -> Any:
    """One array parameter, however many values (IN would bind one parameter each)."""
    return bindparam(None, sorted(values), type_=ARRAY(String))


def supplier_key(batch: BatchIn) -> str | None:
    """The same supplier lot as other enterprises received it: by USCC, else by name."""
    if batch.supplier_uscc:
        return batch.supplier_uscc
    return " ".join(batch.supplier_name.split()).casefold() if batch.supplier_name else None


def _recorded(lot: dict[str, Any]) -> Any:
    return make_event(
        source=SOURCE,
        type="registry.batch.recorded.v1",
        subject=lot["uscc"],
        data=BatchRecorded(
            batch_id=str(lot["id"]),
            **{k: lot[k] for k in BatchRecorded.model_fields if k != "batch_id"},
        ),
    )


async def get(session: AsyncSession, batch_id: uuid.UUID) -> Lot:
    """One lot, or 404."""
    return await get_or_404(session, Lot, batch_id, "batch")


async def record(
    session: AsyncSession, lines: Lines[BatchIn], principal: Principal
) -> tuple[BulkResult, list[Lot]]:
    """Record every good line's lot; a number already recorded for its enterprise is a
    duplicate (skipped, its id given); lines naming another enterprise than the token's,
    or an unregistered one, are refused."""
    result = new_result(lines)
    good = [(n, b) for n, b in lines.good if _may_record(lines, n, b, principal)]
    usccs = {b.uscc for _, b in good}
    known = set(
        (await session.scalars(select(Enterprise.uscc).where(Enterprise.uscc.in_(usccs)))).all()
    )
    existing = {
        (u, n): i
        for u, n, i in await session.execute(
            select(Lot.uscc, Lot.number, Lot.id).where(
                Lot.uscc.in_(usccs), Lot.number == any_(_texts({b.number for _, b in good}))
            )
        )
    }
    rows: list[dict[str, Any]] = []
    now = utcnow()
    for number, batch in good:
        key = (batch.uscc, batch.number)
        if batch.uscc not in known:
            lines.refuse(
                number,
                [{"field": "uscc", "reason": f"enterprise {batch.uscc} is not registered"}],
                status=404,
            )
            continue
        if key in existing:
            result.duplicates += 1
            result.recorded.append(LineRecorded(line=number, id=existing[key], duplicate=True))
            continue
        row = {
            **batch.model_dump(),
            "id": uuid7(),
            "supplier_key": supplier_key(batch),
            "recorded_by": principal.subject,
            "created_at": now,
        }
        existing[key] = row["id"]
        result.recorded.append(LineRecorded(line=number, id=row["id"]))
        rows.append(row)
    if rows:
        try:
            await session.execute(insert(Lot), rows)
        except IntegrityError as exc:  # the same number recorded concurrently
            raise Conflict(
                "a lot number was recorded concurrently; send again",
                detail_zh="同一批次号被同时记录；请重新发送",
            ) from exc
        await emit(session, *(_recorded(r) for r in rows))
    result.accepted = len(rows)
    finish(result, lines)
    created = list(await session.scalars(select(Lot).where(Lot.id.in_([r["id"] for r in rows]))))
    return result, created


def _may_record(lines: Lines[Any], number: int, batch: BatchIn, principal: Principal) -> bool:
    if principal.can_act_for(batch.uscc):
        return True
    lines.refuse(
        number,
        [{"field": "uscc", "reason": "an enterprise records only its own lots"}],
        status=403,
    )
    return False


async def search(
    session: AsyncSession,
    *,
    page: PageParams,
    uscc: str | None,
    kind: str | None,
    number: str | None,
    hs_code: str | None,
    destination: str | None,
    declaration_no: str | None,
) -> tuple[list[Lot], str | None]:
    """Filtered keyset page by id (newest last)."""
    query = select(Lot)
    if uscc:
        query = query.where(Lot.uscc == uscc)
    if kind:
        query = query.where(Lot.kind == kind)
    if number:
        query = query.where(Lot.number == number)
    if hs_code:
        query = query.where(Lot.hs_code.startswith(hs_code))
    if destination:
        query = query.where(Lot.destination == destination.upper())
    if declaration_no:
        query = query.where(Lot.declaration_no == declaration_no)
    return await keyset_page(session, query, keys=[Lot.id], page=page)


# --- lineage events --------------------------------------------------------------------


def _references(event: EventIn) -> list[tuple[str, str, Any, Any]]:
    """(lot number, role, quantity, unit) for every lot the event names."""
    if isinstance(event, ObjectEventIn):
        return [(n, "object", None, None) for n in dict.fromkeys(event.lots)]
    if isinstance(event, TransformationEventIn):
        return [(i.lot, "input", i.quantity, i.unit) for i in event.inputs] + [
            (o.lot, "output", o.quantity, o.unit) for o in event.outputs
        ]
    return [(event.parent, "parent", None, None)] + [
        (c, "child", None, None) for c in dict.fromkeys(event.children)
    ]


def _links(event: EventIn, ids: dict[str, uuid.UUID], event_id: uuid.UUID) -> list[dict[str, Any]]:
    """The genealogy edges an event adds: every input into every output, children into the
    parent; the quantity is the input's when a transformation has one output."""
    if isinstance(event, TransformationEventIn):
        one_output = len(event.outputs) == 1
        pairs = {
            (ids[i.lot], ids[o.lot]): i.quantity if one_output else None
            for i in event.inputs
            for o in event.outputs
        }
        kind = "transformation"
    elif isinstance(event, AggregationEventIn):
        pairs = {(ids[c], ids[event.parent]): None for c in event.children}
        kind = "aggregation"
    else:
        return []
    return [
        {"source_id": s, "target_id": t, "event_id": event_id, "kind": kind, "quantity": q}
        for (s, t), q in pairs.items()
    ]


async def record_events(
    session: AsyncSession, owner: str, lines: Lines[EventIn]
) -> tuple[BulkResult, list[uuid.UUID]]:
    """Record the good lines' events in the owner's namespace of lot numbers. A line naming a
    lot the owner has not recorded is refused; an event whose `client_event_id` is already
    recorded is a duplicate. Three multi-row inserts, whatever the number of lines."""
    result = new_result(lines)
    numbers = {ref[0] for _, e in lines.good for ref in _references(e)}
    ids = {
        n: i
        for n, i in await session.execute(
            select(Lot.number, Lot.id).where(Lot.uscc == owner, Lot.number == any_(_texts(numbers)))
        )
    }
    client_ids = {e.client_event_id for _, e in lines.good if e.client_event_id}
    seen: dict[str, uuid.UUID] = {}
    if client_ids:
        seen = {
            c: i
            for c, i in await session.execute(
                select(LotEvent.client_event_id, LotEvent.id).where(
                    LotEvent.uscc == owner, LotEvent.client_event_id == any_(_texts(client_ids))
                )
            )
            if c is not None
        }
    events: list[dict[str, Any]] = []
    involved: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    now = utcnow()
    for number, event in lines.good:
        refs = _references(event)
        unknown = sorted({r[0] for r in refs if r[0] not in ids})
        if unknown:
            lines.refuse(
                number,
                [
                    {
                        "field": "lots",
                        "reason": f"unknown lot of {owner}: {', '.join(unknown[:20])}",
                    }
                ],
            )
            continue
        if event.client_event_id and event.client_event_id in seen:
            result.duplicates += 1
            result.recorded.append(
                LineRecorded(line=number, id=seen[event.client_event_id], duplicate=True)
            )
            continue
        event_id = uuid7()
        if event.client_event_id:
            seen[event.client_event_id] = event_id
        result.recorded.append(LineRecorded(line=number, id=event_id))
        events.append(
            {
                "id": event_id,
                "uscc": owner,
                "client_event_id": event.client_event_id,
                "type": event.type,
                "biz_step": event.biz_step.value,
                "disposition": event.disposition.value if event.disposition else None,
                "event_time": event.event_time,
                "location": event.location,
                "operator": event.operator,
                "details": event.details,
                "recorded_at": now,
            }
        )
        roles = {(ids[n], role): (q, u) for n, role, q, u in refs}
        involved += [
            {"event_id": event_id, "lot_id": lot, "role": role, "quantity": q, "unit": u}
            for (lot, role), (q, u) in roles.items()
        ]
        links += _links(event, ids, event_id)
    if events:
        try:
            await session.execute(insert(LotEvent), events)
        except IntegrityError as exc:
            raise Conflict(
                "an event id was recorded concurrently; send again",
                detail_zh="同一事件编号被同时记录；请重新发送",
            ) from exc
        await session.execute(insert(LotEventLot), involved)
        if links:
            await session.execute(insert(LotLink).on_conflict_do_nothing(), links)
    result.accepted = len(events)
    finish(result, lines)
    return result, [e["id"] for e in events]


async def events_out(session: AsyncSession, event_ids: Sequence[uuid.UUID]) -> list[LotEventOut]:
    """API views of events, in the order given, with the lots each involves."""
    if not event_ids:
        return []
    events = {
        e.id: e for e in await session.scalars(select(LotEvent).where(LotEvent.id.in_(event_ids)))
    }
    lots: dict[uuid.UUID, list[EventLotOut]] = {}
    for row in await session.execute(
        select(LotEventLot, Lot.number)
        .join(Lot, Lot.id == LotEventLot.lot_id)
        .where(LotEventLot.event_id.in_(event_ids))
        .order_by(LotEventLot.role, Lot.number)
    ):
        link, number = row
        lots.setdefault(link.event_id, []).append(
            EventLotOut(
                lot_id=link.lot_id,
                number=number,
                role=link.role,  # type: ignore[arg-type]
                quantity=float(link.quantity) if link.quantity is not None else None,
                unit=link.unit,
            )
        )
    return [
        LotEventOut(
            id=e.id,
            uscc=e.uscc,
            client_event_id=e.client_event_id,
            type=e.type,  # type: ignore[arg-type]
            biz_step=e.biz_step,
            disposition=e.disposition,
            event_time=e.event_time,
            location=e.location,
            operator=e.operator,
            details=e.details,
            lots=lots.get(e.id, []),
            recorded_at=e.recorded_at,
        )
        for i in event_ids
        if (e := events.get(i)) is not None
    ]


async def list_events(
    session: AsyncSession, lot_id: uuid.UUID, *, page: PageParams
) -> tuple[list[LotEventOut], str | None]:
    """Events that involve a lot, in the order they happened."""
    query = select(LotEvent).where(
        select(LotEventLot.event_id)
        .where(LotEventLot.event_id == LotEvent.id, LotEventLot.lot_id == lot_id)
        .exists()
    )
    rows, cursor = await keyset_page(
        session, query, keys=[LotEvent.event_time, LotEvent.id], page=page
    )
    return await events_out(session, [r.id for r in rows]), cursor


# --- trace ------------------------------------------------------------------------------

# One statement: a breadth-first walk of the links (bounded by depth, by a cycle check on
# the path, and by a row cap that stops the recursion early), each lot kept at its
# shallowest path, with its steps aggregated beside it.
TRACE_SQL = """
WITH RECURSIVE walk(lot_id, depth, path, via_event, quantity) AS (
    SELECT CAST(:root AS uuid), 0, ARRAY[CAST(:root AS uuid)], NULL::uuid, NULL::numeric
  UNION ALL
    SELECT {next}, w.depth + 1, w.path || {next}, l.event_id, l.quantity
    FROM walk w JOIN lot_links l ON l.{here} = w.lot_id
    WHERE w.depth < :depth AND NOT {next} = ANY(w.path)
),
capped AS (SELECT * FROM walk LIMIT :cap),
nodes AS (
    SELECT DISTINCT ON (lot_id) lot_id, depth, path, via_event, quantity
    FROM capped ORDER BY lot_id, depth
)
SELECT n.depth, n.path, n.via_event, n.quantity, (SELECT count(*) FROM capped) AS walked,
       to_jsonb(lots.*) AS lot,
       (SELECT coalesce(jsonb_agg(jsonb_build_object(
                 'event_id', e.id, 'type', e.type, 'role', el.role, 'biz_step', e.biz_step,
                 'disposition', e.disposition, 'event_time', e.event_time,
                 'location', e.location, 'operator', e.operator) ORDER BY e.event_time), '[]')
        FROM lot_event_lots el JOIN lot_events e ON e.id = el.event_id
        WHERE el.lot_id = n.lot_id) AS steps
FROM nodes n JOIN lots ON lots.id = n.lot_id
ORDER BY n.depth, lots.number
"""
UPSTREAM_SQL = text(TRACE_SQL.format(next="l.source_id", here="target_id"))
DOWNSTREAM_SQL = text(TRACE_SQL.format(next="l.target_id", here="source_id"))

SHARED_SQL = text("""
SELECT mine.supplier_key, mine.number, array_agg(DISTINCT other.uscc ORDER BY other.uscc),
       array_agg(other.id ORDER BY other.id)
FROM lots mine JOIN lots other
  ON other.supplier_key = mine.supplier_key AND other.number = mine.number
 AND other.uscc <> mine.uscc
WHERE mine.id = ANY(:ids) AND mine.supplier_key IS NOT NULL
GROUP BY mine.supplier_key, mine.number
ORDER BY mine.supplier_key, mine.number
""")


async def trace(
    session: AsyncSession,
    root: Lot,
    *,
    direction: str,
    depth: int,
    limit: int,
    principal: Principal | None = None,
) -> TraceOut:
    """The genealogy of `root` up to `depth` links away and at most `limit` walked paths."""
    statement = UPSTREAM_SQL if direction == "upstream" else DOWNSTREAM_SQL
    rows = (await session.execute(statement, {"root": root.id, "depth": depth, "cap": limit})).all()
    numbers = {uuid.UUID(r.lot["id"]): r.lot["number"] for r in rows}
    nodes = [
        TraceNode(
            lot=BatchOut.model_validate(r.lot),
            depth=r.depth,
            path=[numbers.get(i, str(i)) for i in r.path],
            via_event_id=r.via_event,
            quantity=r.quantity,
            steps=[TraceStep.model_validate(s) for s in r.steps],
        )
        for r in rows
    ]
    shared: list[SharedSupplierLot] = []
    suppliers = [n for n in nodes if n.lot.kind == "supplier"]
    if direction == "upstream" and suppliers:
        # An enterprise learns that others received the lot, not who they are.
        named = principal is None or principal.uscc is None
        shared = [
            SharedSupplierLot(
                supplier_key=k,
                number=n,
                enterprise_count=len(u),
                enterprises=u if named else [],
                lot_ids=i if named else [],
            )
            for k, n, u, i in await session.execute(
                SHARED_SQL, {"ids": [n.lot.id for n in suppliers]}
            )
        ]
    return TraceOut(
        root_id=root.id,
        direction=direction,  # type: ignore[arg-type]
        depth=depth,
        truncated=bool(rows) and rows[0].walked > limit,
        nodes=nodes,
        supplier_lots=sorted({n.lot.number for n in suppliers}),
        nonconformant_steps=[
            s for n in nodes for s in n.steps if s.disposition == "non_conformant"
        ],
        destinations=sorted({n.lot.destination for n in nodes if n.lot.destination}),
        shared_supplier_lots=shared,
    )


def ensure_may_read(principal: Principal, lot: Lot) -> None:
    """An enterprise reads only its own lots (and their traces)."""
    if not principal.can_act_for(lot.uscc):
        raise ProblemError(
            "forbidden",
            "an enterprise sees only its own batches",
            detail_zh="企业只能查看本企业的批次",
        )


async def announce_trace(session: AsyncSession, lot: Lot, *, alert_id: str) -> None:
    """Emit `registry.batch.traced` for an alert: the batch's steps upstream, the failing
    ones, its supplier lots, and the other enterprises that received those supplier lots."""
    found = await trace(
        session, lot, direction="upstream", depth=ALERT_TRACE_DEPTH, limit=ALERT_TRACE_LIMIT
    )
    steps: dict[tuple[uuid.UUID, str], TracedStep] = {}
    for node in found.nodes:
        for step in node.steps:
            steps.setdefault(
                (step.event_id, node.lot.number),
                TracedStep(
                    lot=node.lot.number,
                    kind=node.lot.kind,
                    biz_step=step.biz_step,
                    disposition=step.disposition,
                    event_time=step.event_time,
                    location=step.location,
                ),
            )
    ordered = sorted(steps.values(), key=lambda s: s.event_time)
    await publish(
        session,
        "registry.batch.traced.v1",
        lot.uscc,
        BatchTraced(
            alert_id=alert_id,
            batch_id=str(lot.id),
            batch_number=lot.number,
            uscc=lot.uscc,
            lots=len(found.nodes),
            truncated=found.truncated or len(ordered) > ALERT_TRACE_STEPS,
            supplier_lots=found.supplier_lots,
            steps=ordered[:ALERT_TRACE_STEPS],
            failing_steps=[s for s in ordered if s.disposition == "non_conformant"][
                :ALERT_TRACE_STEPS
            ],
            affected=[
                AffectedEnterprise(
                    uscc=u, supplier_lot=shared.number, supplier_key=shared.supplier_key
                )
                for shared in found.shared_supplier_lots
                for u in shared.enterprises
            ],
        ),
    )
