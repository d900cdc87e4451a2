"""Recording lots and their lineage, tracing them, and announcing an alert's trace: the rows
written, the lines refused, the events announced."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.bulk import Lines
from kit.events import BatchTraced
from services.registry.batches import service
from services.registry.batches.models import Lot, LotEvent
from services.registry.batches.schemas import BatchIn, LotEventIn
from tests.helpers import new_uscc
from tests.integration.conftest import emitted

Registered = Callable[[], Awaitable[str]]
EVENTS: TypeAdapter[Any] = TypeAdapter(LotEventIn)
SUPPLIER = new_uscc()


def _lines(*items: Any) -> Lines[Any]:
    return Lines(single=False, good=list(enumerate(items, start=1)), received=len(items))


def _lot(uscc: str, number: str, **fields: Any) -> BatchIn:
    return BatchIn.model_validate({"uscc": uscc, "number": number, **fields})


def _event(hour: int, **fields: Any) -> Any:
    """A lineage event `hour` hours into the day before yesterday."""
    when = datetime.now(UTC).replace(hour=0) - timedelta(days=2) + timedelta(hours=hour)
    return EVENTS.validate_python({"event_time": when, **fields})


async def _lot_id(session: AsyncSession, uscc: str, number: str) -> Lot:
    lot = await session.scalar(select(Lot).where(Lot.uscc == uscc, Lot.number == number))
    assert lot is not None
    return lot


async def test_an_upload_keeps_good_lines_skips_duplicates_and_refuses_strangers(
    session: AsyncSession, office: Principal, registered: Registered
) -> None:
    uscc = await registered()
    await service.record(session, _lines(_lot(uscc, "NB-0001")), office)
    stranger = new_uscc()  # never registered

    result, created = await service.record(
        session,
        _lines(
            _lot(uscc, "NB-0002", hs_code="940542", destination="de", quantity=500, unit="pcs"),
            _lot(uscc, "NB-0001"),  # recorded before
            _lot(stranger, "NB-0003"),
            _lot(uscc, "NB-0002"),  # twice in this upload
        ),
        office,
    )

    assert (result.accepted, result.duplicates, result.rejected) == (1, 2, 1)
    assert [(e.line, e.status) for e in result.errors] == [(3, 404)]
    assert [r.line for r in result.recorded if r.duplicate] == [2, 4]
    assert [lot.number for lot in created] == ["NB-0002"]
    assert created[0].destination == "DE" and created[0].recorded_by == "office-staff"
    assert await session.scalar(select(func.count()).where(Lot.uscc == stranger)) == 0
    recorded = [(s, d) for t, s, d in await emitted(session) if t == "registry.batch.recorded.v1"]
    assert [(s, d["number"], d["batch_id"]) for s, d in recorded] == [
        (uscc, "NB-0001", str((await _lot_id(session, uscc, "NB-0001")).id)),
        (uscc, "NB-0002", str(created[0].id)),
    ]


async def test_an_enterprise_records_only_its_own_lots(
    session: AsyncSession, registered: Registered
) -> None:
    mine, theirs = await registered(), await registered()
    enterprise = Principal(subject="ent-user", scopes=frozenset({"registry:write"}), uscc=mine)
    result, created = await service.record(
        session, _lines(_lot(mine, "OWN-1"), _lot(theirs, "NOT-MINE-1")), enterprise
    )
    assert [lot.number for lot in created] == ["OWN-1"]
    assert [(e.line, e.status) for e in result.errors] == [(2, 403)]
    assert await session.scalar(select(func.count()).where(Lot.uscc == theirs)) == 0


async def _production(session: AsyncSession, office: Principal, uscc: str) -> None:
    """A supplier lot received, made into an export batch that failed an in-house check,
    packed into a shipment."""
    await service.record(
        session,
        _lines(
            _lot(uscc, "RESIN-0912", kind="supplier", supplier_uscc=SUPPLIER),
            _lot(uscc, "NB-2026-0001", hs_code="940542", destination="US"),
            _lot(uscc, "SHIP-77", kind="shipment", destination="US"),
        ),
        office,
    )
    result, ids = await service.record_events(
        session,
        uscc,
        _lines(
            _event(
                1, type="object", biz_step="receiving", lots=["RESIN-0912"], client_event_id="r1"
            ),
            _event(
                2,
                type="transformation",
                biz_step="processing",
                inputs=[{"lot": "RESIN-0912", "quantity": 120, "unit": "kg"}],
                outputs=[{"lot": "NB-2026-0001"}],
                location="Workshop 2",
            ),
            _event(
                3,
                type="object",
                biz_step="inspecting",
                disposition="non_conformant",
                lots=["NB-2026-0001"],
            ),
            _event(
                4,
                type="aggregation",
                biz_step="packing",
                parent="SHIP-77",
                children=["NB-2026-0001"],
            ),
        ),
    )
    assert result.accepted == 4 and len(ids) == 4


async def test_lineage_is_traced_both_ways_and_a_resent_event_is_not_stored_twice(
    session: AsyncSession, office: Principal, registered: Registered
) -> None:
    uscc = await registered()
    await _production(session, office, uscc)
    shipment = await _lot_id(session, uscc, "SHIP-77")
    resin = await _lot_id(session, uscc, "RESIN-0912")

    up = await service.trace(session, shipment, direction="upstream", depth=10, limit=100)
    assert [(n.lot.number, n.depth, n.path) for n in up.nodes] == [
        ("SHIP-77", 0, ["SHIP-77"]),
        ("NB-2026-0001", 1, ["SHIP-77", "NB-2026-0001"]),
        ("RESIN-0912", 2, ["SHIP-77", "NB-2026-0001", "RESIN-0912"]),
    ]
    assert up.nodes[2].quantity == 120  # the input's quantity on the one-output link
    assert up.supplier_lots == ["RESIN-0912"]
    assert [s.biz_step for s in up.nonconformant_steps] == ["inspecting"]
    down = await service.trace(session, resin, direction="downstream", depth=10, limit=100)
    assert [n.lot.number for n in down.nodes] == ["RESIN-0912", "NB-2026-0001", "SHIP-77"]
    assert down.destinations == ["US"]

    before = await session.scalar(select(func.count()).where(LotEvent.uscc == uscc))
    result, ids = await service.record_events(
        session,
        uscc,
        _lines(
            _event(  # resent as it was
                1, type="object", biz_step="receiving", lots=["RESIN-0912"], client_event_id="r1"
            ),
            _event(5, type="object", biz_step="shipping", lots=["NB-2026-0001", "NO-SUCH-LOT"]),
        ),
    )
    assert (result.accepted, result.duplicates, ids) == (0, 1, [])
    assert [(e.line, e.errors[0]["field"]) for e in result.errors] == [(2, "lots")]
    assert await session.scalar(select(func.count()).where(LotEvent.uscc == uscc)) == before


async def test_an_alert_s_trace_names_the_others_that_received_the_supplier_lot(
    session: AsyncSession, office: Principal, registered: Registered
) -> None:
    uscc, neighbour, unrelated = await registered(), await registered(), await registered()
    await _production(session, office, uscc)
    await service.record(
        session,
        _lines(
            _lot(neighbour, "RESIN-0912", kind="supplier", supplier_uscc=SUPPLIER),
            _lot(unrelated, "RESIN-0912", kind="supplier", supplier_name="Another Resin Co"),
        ),
        office,
    )
    batch = await _lot_id(session, uscc, "NB-2026-0001")

    await service.announce_trace(session, batch, alert_id="alert-1")

    traced = [(s, d) for t, s, d in await emitted(session) if t == "registry.batch.traced.v1"]
    assert len(traced) == 1
    subject, data = traced[0][0], BatchTraced.model_validate(traced[0][1])
    assert (subject, data.alert_id, data.batch_id) == (uscc, "alert-1", str(batch.id))
    assert data.supplier_lots == ["RESIN-0912"]
    assert [(a.uscc, a.supplier_lot, a.supplier_key) for a in data.affected] == [
        (neighbour, "RESIN-0912", SUPPLIER)
    ]
    assert [(s.lot, s.biz_step) for s in data.failing_steps] == [("NB-2026-0001", "inspecting")]
