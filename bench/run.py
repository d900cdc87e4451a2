"""`make bench`: throughput and latency of the running platform, on this machine.

Starts its own seeded stack on free ports (like the tests), then measures:
  1. registry read  (GET /v1/enterprises/{uscc}) direct and through the gateway, 64 connections;
  2. registry write (POST /v1/enterprises)       direct and through the gateway, 1 and 64
     connections (one at a time shows what the gateway's audit adds to each write);
  3. outbox commit-to-consumer latency at a steady 200 events/s (open loop): from the event's
     `time` (stamped inside the writing transaction) to its arrival at a JetStream consumer;
  4. credit (bench/credit.py: rescoring, score reads, a rescoring storm), inspection
     (bench/inspection.py), exchange (bench/exchange.py: stack CPU per registration,
     registration to `credit.level.changed` at 150 and 200/s), notify (bench/notify.py),
     lineage and risk (bench/lineage.py) and the read path with wrk (bench/reads.py): see
     each module.
Prints a table and writes bench/results/latest.json. Timings are figures, never assertions.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import aiohttp
from nats.js.api import DeliverPolicy

from bench import (
    credit,
    evidence,
    exchange,
    exports,
    frontends,
    imports,
    inspection,
    lineage,
    notify,
    otlp_sink,
    reads,
)
from deploy.launcher import APPS, Stack
from deploy.nats_auth import observer_consumer
from deploy.processes import free_port, wait_for_port
from deploy.streams import SERVICES
from gateway.auth.tokens import Signer
from kit import gateway_assertion
from kit.messaging import connect
from kit.uscc import generate
from tests.helpers import enterprise_body, gateway_signer, make_stack, token

CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "64"))
DURATION_S = float(os.environ.get("BENCH_DURATION_S", "10"))
WARMUP_S = float(os.environ.get("BENCH_WARMUP_S", "2"))
EVENT_RATE = float(os.environ.get("BENCH_EVENT_RATE", "200"))
EVENT_SECONDS = float(os.environ.get("BENCH_EVENT_SECONDS", "15"))
RESULTS = Path(__file__).parent / "results"
NAN = float("nan")


@dataclass
class Result:
    """One scenario's figures."""

    name: str
    requests: int
    errors: int
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float = float("nan")  # the whole stack's CPU per request (bench.exchange.stack_cpu)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


