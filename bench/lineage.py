"""Lineage and risk figures for `make bench`.

Loads, straight into the registry database, 100,000 lots and 1,000,000 lineage events for ten
enterprises registered through the API: per enterprise eleven layers of lots (supplier lots,
nine layers of intermediate lots, export batches); each lot above the first is made by one
transformation from one input lot of the layer below, or two (one lot in five). The rest of
the events are object events (receiving, inspecting, sampling, packing, storing …) spread over
the lots. Then
  1. GET /v1/batches/{id}/trace, depth 10: upstream from random export batches and downstream
     from random supplier lots, one connection, through the gateway: p50/p99;
  2. bulk ingestion: JSON lines of 5,000 object events per request through the gateway,
     sequentially: events/s;
  3. matching: one JSON-lines file of 10,000 foreign notifications (half by batch number, a
     fifth by declaration number, a fifth by HS code + brand + model + destination, a tenth
     matching nothing) against the export batches mirrored in inspection: wall time.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import aiohttp
import asyncpg

from deploy.launcher import Stack
from kit.ids import uuid7
from kit.outbox import asyncpg_dsn
from kit.uscc import generate
from tests.helpers import enterprise_body

ENTERPRISES = 10
LOTS = 100_000
EVENTS = 1_000_000
LAYERS = 11
BULK_EVENTS = 5_000
BULK_REQUESTS = 10
NOTIFICATIONS = 10_000
STEPS = ["receiving", "inspecting", "sampling", "packing", "storing", "loading", "holding"]


@dataclass
class LineageFigures:
    """Ingestion and matching, measured."""

    lots: int
    events: int
    bulk_events: int
    bulk_s: float
    notifications: int
    matched: int
    matching_s: float

    @property
    def events_per_s(self) -> float:
        return self.bulk_events / self.bulk_s


@dataclass
class Loaded:
    """What the trace and matching scenarios pick from."""

    batches: list[uuid.UUID]  # export batches (top layer)
    suppliers: list[uuid.UUID]  # supplier lots (bottom layer)
    owner_batch: dict[str, uuid.UUID]  # uscc → one of its export batches
    lots_of: dict[str, list[str]]  # uscc → lot numbers
    exports: list[tuple[str, str, str, str, str]]  # (uscc, number, declaration, brand, model)


async def register(stack: Stack, bearer: str, rng: random.Random) -> list[str]:
    """Ten enterprises through the API (registry and the mirrors learn of them by events)."""
    usccs = sorted({generate(rng) for _ in range(ENTERPRISES * 2)})[:ENTERPRISES]
    headers = {"Authorization": f"Bearer {bearer}"}
    async with aiohttp.ClientSession(stack.url("gateway"), headers=headers) as session:
        for uscc in usccs:
            async with session.post("/v1/enterprises", json=enterprise_body(uscc)) as r:
                assert r.status == 201, await r.text()
    return usccs


async def load(stack: Stack, usccs: list[str], rng: random.Random) -> Loaded:
    """COPY lots, events, involvements and links into registry; export batches into
    inspection's mirror."""
    per_layer = LOTS // ENTERPRISES // LAYERS
    now = datetime.now(UTC)
    lots, events, involved, links, mirror = [], [], [], [], []
    loaded = Loaded([], [], {}, {}, [])
    for e, uscc in enumerate(usccs):
        layers: list[list[tuple[uuid.UUID, str]]] = []
        for layer in range(LAYERS):
            ids = []
            for i in range(per_layer):
                lot_id = uuid7()
                number = f"L{layer:02d}-{e:02d}-{i:05d}"
                kind = (
                    "supplier"
                    if layer == 0
                    else "export"
                    if layer == LAYERS - 1
                    else ("intermediate")
                )
                export = kind == "export"
                brand, model = f"Brand{e:02d}", f"M-{e:02d}-{i:05d}"
                declaration = f"3102{e:02d}{i:08d}"
                lots.append(
                    (
                        lot_id,
                        uscc,
                        number,
                        kind,
                        "940542" if export else None,
                        "DE" if export else None,
                        declaration if export else None,
                        brand if export else None,
                        model if export else None,
                        50_000 if export else None,
                        f"S{rng.randrange(200):03d}" if kind == "supplier" else None,
                        "bench",
                        now,
                    )
                )
                if export:
                    mirror.append(
                        (
                            lot_id,
                            uscc,
                            number,
                            "940542",
                            brand,
                            model,
                            "DE",
                            declaration,
                            date.today() - timedelta(days=rng.randrange(300)),
                            50_000,
                        )
                    )
                    loaded.exports.append((uscc, number, declaration, brand, model))
                ids.append((lot_id, number))
            layers.append(ids)
        loaded.batches += [i for i, _ in layers[-1]]
        loaded.suppliers += [i for i, _ in layers[0]]
        loaded.owner_batch[uscc] = layers[-1][0][0]
        loaded.lots_of[uscc] = [n for layer in layers for _, n in layer]
        for layer in range(1, LAYERS):
            for output, _ in layers[layer]:
                event_id = uuid7()
                inputs = rng.sample(layers[layer - 1], 2 if rng.random() < 0.2 else 1)
                events.append((event_id, uscc, "transformation", "processing", None, now))
                involved.append((event_id, output, "output"))
                for source, _ in inputs:
                    involved.append((event_id, source, "input"))
                    links.append((source, output, event_id, "transformation"))
    all_lots = [(lot[0], lot[1]) for lot in lots]
    while len(events) < EVENTS:
        lot_id, uscc = rng.choice(all_lots)
        event_id = uuid7()
        step = rng.choice(STEPS)
        disposition = "non_conformant" if rng.random() < 0.01 else "conformant"
        events.append((event_id, uscc, "object", step, disposition, now))
        involved.append((event_id, lot_id, "object"))
    conn = await asyncpg.connect(asyncpg_dsn(stack.db_url("registry")))
    try:
        await conn.copy_records_to_table(
            "lots",
            columns=[
                "id",
                "uscc",
                "number",
                "kind",
                "hs_code",
                "destination",
                "declaration_no",
                "brand",
                "model",
                "export_value_usd",
                "supplier_key",
                "recorded_by",
                "created_at",
            ],
            records=lots,
        )
        await conn.copy_records_to_table(
            "lot_events",
            columns=[
                "id",
                "uscc",
                "type",
                "biz_step",
                "disposition",
                "event_time",
                "details",
                "recorded_at",
            ],
            records=[(*e[:5], e[5] - timedelta(days=1), "{}", e[5]) for e in events],
        )
        await conn.copy_records_to_table(
            "lot_event_lots", columns=["event_id", "lot_id", "role"], records=involved
        )
        await conn.copy_records_to_table(
            "lot_links", columns=["source_id", "target_id", "event_id", "kind"], records=links
        )
        await conn.execute(
            "ANALYZE lots; ANALYZE lot_events; ANALYZE lot_event_lots; ANALYZE lot_links"
        )
    finally:
        await conn.close()
    conn = await asyncpg.connect(asyncpg_dsn(stack.db_url("inspection")))
    try:
        await conn.copy_records_to_table(
            "batches",
            columns=[
                "id",
                "uscc",
                "number",
                "hs_code",
                "brand",
                "model",
                "destination",
                "declaration_no",
                "ship_date",
                "export_value_usd",
            ],
            records=mirror,
        )
        await conn.execute("ANALYZE batches")
    finally:
        await conn.close()
    return loaded


