"""Credit figures for `make bench`: score reads, and rescoring a county-sized population.

Loads 100,000 enterprises and 1,000,000 facts straight into the credit database (COPY), then
  1. rescoring everyone under the model in force (a manual job), then under a new model
     published with PUT /v1/credit/model: time, level changes emitted, and the peak memory
     of the credit processes (VmHWM) against their size before;
  2. GET /v1/credit/enterprises/{uscc} direct at 1 and 64 connections: p50/p99;
  3. a rescoring storm: one more model (PUT) whose B/C boundary is raised past
     BENCH_STORM_SHARE (0.2) of the population's scores, so that many levels move at once.
     From the job's end, every durable consumer's num_pending + num_ack_pending and credit's
     unsent outbox rows are polled every BENCH_STORM_POLL_S (0.5 s) until both are 0: the
     drain's seconds, its peak and its deliveries/s (the consumers' delivered sequences,
     redeliveries included), and the same by durable.
     Right after the job's end (while the drain is on) a serious foreign notification naming
     an enterprise registered through the API is sent to POST /v1/risk/signals via the
     gateway; from its 201 until its alert is in registry's open-alert mirror (`alert_mirror`)
     and in the enterprise's notify inbox (`inbox_messages`), polled by SQL every 20 ms.
The population is COPYed into credit's database; right after, it is also copied into
registry's enterprises, inspection's directory and notify's recipients (removed at the part's
end), as registry's announcements would have put it there, so each consumer does for every
rescoring's level changes what it would for real ones (BENCH_CREDIT_MIRROR=0: not, and
inspection retries each change of an enterprise it never heard of and dead-letters it).
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import asyncpg
from nats.aio.client import Client as NATS

from deploy.launcher import Stack
from deploy.streams import SERVICES, all_consumers
from kit.ids import uuid7
from kit.messaging import connect
from kit.outbox import asyncpg_dsn
from kit.uscc import generate
from services.credit.domain import FactKind, Severity
from tests.helpers import enterprise_body, token

ENTERPRISES = int(os.environ.get("BENCH_CREDIT_ENTERPRISES", "100000"))
FACTS = int(os.environ.get("BENCH_CREDIT_FACTS", "1000000"))
STORM_SHARE = float(os.environ.get("BENCH_STORM_SHARE", "0.2"))  # of the scores, to move
STORM_POLL_S = float(os.environ.get("BENCH_STORM_POLL_S", "0.5"))
STORM_TIMEOUT_S = float(os.environ.get("BENCH_STORM_TIMEOUT_S", "900"))  # the drain's
ALERT_TIMEOUT_S = float(os.environ.get("BENCH_STORM_ALERT_TIMEOUT_S", "300"))
ALERT_POLL_S = 0.02
# 1: the population is copied into the other services' mirrors after the load (see mirror)
MIRROR = os.environ.get("BENCH_CREDIT_MIRROR", "1") == "1"
UNSENT = "SELECT count(*) FROM outbox WHERE sent_at IS NULL"
# Roughly how agencies' findings are spread: many passes and trainings, few penalties.
KIND_WEIGHTS = {
    FactKind.spot_check_pass: 30,
    FactKind.spot_check_fail: 8,
    FactKind.foreign_notification: 3,
    FactKind.product_return: 4,
    FactKind.recall: 1,
    FactKind.penalty: 2,
    FactKind.award: 3,
    FactKind.certification: 4,
    FactKind.lab_accreditation: 2,
    FactKind.lab_test_pass: 15,
    FactKind.lab_test_fail: 3,
    FactKind.training: 15,
    FactKind.commitment_signed: 8,
    FactKind.commitment_breached: 1,
    FactKind.tax_arrears: 1,
}
INDUSTRIES = ["lighting", "stationery", "molds", "auto_parts", "hardware", "electronics"]


@dataclass
class RescoreFigures:
    """One rescoring job, measured."""

    label: str
    enterprises: int
    seconds: float
    level_changes: int
    rss_before_mb: float
    peak_rss_mb: float


@dataclass
class StormFigures:
    """A model change moving many levels: the consumers' drain, and an alert sent into it.
    Times are from the job's end (drain) or from the signal's 201 (alert); None: not seen."""

    mirrored: int  # enterprises copied into registry, inspection and notify (`mirror`)
    boundary: float  # the new B/C boundary
    predicted_moves: int  # level-B scores below it when the model was built
    level_changes: int  # the job's own count
    job_s: float
    load_before: tuple[float, float, float]  # /proc/loadavg just before the PUT
    load_after: tuple[float, float, float]  # and once drained
    pending_at_end: int  # num_pending + num_ack_pending over every durable, at the job's end
    unsent_at_end: int  # credit's outbox rows not yet published, then
    peak_pending: int
    peak_unsent: int
    drain_s: float | None  # job's end to pending and unsent both 0
    deliveries: int  # delivered by every durable over the drain (redeliveries included)
    deliveries_per_s: float
    settled_per_s: float  # pending at the job's end over the drain's seconds
    # by durable: pending at the job's end, deliveries over the drain, the peak of
    # num_redelivered (pending messages delivered more than once) and of num_ack_pending
    by_consumer: dict[str, dict[str, int]]
    signal_ms: float  # POST /v1/risk/signals to its 201
    pending_at_signal: int
    mirror_ms: float | None  # 201 to registry's alert_mirror row
    inbox_ms: float | None  # 201 to the enterprise's inbox message
    mirror_pending: int | None  # pending at the last poll before it was seen
    inbox_pending: int | None
    mirror_during_drain: bool | None
    inbox_during_drain: bool | None


async def nats_client(stack: Stack) -> NATS:
    """The bench's connection to NATS (the one place that knows how to connect)."""
    return await connect(stack.nats_client_url, stack.nats_identity("observer"))


