"""Export figures for `make bench`: a 100,000-row enterprise list taken as CSV through the
gateway (`GET /v1/enterprises` with `Accept: text/csv`, kit/exports.py), streamed.

The rows are COPYed straight into registry's `enterprises` (and removed afterwards, so the
parts after this one see the stack as before). Seconds are from the request to the last
byte; the registry processes' and the gateway's resident size are sampled while the body
streams, against their size just before: at most two pages (kit.pagination.EXPORT_LIMIT rows
each) are held, so it should stay flat whatever the list's length. The CPU each part of the stack
used while the body streamed is given per row (load moves it least).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
import asyncpg

from bench.credit import log, memory_mb, service_pids
from bench.exchange import stack_cpu
from deploy.launcher import Stack
from kit.outbox import asyncpg_dsn
from kit.uscc import generate
from tests.helpers import token

ROWS = int(os.environ.get("BENCH_EXPORT_ROWS", "100000"))
INDUSTRIES = ["lighting", "stationery", "molds", "auto_parts", "hardware", "electronics"]
SAMPLE_S = 0.2


@dataclass
class ExportFigures:
    """One export, measured."""

    rows: int  # data rows in the file (the list's whole length)
    mb: float
    seconds: float
    first_byte_s: float
    registry_rss_before_mb: float
    registry_rss_peak_mb: float
    gateway_rss_before_mb: float
    gateway_rss_peak_mb: float
    load_average: tuple[float, float, float]  # /proc/loadavg as the export ended
    cpu_s: dict[str, float]  # CPU seconds each part of the stack used while it streamed

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds

    def cpu_us_per_row(self, part: str) -> float:
        return self.cpu_s.get(part, 0.0) / max(self.rows, 1) * 1e6


async def _load(conn: asyncpg.Connection, rng: random.Random) -> list[str]:
    known = {r[0] for r in await conn.fetch("SELECT uscc FROM enterprises")}
    usccs: set[str] = set()
    while len(usccs) < ROWS:
        uscc = generate(rng)
        if uscc not in known:
            usccs.add(uscc)
    now = datetime.now(UTC)
    records = [
        (
            uscc,
            f"宁海县第{n}号出口企业有限公司",
            rng.choice(INDUSTRIES),
            '[{"hs_code": "940542", "name": "LED 灯具"}]',
            ["940542"],
            ["US", "DE"],
            "[]",
            rng.choice(["A", "B", "C", None]),
            1,
            now,
            now,
        )
        for n, uscc in enumerate(sorted(usccs), start=1)
    ]
    await conn.copy_records_to_table(
        "enterprises",
        columns=[
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
        records=records,
    )
    await conn.execute("ANALYZE enterprises")
    return sorted(usccs)


async def scenarios(stack: Stack) -> ExportFigures:
    """Load the rows, export the list as CSV through the gateway, sampling memory."""
    conn = await asyncpg.connect(asyncpg_dsn(stack.db_url("registry")))
    log(f"loading {ROWS:,} enterprises into registry")
    loaded = await _load(conn, random.Random(41))
    try:
        registry = service_pids(stack, "registry")
        gateway_pids = service_pids(stack, "gateway")
        registry_before = max(memory_mb(p, "VmRSS") for p in registry)
        gateway_before = max(memory_mb(p, "VmRSS") for p in gateway_pids)
        peaks = [registry_before, gateway_before]
        done = asyncio.Event()

        async def sample() -> None:
            while not done.is_set():
                peaks[0] = max(peaks[0], *(memory_mb(p, "VmRSS") for p in registry))
                peaks[1] = max(peaks[1], *(memory_mb(p, "VmRSS") for p in gateway_pids))
                await asyncio.sleep(SAMPLE_S)

        gateway = stack.url("gateway")
        headers = {"Authorization": f"Bearer {token(gateway)}", "Accept": "text/csv"}
        sampler = asyncio.create_task(sample())
        log(f"exporting the {ROWS:,}-row list as CSV through the gateway")
        lines = size = 0
        first = 0.0
        timeout = aiohttp.ClientTimeout(total=600)
        async with aiohttp.ClientSession(gateway, timeout=timeout) as session:
            cpu_before = stack_cpu(stack)
            started = time.monotonic()
            async with session.get("/v1/enterprises", headers=headers) as r:
                assert r.status == 200, await r.text()
                async for chunk in r.content.iter_chunked(1 << 16):
                    if not first:
                        first = time.monotonic() - started
                    size += len(chunk)
                    lines += chunk.count(b"\n")
            seconds = time.monotonic() - started
            cpu = {
                part: used - cpu_before.get(part, 0.0) for part, used in stack_cpu(stack).items()
            }
        done.set()
        await sampler
        one, five, fifteen = os.getloadavg()
    finally:
        await conn.execute("DELETE FROM enterprises WHERE uscc = ANY($1::text[])", loaded)
        await conn.close()
    return ExportFigures(
        rows=lines - 1,  # the heading line
        mb=size / 2**20,
        seconds=seconds,
        first_byte_s=first,
        registry_rss_before_mb=registry_before,
        registry_rss_peak_mb=peaks[0],
        gateway_rss_before_mb=gateway_before,
        gateway_rss_peak_mb=peaks[1],
        load_average=(round(one, 2), round(five, 2), round(fifteen, 2)),
        cpu_s=cpu,
    )


def report(f: ExportFigures) -> list[str]:
    """Markdown rows."""
    return [
        "",
        f"list export: `GET /v1/enterprises` as CSV through the gateway, {f.rows:,} rows "
        f"({f.mb:.1f} MiB), streamed; load average at the end {f.load_average}",
        "",
        "| rows | s | first byte s | rows/s | registry RSS before MB | peak MB | "
        "gateway RSS before MB | peak MB | CPU µs/row registry · gateway · stack |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {f.rows:,} | {f.seconds:.1f} | {f.first_byte_s:.2f} | {f.rows_per_s:,.0f} | "
        f"{f.registry_rss_before_mb:.0f} | {f.registry_rss_peak_mb:.0f} | "
        f"{f.gateway_rss_before_mb:.0f} | {f.gateway_rss_peak_mb:.0f} | "
        f"{f.cpu_us_per_row('registry'):.0f} · {f.cpu_us_per_row('gateway'):.0f} · "
        f"{sum(f.cpu_s.values()) / max(f.rows, 1) * 1e6:.0f} |",
    ]
