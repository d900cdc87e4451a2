"""Front-end figures for `make bench` (`BENCH_ONLY=frontends`), the aims of issue #20:

1. The field app's shell as the service worker caches it (its SHELL list), fetched
   through the gateway with `Accept-Encoding: gzip`: bytes on the wire, and raw.
2. An inspector's first sign-in in headless Chromium (Debian's, through Playwright) with
   `BENCH_FIELD_TASKS` (200) open tasks whose checklist has 20 items: seconds from the
   sign-in click until the task list shows every task (downloaded through /v1/sync into
   IndexedDB) and the service worker is active (the shell cached), i.e. usable offline;
   a fresh browser context (empty IndexedDB, no worker) each of `BENCH_FIELD_RUNS` (5)
   times, with the stack's CPU per sign-in. Checked afterwards, not timed: the context
   taken offline and reloaded still lists every task.
3. Each portal page as the seed's `demo-enterprise` (signed in through the form, the
   session cookie sent), one connection, back to back for `BENCH_DURATION_S` after
   `BENCH_WARMUP_S`: p50/p99 and the stack's CPU per page.
"""

from __future__ import annotations

import os
import re
import statistics
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

import aiohttp
import asyncpg

from bench import exchange, inspection
from bench.credit import log
from deploy.launcher import Stack
from deploy.seed import DEMO_ENTERPRISE_PASSWORD
from gateway.field.router import FILES as FIELD_FILES
from gateway.users.service import DEMO_ENTERPRISE_USER
from kit.outbox import asyncpg_dsn
from tests.helpers import CHROMIUM, CHROMIUM_ARGS, PORTAL_PAGES, token

FIELD_TASKS = int(os.environ.get("BENCH_FIELD_TASKS", "200"))
FIELD_RUNS = int(os.environ.get("BENCH_FIELD_RUNS", "5"))
DURATION_S = float(os.environ.get("BENCH_DURATION_S", "10"))
WARMUP_S = float(os.environ.get("BENCH_WARMUP_S", "2"))
PASSWORD = "a-long-bench-inspector-password"


@dataclass
class PageFigures:
    """One portal page at one connection."""

    path: str
    requests: int
    errors: int
    p50_ms: float
    p99_ms: float
    cpu_ms: float


@dataclass
class FrontendFigures:
    """The three aims' figures."""

    shell_files: int
    shell_gzip_kb: float
    shell_raw_kb: float
    sync_tasks: int
    sync_items_per_task: int
    sync_runs: list[float] = field(default_factory=list)
    sync_cpu_s: float = 0.0
    sync_browser_cpu_s: float = 0.0
    offline_ok: bool = False
    pages: list[PageFigures] = field(default_factory=list)
    load: str = ""


def outside_stack_cpu(stack: Stack) -> float:
    """CPU seconds used so far by the bench process's descendants that are not the stack:
    here Playwright's driver and Chromium (its exited renderers counted in their parent's
    cutime/cstime), so a sign-in's cost includes the browser's work, not only the stack's."""
    cpu, children = exchange.process_tree()
    roots = exchange.stack_roots(stack)
    todo = [p for p in children[os.getpid()] if p not in roots]
    used = 0.0
    while todo:
        pid = todo.pop()
        used += cpu[pid]
        todo += children[pid]
    return used


def _shell() -> list[str]:
    """The paths the service worker caches (its SHELL list)."""
    worker = FIELD_FILES["sw.js"].read_text()
    listed = re.search(r"const SHELL = \[(.*?)\];", worker, re.S)
    assert listed, "sw.js names its shell"
    return re.findall(r'"([^"]+)"', listed.group(1))


async def shell_size(base: str) -> tuple[int, float, float]:
    """(files, KB on the wire with gzip, KB raw) of the field app's shell."""
    wire = raw = 0
    paths = _shell()
    async with aiohttp.ClientSession(base, auto_decompress=False) as session:
        for path in paths:
            async with session.get(path, headers={"Accept-Encoding": "gzip"}) as r:
                assert r.status == 200, path
                body = await r.read()
                wire += len(body)
            async with session.get(path, headers={"Accept-Encoding": "identity"}) as r:
                raw += len(await r.read())
    return len(paths), wire / 1024, raw / 1024