def service_pids(stack: Stack, service: str = "credit") -> list[int]:
    proc = stack.procs[service]
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    pids = [proc.pid]
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    return pids


def memory_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


async def load(stack: Stack, rng: random.Random) -> list[str]:
    """COPY the population into the credit database; returns the USCCs."""
    conn = await asyncpg.connect(asyncpg_dsn(stack.db_url("credit")))
    now = datetime.now(UTC)
    usccs: set[str] = set()
    while len(usccs) < ENTERPRISES:
        usccs.add(generate(rng))
    ordered = sorted(usccs)
    try:
        await conn.copy_records_to_table(
            "scores",
            columns=[
                "uscc",
                "name",
                "industry",
                "registered_at",
                "score",
                "level",
                "model_version",
                "computed_at",
                "version",
            ],
            records=[
                (u, f"基准企业{i:06d}", INDUSTRIES[i % len(INDUSTRIES)], now, 100.0, "B", 1, now, 1)
                for i, u in enumerate(ordered)
            ],
        )
        kinds = list(KIND_WEIGHTS)
        weights = list(KIND_WEIGHTS.values())
        severities = [Severity.minor.value, Severity.general.value, Severity.serious.value]
        batch: list[tuple[object, ...]] = []
        for n in range(FACTS):
            kind = rng.choices(kinds, weights)[0]
            amount = (
                round(rng.uniform(1_000, 500_000), 2)
                if kind in (FactKind.penalty, FactKind.tax_arrears)
                else None
            )
            batch.append(
                (
                    uuid7(),
                    rng.choice(ordered),
                    kind.value,
                    rng.choices(severities, (60, 35, 5))[0],
                    "market_supervision",
                    now - timedelta(days=rng.uniform(0, 1500)),
                    amount,
                    "{}",
                    "bench",
                    now,
                )
            )
            if len(batch) == 100_000 or n == FACTS - 1:
                await conn.copy_records_to_table(
                    "facts",
                    columns=[
                        "id",
                        "uscc",
                        "kind",
                        "severity",
                        "source_agency",
                        "occurred_at",
                        "amount",
                        "details",
                        "recorded_by",
                        "recorded_at",
                    ],
                    records=batch,
                )
                batch.clear()
        await conn.execute("ANALYZE scores; ANALYZE facts")
    finally:
        await conn.close()
    return ordered


async def _run_job(
    stack: Stack, session: aiohttp.ClientSession, label: str, start: tuple[str, str, object]
) -> RescoreFigures:
    pids = service_pids(stack)
    before = max(memory_mb(p, "VmRSS") for p in pids)
    method, path, body = start
    began = time.perf_counter()
    async with session.request(method, path, json=body) as r:
        created = await r.json()
        assert r.status < 300, created
    job = created.get("rescore_job") or created
    while True:
        async with session.get(f"/v1/credit/jobs/{job['id']}") as r:
            job = await r.json()
        if job["status"] not in ("queued", "running"):
            break
        await asyncio.sleep(0.2)
    seconds = time.perf_counter() - began
    peak = max(memory_mb(p, "VmHWM") for p in pids)
    assert job["status"] == "done", job
    return RescoreFigures(label, job["processed"], seconds, job["level_changes"], before, peak)


