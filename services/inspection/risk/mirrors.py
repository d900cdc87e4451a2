"""Registry's export batches, the lots signals name, mirrored (a waiting signal naming one
is matched then), and registry's traces attached to their alerts."""

from __future__ import annotations

import uuid

from sqlalchemy import literal_column, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kit.db import utcnow
from kit.events import BatchRecorded, BatchTraced
from services.inspection.risk.models import Alert, BatchMirror, Signal
from services.inspection.risk.signals import lock_keys, rematch


async def mirror_batch(session: AsyncSession, batch: BatchRecorded) -> None:
    """Keep export batches, the lots signals name; a waiting signal that names this batch
    (by number, declaration or barcode) is matched now."""
    await mirror_batches(session, [batch])


async def mirror_batches(session: AsyncSession, batches: list[BatchRecorded]) -> None:
    """A run of batches as `mirror_batch` keeps each, in a few statements: the keys
    locked together (in one order), one upsert (within the run the last of a batch wins),
    one look for the signals waiting on any of them."""
    exports = {b.batch_id: b for b in batches if b.kind == "export"}
    if not exports:
        return
    named: dict[str, set[str]] = {"batch_number": set(), "declaration_no": set(), "barcode": set()}
    for b in exports.values():
        for key, value in (
            ("batch_number", b.number),
            ("declaration_no", b.declaration_no),
            ("barcode", b.barcode),
        ):
            if value:
                named[key].add(value)
    await lock_keys(session, set().union(*named.values()))
    stmt = insert(BatchMirror).values(
        [
            {"id": uuid.UUID(b.batch_id), **b.model_dump(exclude={"batch_id", "kind"})}
            for b in exports.values()
        ]
    )
    columns = sorted(BatchRecorded.model_fields.keys() - {"batch_id", "kind"})
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[BatchMirror.id], set_={c: stmt.excluded[c] for c in columns}
        )
    )
    # literal keys, so the partial expression indexes on them serve
    keys = [literal_column(f"facts ->> '{k}'").in_(sorted(v)) for k, v in named.items() if v]
    waiting = list(
        await session.scalars(
            select(Signal)
            .where(Signal.status == "unmatched", or_(*keys))
            .order_by(Signal.id)
            .limit(1000 * len(exports))
            .with_for_update()
        )
    )
    if waiting:
        await rematch(session, waiting)


async def attach_trace(session: AsyncSession, traced: BatchTraced) -> None:
    """Registry's trace of an alert's batch, and the enterprises that shared supplier lots."""
    alert = await session.get(Alert, uuid.UUID(traced.alert_id), with_for_update=True)
    if alert is None:
        return
    alert.trace = traced.model_dump(mode="json", exclude={"alert_id", "affected"})
    alert.affected = [a.model_dump() for a in traced.affected]
    alert.traced_at = utcnow()
    alert.version += 1