async def closed_loop(  # type: ignore[no-untyped-def]
    name: str,
    base: str,
    bearer: str,
    make_request,
    connections: int = CONNECTIONS,
    *,
    stack: Stack | None = None,
    signer: Signer | None = None,
) -> Result:
    """`connections` workers issuing requests back to back for `DURATION_S` after a warm-up.
    With `stack`, the stack's CPU over the measured window per measured request; with
    `signer`, each request carries a gateway assertion made for it (signed in this process,
    so only the service's check is on the stack's bill)."""
    latencies: list[float] = []
    errors = 0
    cpu: list[float] = []

    def cpu_now() -> None:
        if stack is not None:
            cpu.append(sum(exchange.stack_cpu(stack).values()))

    def assertion(method: str, path: str) -> dict[str, str] | None:
        if signer is None:
            return None
        request_id = f"bench-{uuid.uuid4().hex}"
        made = signer.assertion(method=method, target=path, request_id=request_id)
        return {"X-Request-ID": request_id, gateway_assertion.HEADER: made}

    connector = aiohttp.TCPConnector(limit=connections, limit_per_host=connections)
    headers = {"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession(base, connector=connector, headers=headers) as session:
        start = time.perf_counter()
        measure_from = start + WARMUP_S
        stop = measure_from + DURATION_S

        async def worker() -> None:
            nonlocal errors
            while (now := time.perf_counter()) < stop:
                method, path, body = make_request()
                extra = assertion(method, path)
                async with session.request(method, path, data=body, headers=extra) as response:
                    await response.read()
                    ok = response.status < 400
                done = time.perf_counter()
                if now >= measure_from:
                    latencies.append(done - now)
                    errors += 0 if ok else 1

        async def meter() -> None:
            await asyncio.sleep(WARMUP_S)
            cpu_now()

        await asyncio.gather(meter(), *(worker() for _ in range(connections)))
        cpu_now()
    return Result(
        name=name,
        requests=len(latencies),
        errors=errors,
        rps=len(latencies) / DURATION_S,
        p50_ms=statistics.median(latencies) * 1000 if latencies else float("nan"),
        p99_ms=percentile(latencies, 0.99) * 1000,
        cpu_ms=(cpu[-1] - cpu[0]) / len(latencies) * 1000 if len(cpu) == 2 and latencies else NAN,
    )


async def event_latency(stack: Stack, bearer: str, rng: random.Random) -> Result:
    """Open-loop writes at EVENT_RATE/s; latency from the event's time to a consumer receiving it."""
    nc = await connect(stack.nats_client_url, stack.nats_identity("observer"))
    js = nc.jetstream()
    latencies: list[float] = []
    expected: set[str] = set()

    async def on_message(msg) -> None:  # type: ignore[no-untyped-def]
        received = time.time()
        event = json.loads(msg.data)
        if event["subject"] in expected:
            latencies.append(received - datetime.fromisoformat(event["time"]).timestamp())
        await msg.ack()

    sub = await js.subscribe(
        "registry.enterprise.registered",
        cb=on_message,
        stream="REGISTRY",
        config=observer_consumer(deliver_policy=DeliverPolicy.NEW),
        manual_ack=True,
    )
    errors = 0
    headers = {"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession(stack.url("registry"), headers=headers) as session:

        async def write(uscc: str) -> None:
            nonlocal errors
            async with session.post("/v1/enterprises", data=json.dumps(enterprise_body(uscc))) as r:
                await r.read()
                errors += r.status >= 400

        tasks = []
        interval = 1 / EVENT_RATE
        start = time.perf_counter()
        for i in range(int(EVENT_RATE * EVENT_SECONDS)):
            await asyncio.sleep(max(0.0, start + i * interval - time.perf_counter()))
            uscc = generate(rng)
            expected.add(uscc)
            tasks.append(asyncio.create_task(write(uscc)))
        await asyncio.gather(*tasks)
    deadline = time.monotonic() + 10
    while len(latencies) < len(expected) - errors and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    await sub.unsubscribe()
    await nc.close()
    return Result(
        name=f"outbox commit→consumer @ {EVENT_RATE:.0f} ev/s",
        requests=len(latencies),
        errors=errors + (len(expected) - errors - len(latencies)),
        rps=len(latencies) / EVENT_SECONDS,
        p50_ms=statistics.median(latencies) * 1000 if latencies else float("nan"),
        p99_ms=percentile(latencies, 0.99) * 1000,
    )


async def scenarios(stack: Stack) -> list[Result]:
    """Every scenario against one running stack."""
    bearer = token(stack.url("gateway"))
    rng = random.Random(7)
    headers = {"Authorization": f"Bearer {bearer}"}
    url = f"{stack.url('gateway')}/v1/enterprises?limit=500"
    async with aiohttp.ClientSession(headers=headers) as s, s.get(url) as r:
        usccs = [e["uscc"] for e in (await r.json())["items"]]

    def read() -> tuple[str, str, None]:
        return "GET", f"/v1/enterprises/{rng.choice(usccs)}", None

    def write() -> tuple[str, str, bytes]:
        return "POST", "/v1/enterprises", json.dumps(enterprise_body(generate(rng))).encode()

    # "direct + assertion": straight to the service with the gateway's assertion, which the
    # service checks even with its door off: that row minus "direct" is the check's cost.
    signer = await asyncio.to_thread(gateway_signer, stack)  # tests.helpers.sql runs its own loop
    targets = {
        "direct": (stack.url("registry"), None),
        "direct + assertion": (stack.url("registry"), signer),
        "via gateway": (stack.url("gateway"), None),
    }
    nginx = start_nginx(stack)
    if nginx is not None:
        targets["via nginx"] = (nginx[1], None)
    results = []
    try:
        for name, fn, connections in (
            ("read", read, 1),
            ("read", read, CONNECTIONS),
            ("write", write, 1),  # one at a time: what the gateway adds to each write
            ("write", write, CONNECTIONS),
        ):
            for via, (base, asserted) in targets.items():
                if name == "write" and via == "via nginx":
                    continue
                label = f"{name} {via} @{connections}"
                print(f"… {label}", file=sys.stderr, flush=True)
                await credit.drained(stack)  # no earlier row's events still being consumed
                results.append(
                    await closed_loop(
                        label, base, bearer, fn, connections, stack=stack, signer=asserted
                    )
                )
    finally:
        if nginx is not None:
            nginx[0].terminate()
            nginx[0].wait(10)
    print("… letting consumers catch up with the writes", file=sys.stderr, flush=True)
    await credit.drained(stack)
    print("… outbox latency", file=sys.stderr, flush=True)
    results.append(await event_latency(stack, bearer, rng))
    return results


def start_nginx(stack: Stack) -> tuple[subprocess.Popen[bytes], str] | None:
    """nginx (Debian's package, installed here if missing) as a plain reverse proxy in front
    of the registry: the baseline the gateway is compared with."""
    if shutil.which("nginx") is None:
        print("… installing nginx (apt-get)", file=sys.stderr, flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "nginx"],
            check=False,
            capture_output=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        print("nginx unavailable: no baseline rows", file=sys.stderr)
        return None
    port = free_port()
    prefix = stack.data_dir / "nginx"
    (prefix / "logs").mkdir(parents=True, exist_ok=True)
    upstream = stack.url("registry").removeprefix("http://")
    (prefix / "nginx.conf").write_text(f"""
worker_processes auto;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  upstream registry {{ server {upstream}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://registry;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
    }}
  }}
}}
""")
    proc = subprocess.Popen(
        [binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, timeout=10)
    return proc, f"http://127.0.0.1:{port}"


def _commit() -> str:
    """The code measured: HEAD, marked when the tree has uncommitted changes."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head}{' (uncommitted changes)' if dirty else ''}" or "unknown"


def _memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024**2
    return 0.0


def report(results: list[Result]) -> str:
    """A Markdown table with the gateway/direct ratios."""
    lines = [
        f"commit {_commit()} · {datetime.now().astimezone():%Y-%m-%d %H:%M %Z} · "
        f"{os.cpu_count()} cores, {_memory_gib():.0f} GiB, Python {sys.version.split()[0]} · "
        f"duration={DURATION_S:.0f}s warmup={WARMUP_S:.0f}s",
        "",
        "| scenario | requests | errors | req/s | p50 ms | p99 ms | stack CPU ms/req |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.name} | {r.requests} | {r.errors} | {r.rps:.0f} | {r.p50_ms:.1f} | "
        f"{r.p99_ms:.1f} | {r.cpu_ms:.2f} |"
        for r in results
    ]
    by = {r.name: r for r in results}
    for kind, connections in (
        ("read", 1),
        ("read", CONNECTIONS),
        ("write", 1),
        ("write", CONNECTIONS),
    ):
        direct = by.get(f"{kind} direct @{connections}")
        if direct is None:
            continue
        for via in ("direct + assertion", "via gateway", "via nginx"):
            other = by.get(f"{kind} {via} @{connections}")
            if other is None:
                continue
            lines.append(
                f"\n{kind} @{connections} {via}: throughput ratio {other.rps / direct.rps:.2f}, "
                f"p50 added {other.p50_ms - direct.p50_ms:+.2f} ms, "
                f"p99 added {other.p99_ms - direct.p99_ms:+.2f} ms, "
                f"stack CPU added {other.cpu_ms - direct.cpu_ms:+.2f} ms per request"
            )
    return "\n".join(lines)


async def credit_scenarios(
    stack: Stack,
) -> tuple[list[Result], list[credit.RescoreFigures], credit.StormFigures | None]:
    """Load the county-sized population, rescore it twice, read scores, then a storm: a
    third model moving many levels, its drain and an alert raised during it."""
    bearer = token(stack.url("gateway"))
    rng = random.Random(11)
    credit.log(f"loading {credit.ENTERPRISES:,} enterprises and {credit.FACTS:,} facts")
    await credit.load(stack, rng)
    copied: dict[str, list[str]] = {}
    if credit.MIRROR:
        copied = await credit.mirror(stack)
        credit.log(f"{len(copied['registry']):,} enterprises copied into the other services")
    try:
        credit.log("rescoring")
        figures = await credit.rescoring(stack, bearer)
        usccs = await credit.sample_usccs(stack)
        credit.log("waiting for the level-change events to be published and consumed")
        await credit.drained(stack)

        def read() -> tuple[str, str, None]:
            return "GET", f"/v1/credit/enterprises/{rng.choice(usccs)}", None

        score_reads = []
        for connections in (1, CONNECTIONS):
            label = f"credit score read direct @{connections}"
            credit.log(label)
            score_reads.append(
                await closed_loop(label, stack.url("credit"), bearer, read, connections)
            )
        storm = None
        if credit.STORM_SHARE > 0:
            credit.log(f"rescoring storm: a model moving {credit.STORM_SHARE:.0%} of the levels")
            job, storm = await credit.storm(stack, len(copied.get("registry", [])))
            figures.append(job)
    finally:
        await credit.unmirror(stack, copied)
    return score_reads, figures, storm


async def inspection_scenarios(stack: Stack) -> tuple[list[Result], inspection.DrawFigures]:
    """A county-sized draw, then an officer's sync pull."""
    bearer = token(stack.url("gateway"))
    rng = random.Random(13)
    credit.log(
        f"loading {inspection.ENTERPRISES:,} directory entries, {inspection.INSPECTORS} inspectors"
    )
    usccs, _ = await inspection.load(stack, rng)
    credit.log("drawing")
    figures, campaign_id = await inspection.drawing(stack, bearer)
    officer = await inspection.officer_with_tasks(stack, campaign_id, usccs)
    headers = {"Authorization": f"Bearer {bearer}"}
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.post(
            f"{stack.url('gateway')}/v1/clients",
            json={
                "client_id": f"bench-officer-{officer.hex[-10:]}",
                "name": "bench officer",
                "scopes": ["inspection:read"],
                "inspector_id": str(officer),
                "rate_limit_per_s": 0,
            },
        ) as r,
    ):
        created = await r.json()
    officer_token = token(stack.url("gateway"), created["client_id"], created["client_secret"])

    def pull() -> tuple[str, str, None]:
        return "GET", "/v1/sync", None

    credit.log("officer sync pull (200 tasks) direct @1")
    sync = await closed_loop(
        "sync pull, 200 tasks, direct @1", stack.url("inspection"), officer_token, pull, 1
    )
    return [sync], figures


async def lineage_scenarios(stack: Stack) -> tuple[list[Result], lineage.LineageFigures]:
    """1M lineage events over 100k lots: traces, bulk ingestion, then matching."""
    bearer = token(stack.url("gateway"))
    rng = random.Random(17)
    usccs = await lineage.register(stack, bearer, rng)
    credit.log(f"loading {lineage.LOTS:,} lots and {lineage.EVENTS:,} lineage events")
    loaded = await lineage.load(stack, usccs, rng)

    def upstream() -> tuple[str, str, None]:
        lot = rng.choice(loaded.batches)
        return "GET", f"/v1/batches/{lot}/trace?direction=upstream&depth=10", None

    def downstream() -> tuple[str, str, None]:
        lot = rng.choice(loaded.suppliers)
        return "GET", f"/v1/batches/{lot}/trace?direction=downstream&depth=10", None

    traces = []
    for name, make in (("upstream", upstream), ("downstream", downstream)):
        label = f"trace {name} depth 10 via gateway @1"
        credit.log(label)
        traces.append(await closed_loop(label, stack.url("gateway"), bearer, make, 1))
    credit.log(f"bulk ingestion, {lineage.BULK_REQUESTS} × {lineage.BULK_EVENTS} events")
    bulk_events, bulk_s = await lineage.ingest(stack, bearer, loaded, rng)
    credit.log(f"matching {lineage.NOTIFICATIONS:,} notifications")
    matched, matching_s = await lineage.matching(stack, bearer, loaded, rng)
    figures = lineage.LineageFigures(
        lineage.LOTS,
        lineage.EVENTS,
        bulk_events,
        bulk_s,
        lineage.NOTIFICATIONS,
        matched,
        matching_s,
    )
    return traces, figures


async def notify_scenarios(stack: Stack) -> notify.FanoutFigures:
    """Webhook fan-out to 1,000 subscribers, then a sustained rate with 10 % failing."""
    credit.log(f"notify fan-out to {notify.SUBSCRIBERS:,} webhooks")
    return await notify.scenarios(stack, token(stack.url("gateway")))


async def import_scenarios(stack: Stack) -> imports.ImportFigures:
    """A 50,000-row spreadsheet import through the gateway."""
    return await imports.scenarios(stack)


def main() -> None:
    """Start a stack, measure, print, save. BENCH_ONLY=registry, reads, credit, inspection,
    exchange, notify, imports, exports, evidence, frontends or lineage runs one part."""
    only = os.environ.get("BENCH_ONLY", "")
    stack = make_stack("bench")
    # The direct rows are the baseline: each service alone, called on its port, which the
    # gateway-only door (REQUIRE_GATEWAY) would refuse. Off here; an assertion that is sent
    # (the gateway's, the "direct + assertion" rows') is still checked, as in production.
    stack.env.update({f"{APPS[name][1]}REQUIRE_GATEWAY": "false" for name in SERVICES})
    results: list[Result] = []
    figures: list[credit.RescoreFigures] = []
    storm: credit.StormFigures | None = None
    draw: inspection.DrawFigures | None = None
    exchanged: exchange.ExchangeFigures | None = None
    tracing: lineage.LineageFigures | None = None
    fanout: notify.FanoutFigures | None = None
    imported: imports.ImportFigures | None = None
    exported: exports.ExportFigures | None = None
    uploaded: evidence.EvidenceFigures | None = None
    read_path: list[reads.ReadFigures] | None = None
    fronted: frontends.FrontendFigures | None = None
    os.environ.setdefault("NOTIFY_WEBHOOK_ALLOW", notify.ALLOW)  # the local receiver
    sink = None
    if os.environ.get("BENCH_TRACING") == "1":  # every process exports its spans
        sink, endpoint = otlp_sink.start()
        stack.env.update({"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint})
    failures: list[str] = []

    def part(name: str, run):  # type: ignore[no-untyped-def]
        """One part; a failure is reported in the table and the others still run."""
        if only not in ("", name):
            return None
        try:
            return asyncio.run(run(stack))
        except Exception as exc:
            failures.append(f"{name}: {type(exc).__name__}: {str(exc)[:300]}")
            print(f"… {failures[-1]}", file=sys.stderr, flush=True)
            return None

    try:
        print("starting a seeded stack …", file=sys.stderr, flush=True)
        stack.start(seed=True)
        results += part("registry", scenarios) or []
        read_path = part("reads", reads.scenarios)
        if credited := part("credit", credit_scenarios):
            score_reads, figures, storm = credited
            results += score_reads
        if inspected := part("inspection", inspection_scenarios):
            pulls, draw = inspected
            results += pulls
        # before notify: its 1,000 webhook subscriptions outlive its receiver, and every
        # registration after it would be delivered to them
        exchanged = part("exchange", exchange.scenarios)
        fanout = part("notify", notify_scenarios)
        imported = part("imports", import_scenarios)
        exported = part("exports", exports.scenarios)
        uploaded = part("evidence", evidence.scenarios)
        fronted = part("frontends", frontends.scenarios)
        if traced := part("lineage", lineage_scenarios):
            traces, tracing = traced
            results += traces
    finally:
        stack.stop()
        if sink is not None:
            sink.terminate()
        # a bench stack holds gigabytes (a million lineage events): the figures are kept,
        # the data is not
        shutil.rmtree(stack.data_dir, ignore_errors=True)
    text = "\n".join(
        [report(results)]
        + (reads.report(read_path) if read_path else [])
        + (credit.report(figures, storm) if figures else [])
        + (inspection.report(draw) if draw else [])
        + (exchange.report(exchanged) if exchanged else [])
        + (lineage.report(tracing) if tracing else [])
        + (notify.report(fanout) if fanout else [])
        + (imports.report(imported) if imported else [])
        + (exports.report(exported) if exported else [])
        + (evidence.report(uploaded) if uploaded else [])
        + (frontends.report(fronted) if fronted else [])
        + (["", "Parts that failed:", *[f"- {f}" for f in failures]] if failures else [])
    )
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(
        json.dumps(
            {
                "http": [asdict(r) for r in results],
                "reads": [asdict(f) for f in read_path] if read_path else None,
                "rescoring": [asdict(f) for f in figures],
                "storm": asdict(storm) if storm else None,
                "draw": asdict(draw) if draw else None,
                "exchange": asdict(exchanged) if exchanged else None,
                "lineage": asdict(tracing) | {"events_per_s": tracing.events_per_s}
                if tracing
                else None,
                "notify": asdict(fanout) | {"deliveries_per_s": fanout.deliveries_per_s}
                if fanout
                else None,
                "imports": asdict(imported) | {"rows_per_s": imported.rows_per_s}
                if imported
                else None,
                "exports": asdict(exported) | {"rows_per_s": exported.rows_per_s}
                if exported
                else None,
                "evidence": asdict(uploaded) if uploaded else None,
                "frontends": asdict(fronted) if fronted else None,
                "failures": failures,
            },
            indent=2,
        )
    )
    (RESULTS / "latest.md").write_text(text + "\n")
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    import uvloop

    uvloop.install()
    main()