async def rescoring(stack: Stack, bearer: str) -> list[RescoreFigures]:
    """A manual rescoring under model v1, then a new model's."""
    headers = {"Authorization": f"Bearer {bearer}"}
    async with aiohttp.ClientSession(stack.url("credit"), headers=headers) as session:
        first = await _run_job(
            stack, session, "rescore, model in force", ("POST", "/v1/credit/jobs", {})
        )
        async with session.get("/v1/credit/model") as r:
            model = (await r.json())["model"]
        model["levels"]["A"]["min"] = model["levels"]["B"]["max"] = 105
        model["weights"]["spot_check_fail"]["general"] = -15
        second = await _run_job(
            stack, session, "rescore, new model (PUT)", ("PUT", "/v1/credit/model", model)
        )
    return [first, second]


def _loadavg() -> tuple[float, float, float]:
    one, five, fifteen = os.getloadavg()
    return round(one, 2), round(five, 2), round(fifteen, 2)


async def _register(gateway: aiohttp.ClientSession, inspection_db: asyncpg.Connection) -> str:
    """An enterprise registered through the API, once inspection's directory has it (a
    signal naming it then matches it; registry and notify heard the same event)."""
    uscc = generate(random.Random(31))
    async with gateway.post("/v1/enterprises", json=enterprise_body(uscc)) as r:
        assert r.status == 201, await r.text()
    deadline = time.monotonic() + 120
    while not await inspection_db.fetchval("SELECT 1 FROM directory WHERE uscc = $1", uscc):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{uscc} not in inspection's directory after 120 s")
        await asyncio.sleep(0.2)
    return uscc


async def _storm_model(
    session: aiohttp.ClientSession, credit_db: asyncpg.Connection
) -> tuple[dict[str, object], float, int]:
    """The model in force with the B/C boundary raised past STORM_SHARE of all scores (from
    the lowest level-B score up): those move from B to C. Level B means no override caps
    the enterprise, so the scores alone say who moves."""
    async with session.get("/v1/credit/model") as r:
        model = (await r.json())["model"]
    levels = model["levels"]
    total = await credit_db.fetchval("SELECT count(*) FROM scores")
    in_b = await credit_db.fetchval("SELECT count(*) FROM scores WHERE level = 'B'")
    nth = max(1, min(round(STORM_SHARE * total), in_b - 1))
    score = await credit_db.fetchval(
        "SELECT score FROM scores WHERE level = 'B' ORDER BY score OFFSET $1 LIMIT 1", nth - 1
    )
    boundary = min(round(math.floor(score * 100) / 100 + 0.01, 2), levels["B"]["max"] - 0.01)
    levels["B"]["min"] = levels["C"]["max"] = boundary
    moves = await credit_db.fetchval(
        "SELECT count(*) FROM scores WHERE level = 'B' AND score < $1", boundary
    )
    return model, boundary, moves


def _signal(uscc: str) -> dict[str, object]:
    """A serious foreign notification naming the enterprise: an alert at once."""
    return {
        "kind": "foreign_notification",
        "reference": f"BENCH-STORM/{uuid7().hex[-12:]}",
        "notifying_country": "DE",
        "risk_type": "electric shock",
        "risk_level": "serious",
        "product_category": "Lighting",
        "uscc": uscc,
        "measures_taken": "Withdrawal from the market",
    }


MIRRORS = {  # database: table, its columns, a row from credit's (uscc, name, industry, level)
    "registry": (
        "enterprises",
        [
            "uscc",
            "name",
            "industry",
            "products",
            "hs_codes",
            "export_markets",
            "certifications",
            "credit_level",
            "version",
            "created_at",
            "updated_at",
        ],
        lambda r, now: (*r[:3], "[]", [], [], "[]", r[3], 1, now, now),
    ),
    "inspection": (
        "directory",
        ["uscc", "name", "industry", "zones", "level", "updated_at"],
        lambda r, now: (*r[:3], [], r[3], now),
    ),
    "notify": (
        "recipients",
        ["uscc", "name", "industry", "hs_codes", "export_markets", "zones"],
        lambda r, now: (*r[:3], [], [], []),
    ),
}


