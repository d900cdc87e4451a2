"""Signals in (国外通报, 退运, recalls, complaints, failed lab tests), matched to an
enterprise and batch, linked or dismissed by hand; a match raises an alert."""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kit import locks
from kit.auth import Principal
from kit.bulk import BulkResult, LineRecorded, Lines, finish, new_result
from kit.db import get_or_404, utcnow
from kit.ids import uuid7
from kit.locks import Lock
from kit.pagination import PageParams, keyset_page
from kit.problems import Conflict, ProblemError, invalid
from kit.vocabulary import STATUSES, name
from services.inspection.config import settings
from services.inspection.directory.models import DirectoryEntry
from services.inspection.risk import matching
from services.inspection.risk.alerts import raise_alerts
from services.inspection.risk.models import BatchMirror, Signal
from services.inspection.risk.schemas import SignalIn

# A signal recorded while registry's announcement of its batch is being applied must not slip
# between the two (the signal finding no batch, the batch finding no signal): both sides
# take the advisory locks of the keys they involve, hashed into a few buckets, in order.
KEY_BUCKETS = 64
ATTRIBUTE_CANDIDATES = 50  # most recent batches per shared model, and per shared brand


def _bucket(key: str) -> int:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") % KEY_BUCKETS


async def lock_keys(session: AsyncSession, keys: set[str]) -> None:
    """Serialise with whoever records a signal or a batch naming the same key."""
    for bucket in sorted({_bucket(k) for k in keys}):
        await locks.hold(session, Lock.RISK_KEY, bucket)


async def rematch(session: AsyncSession, signals: list[Signal]) -> None:
    """Match waiting signals again (a batch they name has arrived); raise alerts for hits."""
    wanted = [
        SignalIn.model_validate(
            {"kind": s.kind, "reference": s.reference, "notified_at": s.notified_at, **s.facts}
        )
        for s in signals
    ]
    matched = []
    for signal, found in zip(signals, await match_all(session, wanted), strict=True):
        if found.uscc is None:
            signal.candidates = found.candidates
            continue
        signal.status = "matched"
        signal.uscc = found.uscc
        signal.batch_id = found.batch.id if found.batch else None
        signal.match_method = found.method
        signal.match_confidence = found.confidence  # type: ignore[assignment]
        signal.candidates = found.candidates
        signal.version += 1
        matched.append(signal)
    await session.flush()
    await raise_alerts(session, matched)


def source_agency(signal: SignalIn, principal: Principal) -> str:
    if signal.source_agency and signal.source_agency != principal.agency:
        if not principal.is_admin:
            raise invalid(
                "source_agency",
                "only an admin records for another agency",
                "只有管理员可以代其他部门记录",
            )
        return signal.source_agency
    if principal.agency:
        return principal.agency
    if principal.is_admin:
        return signal.source_agency or settings.office_agency
    raise invalid(
        "source_agency", "required: the token names no agency", "令牌未指明部门时为必填项"
    )


async def _exact(
    session: AsyncSession, column: Any, keys: set[str]
) -> dict[str, list[BatchMirror]]:
    found: dict[str, list[BatchMirror]] = defaultdict(list)
    if keys:
        for batch in await session.scalars(select(BatchMirror).where(column.in_(keys))):
            found[getattr(batch, column.key)].append(batch)
    return found


async def _by_attributes(session: AsyncSession, signal: SignalIn) -> list[BatchMirror]:
    """The most recent batches sharing the model, and those sharing the brand (each an
    index range scan); a batch reaching the threshold shares at least one of them."""
    found: dict[uuid.UUID, BatchMirror] = {}
    for column, value in ((BatchMirror.model, signal.model), (BatchMirror.brand, signal.brand)):
        if not value:
            continue
        query = select(BatchMirror).where(func.lower(column) == value.strip().lower())
        if signal.uscc:
            query = query.where(BatchMirror.uscc == signal.uscc)
        query = query.order_by(func.lower(column), BatchMirror.ship_date.desc())
        for batch in await session.scalars(query.limit(ATTRIBUTE_CANDIDATES)):
            found.setdefault(batch.id, batch)
    return list(found.values())