async def inspector_with_tasks(stack: Stack, admin: str) -> str:
    """A campaign's worth of open tasks (a 20-item checklist) for a new inspector and a
    partner, written straight into inspection's database; the inspector's user name."""
    base = stack.url("gateway")
    tag = uuid.uuid4().hex[:8]
    headers = {"Authorization": f"Bearer {admin}"}
    async with aiohttp.ClientSession(base, headers=headers) as session:
        items = [
            {
                "code": f"FE-{n:02d}",
                "title": f"检查项 {n}",
                "legal_basis": "GB 7000.1",
                "criterion": "符合要求",
            }
            for n in range(1, 21)
        ]
        async with session.post(
            "/v1/checklists",
            json={
                "code": f"bench-{tag}",
                "industry": "lighting",
                "title": "前端基准检查表",
                "items": items,
            },
        ) as r:
            checklist = await r.json()
            assert r.status == 201, checklist
        async with session.post(
            "/v1/campaigns",
            json={
                "title": f"前端基准 {tag}",
                "agencies": ["market_supervision"],
                "checklist_id": checklist["id"],
                "ratios": {"A": 0.01, "B": 0.01, "C": 0.01, "D": 0.01},
                "window_start": str(date.today()),
                "window_end": str(date.today() + timedelta(days=30)),
            },
        ) as r:
            campaign = await r.json()
            assert r.status == 201, campaign
        conn = await asyncpg.connect(asyncpg_dsn(stack.db_url("inspection")))
        try:
            usccs = [r["uscc"] for r in await conn.fetch("SELECT uscc FROM directory")]
        finally:
            await conn.close()
        assert len(usccs) >= FIELD_TASKS, f"{len(usccs)} enterprises in the directory"
        officer = await inspection.officer_with_tasks(stack, campaign["id"], usccs, FIELD_TASKS)
        username = f"bench-field-{tag}"
        async with session.post(
            "/v1/users",
            json={
                "username": username,
                "password": PASSWORD,
                "name": "前端基准检查员",
                "kind": "inspector",
                "inspector_id": str(officer),
                "scopes": ["inspection:read", "inspection:write"],
            },
        ) as r:
            assert r.status == 201, await r.text()
    return username


async def first_sync(stack: Stack, username: str) -> tuple[list[float], float, float, bool]:
    """Seconds per fresh sign-in to usable offline, the stack's and the browser's CPU
    seconds per sign-in, and whether the last context, offline and reloaded, still listed
    every task."""
    from playwright.async_api import async_playwright

    base = stack.url("gateway")
    runs: list[float] = []
    cpu = browser_cpu = 0.0
    offline_ok = False
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            for n in range(FIELD_RUNS + 1):  # the first warms the stack's caches: not counted
                context = await browser.new_context(base_url=base)
                tab = await context.new_page()
                await tab.goto("/field/")
                await tab.wait_for_selector("body[data-ready]")
                await tab.fill("#username", username)
                await tab.fill("#password", PASSWORD)
                before = sum(exchange.stack_cpu(stack).values())
                browser_before = outside_stack_cpu(stack)
                started = time.perf_counter()
                await tab.click("#sign-in button[type=submit]")
                await tab.wait_for_function(
                    "n => document.querySelectorAll('#tasks li.task').length === n",
                    arg=FIELD_TASKS,
                    timeout=120_000,
                )
                await tab.evaluate("navigator.serviceWorker.ready.then(() => true)")
                elapsed = time.perf_counter() - started
                used = sum(exchange.stack_cpu(stack).values()) - before
                in_browser = outside_stack_cpu(stack) - browser_before
                if n:
                    runs.append(elapsed)
                    cpu += used
                    browser_cpu += in_browser
                    log(
                        f"field first sync {n}: {elapsed:.2f} s, stack CPU {used:.2f} s, "
                        f"browser CPU {in_browser:.2f} s"
                    )
                if n == FIELD_RUNS:
                    await context.set_offline(True)
                    await tab.reload()
                    await tab.wait_for_selector("body[data-ready]")
                    shown = await tab.eval_on_selector_all("#tasks li.task", "els => els.length")
                    offline_ok = shown == FIELD_TASKS
                await context.close()
        finally:
            await browser.close()
    return runs, cpu / max(1, len(runs)), browser_cpu / max(1, len(runs)), offline_ok


async def _portal_cookie(session: aiohttp.ClientSession) -> None:
    """Sign in through the portal's form (its double-submit CSRF cookie, then the post)."""
    async with session.get("/portal/login") as r:
        assert r.status == 200
    login = next(c.value for c in session.cookie_jar if c.key == "zone_portal_login")
    async with session.post(
        "/portal/login",
        data={
            "username": DEMO_ENTERPRISE_USER,
            "password": DEMO_ENTERPRISE_PASSWORD,
            "csrf": login,
            "next": "/portal/",
        },
        allow_redirects=False,
    ) as r:
        assert r.status == 303, await r.text()
    assert any(c.key == "zone_portal" for c in session.cookie_jar), "signed in"