async def _connect(stack: Stack) -> dict[str, asyncpg.Connection]:
    return {
        name: await asyncpg.connect(asyncpg_dsn(stack.db_url(name)))
        for name in ("credit", "registry", "notify", "inspection")
    }


async def mirror(stack: Stack) -> dict[str, list[str]]:
    """Credit's population, COPYed into credit alone, copied where registry's announcements
    would have put it: registry's enterprises, inspection's directory, notify's recipients
    (at credit's level), before the first rescoring. The exchange never lets credit know an
    enterprise registry did not announce; without the copy, inspection takes each level
    change for an announcement still on its way, retries it `max_deliver` times (one at a
    time, with backoff) and dead-letters it: hours of retries for a county's rescoring, and
    not what the storm means to measure. The USCCs copied, by database, for `unmirror`."""
    dbs = await _connect(stack)
    try:
        return await _mirror(dbs)
    finally:
        for db in dbs.values():
            await db.close()


async def unmirror(stack: Stack, copied: dict[str, list[str]]) -> None:
    """The copies removed: later parts (the inspection draw) see the stack as before."""
    dbs = await _connect(stack)
    try:
        await _unmirror(dbs, copied)
    finally:
        for db in dbs.values():
            await db.close()


async def _mirror(dbs: dict[str, asyncpg.Connection]) -> dict[str, list[str]]:
    rows = [
        tuple(r)
        for r in await dbs["credit"].fetch("SELECT uscc, name, industry, level FROM scores")
    ]
    now = datetime.now(UTC)
    copied = {}
    for name, (table, columns, row) in MIRRORS.items():
        known = {r[0] for r in await dbs[name].fetch(f"SELECT uscc FROM {table}")}  # noqa: S608
        new = [r for r in rows if r[0] not in known]
        await dbs[name].copy_records_to_table(
            table, columns=columns, records=[row(r, now) for r in new]
        )
        await dbs[name].execute(f"ANALYZE {table}")
        copied[name] = [r[0] for r in new]
    return copied


async def _unmirror(dbs: dict[str, asyncpg.Connection], copied: dict[str, list[str]]) -> None:
    for name, usccs in copied.items():
        table = MIRRORS[name][0]
        delete = f"DELETE FROM {table} WHERE uscc = ANY($1::text[])"  # noqa: S608
        await dbs[name].execute(delete, usccs)


MIRROR_SQL = "SELECT 1 FROM alert_mirror WHERE alert_id = $1 AND closed_at IS NULL"
INBOX_SQL = """SELECT 1 FROM inbox_messages
WHERE recipient_kind = 'enterprise' AND recipient = $1 AND data->>'alert_id' = $2 LIMIT 1"""