async def match_all(session: AsyncSession, signals: Sequence[SignalIn]) -> list[matching.Match]:
    """Match signals: exact keys looked up for all at once, attributes one by one."""
    declarations = await _exact(
        session, BatchMirror.declaration_no, {s.declaration_no for s in signals if s.declaration_no}
    )
    numbers = await _exact(
        session, BatchMirror.number, {s.batch_number for s in signals if s.batch_number}
    )
    barcodes = await _exact(session, BatchMirror.barcode, {s.barcode for s in signals if s.barcode})
    named = {s.uscc for s in signals if s.uscc}
    known = set(
        (await session.scalars(select(DirectoryEntry.uscc).where(DirectoryEntry.uscc.in_(named))))
        if named
        else []
    )
    out = []
    for signal in signals:

        def own(hits: list[BatchMirror], s: SignalIn = signal) -> list[BatchMirror]:
            return [h for h in hits if h.uscc == s.uscc] if s.uscc else hits

        found = matching.by_key(
            signal, own(declarations.get(signal.declaration_no or "", [])), "declaration_no"
        ) or matching.by_key(
            signal, own(numbers.get(signal.batch_number or "", [])), "batch_number"
        )
        if found is None or found.uscc is None:
            by_barcode = matching.by_key(
                signal, own(barcodes.get(signal.barcode or "", [])), "barcode"
            )
            if by_barcode is not None and by_barcode.uscc is not None:
                # a barcode names a product, not a lot: the batch only if attributes tell
                found = by_barcode
        if (found is None or found.uscc is None) and signal.uscc in known:
            attributes = matching.by_attributes(
                signal, await _by_attributes(session, signal), settings.match_threshold
            )
            found = matching.Match(
                uscc=signal.uscc,
                batch=attributes.batch,
                method="uscc",
                confidence=1.0,
                candidates=attributes.candidates,
            )
        if found is None or found.uscc is None:
            attributes = matching.by_attributes(
                signal, await _by_attributes(session, signal), settings.match_threshold
            )
            if attributes.uscc is not None or not (found and found.candidates):
                found = attributes
        out.append(found)
    return out


async def record_signals(
    session: AsyncSession, lines: Lines[SignalIn], principal: Principal
) -> tuple[BulkResult, list[Signal]]:
    """Record the good lines' signals, match each, and raise an alert for each match. A
    reference already recorded by the same agency is a duplicate."""
    result = new_result(lines)
    good: list[tuple[int, SignalIn, str]] = []
    for number, signal in lines.good:
        try:
            good.append((number, signal, source_agency(signal, principal)))
        except ProblemError as exc:
            lines.refuse(number, exc.extensions.get("errors", []))
    references = {s.reference for _, s, _ in good if s.reference}
    seen: dict[tuple[str, str], uuid.UUID] = {}
    if references:
        for agency, reference, signal_id in await session.execute(
            select(Signal.source_agency, Signal.reference, Signal.id).where(
                Signal.reference.in_(references)
            )
        ):
            seen[(agency, reference or "")] = signal_id
    fresh: list[tuple[int, SignalIn, str, uuid.UUID]] = []
    for number, signal, agency in good:
        key = (agency, signal.reference or "")
        if signal.reference and key in seen:
            result.duplicates += 1
            result.recorded.append(LineRecorded(line=number, id=seen[key], duplicate=True))
            continue
        signal_id = uuid7()
        if signal.reference:
            seen[key] = signal_id  # a second line with it is a duplicate of this one
        fresh.append((number, signal, agency, signal_id))
    await lock_keys(
        session,
        {k for _, s, _, _ in fresh for k in (s.batch_number, s.declaration_no, s.barcode) if k},
    )
    matches = await match_all(session, [s for _, s, _, _ in fresh])
    now = utcnow()
    signals = []
    for (number, signal, agency, signal_id), found in zip(fresh, matches, strict=True):
        row = Signal(
            id=signal_id,
            kind=signal.kind.value,
            source_agency=agency,
            reference=signal.reference,
            notified_at=min(signal.notified_at or now, now),
            facts=signal.facts(),
            severity=matching.severity(signal.kind, signal.risk_level),
            status="matched" if found.uscc else "unmatched",
            uscc=found.uscc,
            batch_id=found.batch.id if found.batch else None,
            match_method=found.method,
            match_confidence=found.confidence,
            candidates=found.candidates,
            recorded_by=principal.subject,
            linked_by=None,
            note=None,
            alert_id=None,
            created_at=now,
            version=1,
        )
        result.recorded.append(LineRecorded(line=number, id=row.id))
        signals.append(row)
    # Core inserts: thousands of rows in a few statements, none of the unit of work's cost
    await raise_alerts(session, [s for s in signals if s.status == "matched"])
    if signals:
        columns = [c.key for c in Signal.__table__.columns]
        await session.execute(
            insert(Signal), [{c: getattr(s, c) for c in columns} for s in signals]
        )
    result.accepted = len(signals)
    return finish(result, lines), signals


