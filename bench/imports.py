"""Import figures for `make bench`: a 50,000-row enterprise roster (.xlsx, Chinese headings,
each row with its 2024 survey figures) imported through the gateway as one job.

Rows/s is from the 202 to the job's `done`, events included (each row registers an
enterprise and records a survey: two outbox events per row, in the same transactions).
Memory is the registry processes' resident size sampled while the job runs, against their
size just before the upload: the file is read as a stream and written in batches, so it
should stay flat.
"""

from __future__ import annotations

import asyncio
import io
import os
import random
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from openpyxl import Workbook

from bench.credit import log, memory_mb, service_pids
from bench.exchange import stack_cpu
from deploy.launcher import Stack
from kit.uscc import generate
from tests.helpers import token

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "50000"))
HEADINGS = [
    "统一社会信用代码",
    "企业名称",
    "法定代表人",
    "行业",
    "年度",
    "年度出口额（美元）",
    "出口市场",
]
INDUSTRIES = ["文具", "模具", "灯具", "五金机械", "电子电器", "汽配"]


@dataclass
class ImportFigures:
    """One import, measured."""

    rows: int
    file_mb: float
    seconds: float
    created: int
    rejected: int
    rss_before_mb: float
    rss_peak_mb: float
    # CPU seconds from the 202 to `done`, by stack process (registry, credit, postgres …):
    # what the job and the consumers of its events used meanwhile; load moves it least
    cpu_s: dict[str, float] | None = None

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds

    def cpu_ms_per_row(self, process: str = "total") -> float:
        """CPU milliseconds per row, of one stack process or of the whole stack."""
        return 1000 * (self.cpu_s or {}).get(process, 0.0) / max(self.rows, 1)


def roster(rng: random.Random) -> bytes:
    """A .xlsx roster of `ROWS` new enterprises (write-only: built as a stream)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("企业名录")
    sheet.append(HEADINGS)
    seen: set[str] = set()
    while len(seen) < ROWS:
        uscc = generate(rng)
        if uscc in seen:
            continue
        seen.add(uscc)
        n = len(seen)
        sheet.append(
            [
                uscc,
                f"宁海县第{n}号出口企业有限公司",
                "张三",
                rng.choice(INDUSTRIES),
                2024,
                rng.randrange(100_000, 50_000_000),
                rng.choice(["US", "DE、FR", "JP", "US、GB"]),
            ]
        )
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def profilers(pids: list[int]) -> list[subprocess.Popen[bytes]]:
    """`BENCH_PYSPY=<folder>`: py-spy samples each registry process while the job runs,
    as collapsed stacks (`registry-<pid>.txt`, for flame graphs or a grep)."""
    folder = os.environ.get("BENCH_PYSPY")
    spy = shutil.which("py-spy") or str(Path(".venv/bin/py-spy"))
    if not folder:
        return []
    Path(folder).mkdir(parents=True, exist_ok=True)
    options = ["record", "--format", "raw", "--rate", "50", "--nonblocking"]
    return [
        subprocess.Popen(
            [spy, *options, "--pid", str(pid), "-o", f"{folder}/registry-{pid}.txt"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in pids
    ]


async def scenarios(stack: Stack) -> ImportFigures:
    """Upload the roster, follow the job to its end, sampling the registry's memory."""
    log(f"building a {ROWS:,}-row .xlsx roster")
    content = roster(random.Random(31))
    pids = service_pids(stack, "registry")
    before = max(memory_mb(p, "VmRSS") for p in pids)
    peak = before
    form = aiohttp.FormData()
    form.add_field("kind", "enterprises")
    form.add_field("file", content, filename="企业名录.xlsx")
    log(f"importing {ROWS:,} rows ({len(content) / 2**20:.1f} MiB) through the gateway")
    gateway = stack.url("gateway")
    headers = {"Authorization": f"Bearer {token(gateway)}"}
    timeout = aiohttp.ClientTimeout(total=120)
    spies = profilers(pids)
    cpu_before = stack_cpu(stack)
    async with aiohttp.ClientSession(gateway, timeout=timeout) as session:
        started = time.monotonic()
        async with session.post("/v1/imports", data=form, headers=headers) as r:
            job = await r.json()
            assert r.status == 202, job
        while job["status"] not in ("done", "failed"):
            await asyncio.sleep(0.5)
            peak = max(peak, *(memory_mb(p, "VmRSS") for p in pids))
            async with session.get(f"/v1/imports/{job['id']}", headers=headers) as r:
                if r.status == 401:  # a token lives 15 minutes: a slow run outlives it
                    headers = {"Authorization": f"Bearer {token(gateway)}"}
                    continue
                assert r.status == 200, await r.text()
                job = await r.json()
        seconds = time.monotonic() - started
    cpu_after = stack_cpu(stack)
    cpu = {name: round(cpu_after[name] - cpu_before.get(name, 0.0), 2) for name in cpu_after}
    cpu["total"] = round(sum(cpu.values()), 2)
    for spy in spies:
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)
    assert job["status"] == "done", job
    return ImportFigures(
        job["counts"]["rows"],
        len(content) / 2**20,
        seconds,
        job["counts"]["created"],
        job["counts"]["rejected"],
        before,
        peak,
        cpu,
    )


def report(figures: ImportFigures) -> list[str]:
    """Markdown rows."""
    return [
        "",
        f"spreadsheet import: {figures.rows:,} enterprise rows with a survey each (.xlsx, "
        f"{figures.file_mb:.1f} MiB) through the gateway, one job",
        "",
        "| rows | created | rejected | s | rows/s | registry RSS before MB | peak MB | growth MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {figures.rows:,} | {figures.created:,} | {figures.rejected} | {figures.seconds:.1f} | "
        f"{figures.rows_per_s:,.0f} | {figures.rss_before_mb:.0f} | {figures.rss_peak_mb:.0f} | "
        f"{figures.rss_peak_mb - figures.rss_before_mb:.0f} |",
        "",
        "CPU ms per row from the 202 to done: "
        + ", ".join(
            f"{name} {figures.cpu_ms_per_row(name):.2f}"
            for name, used in sorted((figures.cpu_s or {}).items())
            if used
        ),
    ]
