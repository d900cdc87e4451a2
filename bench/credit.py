"""Credit figures for `make bench`: score reads, and rescoring a county-sized population.

Loads 100,000 enterprises and 1,000,000 facts straight into the credit database (COPY), then
  1. rescoring everyone under the model in force (a manual job), then under a new model
     published with PUT /v1/credit/model: time, level changes emitted, and the peak memory
     of the credit processes (VmHWM) against their size before;
  2. GET /v1/credit/enterprises/{uscc} direct at 1 and 64 connections: p50/p99.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import asyncpg

from deploy.launcher import Stack
from deploy.streams import wait_caught_up
from kit.ids import uuid7
from kit.outbox import asyncpg_dsn
from kit.uscc import generate
from services.credit.domain import FactKind, Severity

ENTERPRISES = int(os.environ.get("BENCH_CREDIT_ENTERPRISES", "100000"))
FACTS = int(os.environ.get("BENCH_CREDIT_FACTS", "1000000"))
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


def report(figures: list[RescoreFigures]) -> list[str]:
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
    return lines


async def sample_usccs(stack: Stack, n: int = 5000) -> list[str]:
    """Some enterprises to read."""
    conn = await asyncpg.connect(asyncpg_dsn(stack.db_url("credit")))
    try:
        rows = await conn.fetch("SELECT uscc FROM scores TABLESAMPLE SYSTEM (10) LIMIT $1", n)
    finally:
        await conn.close()
    return [r["uscc"] for r in rows]


async def drained(stack: Stack, timeout_s: float = 600) -> None:
    """Until credit's outbox is published and every consumer has caught up, so the reads
    measured next do not share the machine with the rescoring's aftermath."""
    conn = await asyncpg.connect(asyncpg_dsn(stack.db_url("credit")))
    try:
        deadline = time.monotonic() + timeout_s
        unsent = "SELECT count(*) FROM outbox WHERE sent_at IS NULL"
        while time.monotonic() < deadline:  # polling another process's table
            if not await conn.fetchval(unsent):
                break
            await asyncio.sleep(1)
    finally:
        await conn.close()
    await wait_caught_up(
        stack.nats_client_url, stack.nats_identity("observer"), timeout_s=timeout_s
    )


def log(message: str) -> None:
    """Progress on stderr."""
    print(f"… {message}", file=sys.stderr, flush=True)
