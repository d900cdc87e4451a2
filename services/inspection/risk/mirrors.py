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
    if batch.kind != "export":
        return
    await lock_keys(session, {k for k in (batch.number, batch.declaration_no, batch.barcode) if k})
    values = batch.model_dump(exclude={"batch_id", "kind"})
    await session.execute(
        insert(BatchMirror)
        .values(id=uuid.UUID(batch.batch_id), **values)
        .on_conflict_do_update(index_elements=[BatchMirror.id], set_=values)
    )
    # literal keys, so the partial expression indexes on them serve
    named = {"batch_number": batch.number, "declaration_no": batch.declaration_no}
    named["barcode"] = batch.barcode
    keys = [literal_column(f"facts ->> '{k}'") == v for k, v in named.items() if v]
    waiting = list(
        await session.scalars(
            select(Signal)
            .where(Signal.status == "unmatched", or_(*keys))
            .order_by(Signal.id)
            .limit(1000)
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