async def storm(stack: Stack, mirrored: int) -> tuple[RescoreFigures, StormFigures]:
    """A model change moving STORM_SHARE of the levels; the consumers' drain after the job,
    and an alert raised through the gateway as the drain begins. `mirrored`: how many of the
    population the other services know (`mirror`)."""
    headers = {"Authorization": f"Bearer {token(stack.url('gateway'))}"}  # they last 15 min
    dbs = await _connect(stack)
    nc = await nats_client(stack)
    js = nc.jetstream()
    consumers = all_consumers()
    samples: list[tuple[float, int, int, int]] = []  # monotonic, pending, unsent, delivered
    by_consumer: dict[str, dict[str, int]] = {}
    first = asyncio.Event()
    try:
        async with (
            aiohttp.ClientSession(stack.url("gateway"), headers=headers) as gateway,
            aiohttp.ClientSession(stack.url("credit"), headers=headers) as direct,
        ):
            uscc = await _register(gateway, dbs["inspection"])
            await drained(stack)
            model, boundary, moves = await _storm_model(direct, dbs["credit"])
            log(f"storm: B/C boundary {boundary}, {moves:,} level-B scores below it")
            load_before = _loadavg()
            job = await _run_job(
                stack, direct, "rescore, storm model (PUT)", ("PUT", "/v1/credit/model", model)
            )
            ended = time.monotonic()

            async def watch() -> float | None:
                """Every STORM_POLL_S until nothing is pending or unsent; the seconds."""
                tick = ended
                while True:
                    infos = await asyncio.gather(
                        *(js.consumer_info(c.stream, c.durable) for c in consumers)
                    )
                    unsent = await dbs["credit"].fetchval(UNSENT)
                    at = time.monotonic()
                    pending = sum((i.num_pending or 0) + (i.num_ack_pending or 0) for i in infos)
                    delivered = sum(i.delivered.consumer_seq or 0 for i in infos if i.delivered)
                    samples.append((at, pending, unsent, delivered))
                    for c, i in zip(consumers, infos, strict=True):
                        seq = (i.delivered.consumer_seq or 0) if i.delivered else 0
                        mine = by_consumer.setdefault(
                            c.durable,
                            {
                                "pending_at_end": (i.num_pending or 0) + (i.num_ack_pending or 0),
                                "first_seq": seq,
                                "peak_redelivered": 0,
                                "peak_ack_pending": 0,
                            },
                        )
                        mine["deliveries"] = seq - mine["first_seq"]
                        mine["peak_redelivered"] = max(
                            mine["peak_redelivered"], i.num_redelivered or 0
                        )
                        mine["peak_ack_pending"] = max(
                            mine["peak_ack_pending"], i.num_ack_pending or 0
                        )
                    first.set()
                    if pending == 0 and unsent == 0:
                        return at - ended
                    if at - ended > STORM_TIMEOUT_S:
                        return None
                    tick += STORM_POLL_S
                    await asyncio.sleep(max(0.0, tick - time.monotonic()))

            async def alert() -> tuple[float, float, float | None, float | None]:
                """The signal's send and 201, then each of the alert's arrivals."""
                await first.wait()
                sent = time.monotonic()
                async with gateway.post("/v1/risk/signals", json=_signal(uscc)) as r:
                    body = await r.json()
                    assert r.status == 201, body
                created = time.monotonic()
                assert body["alert_id"], body  # matched by the named USCC
                alert_id = str(body["alert_id"])
                mirror = inbox = None
                while mirror is None or inbox is None:  # polling other services' tables
                    if time.monotonic() - created > ALERT_TIMEOUT_S:
                        break
                    if mirror is None and await dbs["registry"].fetchval(
                        MIRROR_SQL, uuid.UUID(alert_id)
                    ):
                        mirror = time.monotonic()
                    if inbox is None and await dbs["notify"].fetchval(INBOX_SQL, uscc, alert_id):
                        inbox = time.monotonic()
                    await asyncio.sleep(ALERT_POLL_S)
                return sent, created, mirror, inbox

            drain_s, (sent, created, mirror, inbox) = await asyncio.gather(watch(), alert())
            load_after = _loadavg()
    finally:
        for db in dbs.values():
            await db.close()
        await nc.close()

    def pending_before(at: float | None) -> int | None:
        return None if at is None else [p for t, p, _, _ in samples if t <= at][-1]

    def during(at: float | None) -> bool | None:
        return None if at is None else drain_s is None or at < ended + drain_s

    span = samples[-1][0] - samples[0][0]
    deliveries = samples[-1][3] - samples[0][3]
    return job, StormFigures(
        mirrored=mirrored,
        boundary=boundary,
        predicted_moves=moves,
        level_changes=job.level_changes,
        job_s=job.seconds,
        load_before=load_before,
        load_after=load_after,
        pending_at_end=samples[0][1],
        unsent_at_end=samples[0][2],
        peak_pending=max(p for _, p, _, _ in samples),
        peak_unsent=max(u for _, _, u, _ in samples),
        drain_s=drain_s,
        deliveries=deliveries,
        deliveries_per_s=deliveries / span if span else float("nan"),
        settled_per_s=samples[0][1] / drain_s if drain_s else float("nan"),
        by_consumer={
            durable: {k: v for k, v in mine.items() if k != "first_seq"}
            for durable, mine in by_consumer.items()
        },
        signal_ms=(created - sent) * 1000,
        pending_at_signal=pending_before(sent) or 0,
        mirror_ms=None if mirror is None else (mirror - created) * 1000,
        inbox_ms=None if inbox is None else (inbox - created) * 1000,
        mirror_pending=pending_before(mirror),
        inbox_pending=pending_before(inbox),
        mirror_during_drain=during(mirror),
        inbox_during_drain=during(inbox),
    )