async def portal_pages(stack: Stack) -> list[PageFigures]:
    """Each portal page at one connection, as the demo enterprise."""
    figures = []
    jar = aiohttp.CookieJar(unsafe=True)  # 127.0.0.1
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(
        stack.url("gateway"), cookie_jar=jar, connector=connector
    ) as session:
        await _portal_cookie(session)
        for path in PORTAL_PAGES:
            latencies: list[float] = []  # of pages served (200): a refused one is no page
            errors = 0
            requests = 0
            start = time.perf_counter()
            measure_from, stop = start + WARMUP_S, start + WARMUP_S + DURATION_S
            cpu_from = None
            while (now := time.perf_counter()) < stop:
                if cpu_from is None and now >= measure_from:
                    cpu_from = sum(exchange.stack_cpu(stack).values())
                async with session.get(path, allow_redirects=False) as r:
                    await r.read()
                    ok = r.status == 200
                if now >= measure_from:
                    requests += 1
                    if ok:
                        latencies.append(time.perf_counter() - now)
                    else:  # on a quiet machine one user's loop outruns the rate limit: 429s
                        errors += 1
            cpu = sum(exchange.stack_cpu(stack).values()) - (cpu_from or 0)
            ordered = sorted(latencies) or [float("nan")]
            p99 = ordered[min(len(ordered) - 1, max(0, round(0.99 * len(ordered)) - 1))]
            figures.append(
                PageFigures(
                    path,
                    requests,
                    errors,
                    statistics.median(ordered) * 1000,
                    p99 * 1000,
                    cpu / requests * 1000,
                )
            )
            log(f"portal {path}: p50 {figures[-1].p50_ms:.1f} ms, p99 {p99 * 1000:.1f} ms")
    return figures


async def scenarios(stack: Stack) -> FrontendFigures:
    """The shell's size, the first sync, the portal's pages."""
    base = stack.url("gateway")
    files, wire_kb, raw_kb = await shell_size(base)
    log(f"field shell: {files} files, {wire_kb:.1f} KB gzip, {raw_kb:.1f} KB raw")
    username = await inspector_with_tasks(stack, token(base))
    log(f"field first sync: {FIELD_TASKS} tasks, {FIELD_RUNS} fresh contexts")
    runs, cpu, browser_cpu, offline_ok = await first_sync(stack, username)
    pages = await portal_pages(stack)
    return FrontendFigures(
        shell_files=files,
        shell_gzip_kb=wire_kb,
        shell_raw_kb=raw_kb,
        sync_tasks=FIELD_TASKS,
        sync_items_per_task=20,
        sync_runs=runs,
        sync_cpu_s=cpu,
        sync_browser_cpu_s=browser_cpu,
        offline_ok=offline_ok,
        pages=pages,
        load=" ".join(f"{x:.1f}" for x in os.getloadavg()),
    )


def report(figures: FrontendFigures) -> list[str]:
    """Markdown rows."""
    runs = figures.sync_runs or [float("nan")]
    rows = [
        "",
        f"front ends (load average at the end {figures.load})",
        "",
        "| field shell files | gzip KB | raw KB |",
        "|---:|---:|---:|",
        f"| {figures.shell_files} | {figures.shell_gzip_kb:.1f} | {figures.shell_raw_kb:.1f} |",
        "",
        f"field first sign-in to usable offline: {figures.sync_tasks} tasks × "
        f"{figures.sync_items_per_task} checklist items, fresh context each run",
        "",
        "| runs | median s | max s | stack CPU s per sign-in | browser CPU s | "
        "offline reload lists all |",
        "|---:|---:|---:|---:|---:|---|",
        f"| {len(figures.sync_runs)} | {statistics.median(runs):.2f} | {max(runs):.2f} | "
        f"{figures.sync_cpu_s:.2f} | {figures.sync_browser_cpu_s:.2f} | "
        f"{'yes' if figures.offline_ok else 'no'} |",
        "",
        "portal pages as demo-enterprise, one connection",
        "",
        "| page | requests | errors | p50 ms | p99 ms | stack CPU ms/page |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    rows += [
        f"| `{p.path}` | {p.requests} | {p.errors} | {p.p50_ms:.1f} | {p.p99_ms:.1f} | "
        f"{p.cpu_ms:.1f} |"
        for p in figures.pages
    ]
    return rows