async def get_signal(
    session: AsyncSession, signal_id: uuid.UUID, *, for_update: bool = False
) -> Signal:
    """One signal, or 404."""
    return await get_or_404(session, Signal, signal_id, "signal", for_update=for_update)


async def link(
    session: AsyncSession, signal: Signal, *, uscc: str, batch_id: uuid.UUID | None, actor: str
) -> Signal:
    """A person links an unmatched signal; the alert is raised as for a matched one."""
    if signal.status != "unmatched":
        raise Conflict(
            f"the signal is {signal.status}",
            detail_zh=f"该风险信号当前为“{name(STATUSES, signal.status)}”",
            status_now=signal.status,
        )
    if await session.get(DirectoryEntry, uscc) is None:
        raise invalid(
            "uscc", f"enterprise {uscc} is not in the directory", f"企业 {uscc} 不在企业名录中"
        )
    if batch_id is not None:
        batch = await session.get(BatchMirror, batch_id)
        if batch is None or batch.uscc != uscc:
            raise invalid("batch_id", f"not an export batch of {uscc}", f"不是 {uscc} 的出口批次")
    signal.status = "matched"
    signal.uscc = uscc
    signal.batch_id = batch_id
    signal.match_method = "manual"
    signal.match_confidence = 1  # type: ignore[assignment]
    signal.linked_by = actor
    signal.version += 1
    await session.flush()
    await raise_alerts(session, [signal])
    return signal


async def dismiss(session: AsyncSession, signal: Signal, *, reason: str, actor: str) -> Signal:
    """An unmatched signal that concerns no zone enterprise leaves the queue."""
    if signal.status != "unmatched":
        raise Conflict(
            f"the signal is {signal.status}",
            detail_zh=f"该风险信号当前为“{name(STATUSES, signal.status)}”",
            status_now=signal.status,
        )
    signal.status = "dismissed"
    signal.note = reason
    signal.linked_by = actor
    signal.version += 1
    await session.flush()
    return signal


async def search_signals(
    session: AsyncSession,
    *,
    page: PageParams,
    status: str | None,
    kind: str | None,
    uscc: str | None,
) -> tuple[list[Signal], str | None]:
    """Signals, oldest first; `status=unmatched` is the queue to link."""
    query = select(Signal)
    if status:
        query = query.where(Signal.status == status)
    if kind:
        query = query.where(Signal.kind == kind)
    if uscc:
        query = query.where(Signal.uscc == uscc)
    return await keyset_page(session, query, keys=[Signal.id], page=page)