def report(figures: list[RescoreFigures], storm: StormFigures | None = None) -> list[str]:
    """Markdown rows."""
    lines = [
        "",
        f"credit rescoring: {ENTERPRISES:,} enterprises, {FACTS:,} facts",
        "",
        "| job | enterprises | seconds | level changes | RSS before MB | peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {f.label} | {f.enterprises} | {f.seconds:.1f} | {f.level_changes} | "
        f"{f.rss_before_mb:.0f} | {f.peak_rss_mb:.0f} |"
        for f in figures
    ]
    return lines + (_storm_report(storm) if storm else [])


def _storm_report(s: StormFigures) -> list[str]:
    def ms(value: float | None) -> str:
        return "not seen" if value is None else f"{value:.0f}"

    def on(value: bool | None) -> str:
        return "–" if value is None else ("yes" if value else "no")

    drain = "not drained" if s.drain_s is None else f"{s.drain_s:.1f}"
    return [
        "",
        f"credit rescoring storm: {s.mirrored:,} enterprises copied into registry, inspection "
        f"and notify after the load; the B/C boundary raised to {s.boundary} "
        f"({s.predicted_moves:,} level-B scores below it, {STORM_SHARE:.0%} asked); "
        f"from the job's end, every durable consumer's pending + ack pending and credit's "
        f"unsent outbox polled every {STORM_POLL_S} s; load average "
        f"{'/'.join(map(str, s.load_before))} before, {'/'.join(map(str, s.load_after))} after",
        "",
        "| level changes | job s | pending at end | unsent at end | peak pending "
        "| peak unsent | drain s | deliveries | deliveries/s | settled/s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {s.level_changes} | {s.job_s:.1f} | {s.pending_at_end} | {s.unsent_at_end} | "
        f"{s.peak_pending} | {s.peak_unsent} | {drain} | {s.deliveries} | "
        f"{s.deliveries_per_s:.0f} | {s.settled_per_s:.0f} |",
        "",
        "| durable | pending at end | deliveries | peak redelivered | peak ack pending |",
        "|---|---:|---:|---:|---:|",
        *[
            f"| {durable} | {c['pending_at_end']} | {c['deliveries']} | "
            f"{c['peak_redelivered']} | {c['peak_ack_pending']} |"
            for durable, c in s.by_consumer.items()
            if c["pending_at_end"] or c["deliveries"]
        ],
        "",
        f"alert raised via gateway as the drain began (POST /v1/risk/signals answered 201 in "
        f"{s.signal_ms:.0f} ms, {s.pending_at_signal} pending then); from the 201 until:",
        "",
        "| seen in | ms | pending at the last poll before | drain still on |",
        "|---|---:|---:|---|",
        f"| registry `alert_mirror` | {ms(s.mirror_ms)} | {s.mirror_pending} | "
        f"{on(s.mirror_during_drain)} |",
        f"| the enterprise's notify inbox | {ms(s.inbox_ms)} | {s.inbox_pending} | "
        f"{on(s.inbox_during_drain)} |",
    ]


async def sample_usccs(stack: Stack, n: int = 5000) -> list[str]:
    """Some enterprises to read."""
    conn = await asyncpg.connect(asyncpg_dsn(stack.db_url("credit")))
    try:
        rows = await conn.fetch("SELECT uscc FROM scores TABLESAMPLE SYSTEM (10) LIMIT $1", n)
    finally:
        await conn.close()
    return [r["uscc"] for r in rows]


async def drained(stack: Stack, timeout_s: float = 600) -> None:
    """Until every outbox is sent and every durable consumer has nothing pending, twice in a
    row a second apart (so what is measured next does not share the machine with what came
    before)."""
    nc = await nats_client(stack)
    js = nc.jetstream()
    dbs = [await asyncpg.connect(asyncpg_dsn(stack.db_url(name))) for name in SERVICES]
    try:
        deadline = time.monotonic() + timeout_s
        quiet = 0
        while quiet < 2:  # polling other processes' tables and consumers
            if time.monotonic() > deadline:
                raise TimeoutError(f"the stack not caught up after {timeout_s:.0f} s")
            unsent = [
                await db.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") for db in dbs
            ]
            infos = [await js.consumer_info(c.stream, c.durable) for c in all_consumers()]
            busy = sum(unsent) + sum((i.num_pending or 0) + (i.num_ack_pending or 0) for i in infos)
            quiet = 0 if busy else quiet + 1
            await asyncio.sleep(1)
    finally:
        for db in dbs:
            await db.close()
        await nc.close()


def log(message: str) -> None:
    """Progress on stderr."""
    print(f"… {message}", file=sys.stderr, flush=True)