async def ingest(
    stack: Stack, bearer: str, loaded: Loaded, rng: random.Random
) -> tuple[int, float]:
    """BULK_REQUESTS requests of BULK_EVENTS object events each, one after another."""
    headers = {"Authorization": f"Bearer {bearer}", "Content-Type": "application/x-ndjson"}
    total, elapsed = 0, 0.0
    when = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    async with aiohttp.ClientSession(stack.url("gateway"), headers=headers) as session:
        for n in range(BULK_REQUESTS):
            uscc = rng.choice(list(loaded.lots_of))
            numbers = loaded.lots_of[uscc]
            body = "\n".join(
                json.dumps(
                    {
                        "type": "object",
                        "biz_step": rng.choice(STEPS),
                        "lots": [rng.choice(numbers)],
                        "event_time": when,
                        "location": "车间",
                        "operator": "bench",
                        "client_event_id": f"bench-{n}-{i}",
                    }
                )
                for i in range(BULK_EVENTS)
            )
            started = time.perf_counter()
            async with session.post(
                f"/v1/batches/{loaded.owner_batch[uscc]}/events", data=body.encode()
            ) as r:
                result = await r.json()
                assert r.status == 200 and result["accepted"] == BULK_EVENTS, result
            elapsed += time.perf_counter() - started
            total += result["accepted"]
    return total, elapsed


async def matching(
    stack: Stack, bearer: str, loaded: Loaded, rng: random.Random
) -> tuple[int, float]:
    """One file of NOTIFICATIONS foreign notifications; wall time and matched count."""
    lines = []
    for n in range(NOTIFICATIONS):
        _, number, declaration, brand, model = rng.choice(loaded.exports)
        base = {"kind": "foreign_notification", "reference": f"BENCH/{n}", "risk_level": "medium"}
        roll = n % 10
        if roll < 5:
            base |= {"batch_number": number}
        elif roll < 7:
            base |= {"declaration_no": declaration}
        elif roll < 9:
            base |= {"hs_code": "940542", "brand": brand, "model": model, "destination": "DE"}
        else:
            base |= {"brand": f"Unknown{n}", "model": "X"}
        lines.append(json.dumps(base))
    headers = {"Authorization": f"Bearer {bearer}", "Content-Type": "application/x-ndjson"}
    async with aiohttp.ClientSession(
        stack.url("gateway"), headers=headers, timeout=aiohttp.ClientTimeout(total=600)
    ) as session:
        started = time.perf_counter()
        async with session.post("/v1/risk/signals", data="\n".join(lines).encode()) as r:
            result = await r.json()
            assert r.status == 200, result
        elapsed = time.perf_counter() - started
    conn = await asyncpg.connect(asyncpg_dsn(stack.db_url("inspection")))
    try:
        matched = await conn.fetchval(
            "SELECT count(*) FROM risk_signals WHERE reference LIKE 'BENCH/%' AND status = 'matched'"
        )
    finally:
        await conn.close()
    return matched, elapsed


def report(figures: LineageFigures) -> list[str]:
    """Markdown rows."""
    return [
        "",
        f"lineage: {figures.lots:,} lots, {figures.events:,} events; "
        f"bulk ingestion {BULK_REQUESTS} × {BULK_EVENTS:,} events; "
        f"{figures.notifications:,} notifications matched in one file",
        "",
        "| bulk events | bulk s | events/s | notifications | matched | matching s |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {figures.bulk_events:,} | {figures.bulk_s:.2f} | {figures.events_per_s:,.0f} | "
        f"{figures.notifications:,} | {figures.matched:,} | {figures.matching_s:.2f} |",
    ]
