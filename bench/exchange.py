"""Exchange figures for `make bench`: what one registration costs the whole stack, and how
soon its consequence comes back through NATS. Registrations go through the gateway
(POST /v1/enterprises), open loop: sent on schedule, not waiting for earlier answers.

  1. stack CPU per registration: BENCH_EXCHANGE_CPU_RATE/s (40) for
     BENCH_EXCHANGE_CPU_SECONDS (20), then until every outbox is sent and every durable
     consumer has caught up; the CPU time of each process of the stack (/proc/<pid>/stat of
     every descendant of the bench process under postgres, nats-server or a service's
     uvicorn master) over that window, per registration; and the same less the stack's CPU
     rate in an idle window of the same length just before (over the loaded window's length);
  2. BENCH_EXCHANGE_RATES (150,200) registrations/s for BENCH_EXCHANGE_SECONDS (30): 201s
     and the rest, and the time from each 201 to a JetStream subscriber seeing that
     enterprise's `credit.level.changed` (registry → outbox → NATS → credit → outbox → NATS);
     201s whose event is not seen BENCH_EXCHANGE_WAIT_S (60) after the last answer are counted.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass

import aiohttp
from nats.js.api import DeliverPolicy

from bench.credit import drained, log, nats_client
from deploy.launcher import Stack
from deploy.nats_auth import observer_consumer
from kit.uscc import generate
from tests.helpers import enterprise_body, token

CPU_RATE = float(os.environ.get("BENCH_EXCHANGE_CPU_RATE", "40"))
CPU_SECONDS = float(os.environ.get("BENCH_EXCHANGE_CPU_SECONDS", "20"))
RATES = [float(r) for r in os.environ.get("BENCH_EXCHANGE_RATES", "150,200").split(",")]
SECONDS = float(os.environ.get("BENCH_EXCHANGE_SECONDS", "30"))
WAIT_S = float(os.environ.get("BENCH_EXCHANGE_WAIT_S", "60"))
CONNECTIONS = 256  # the generator's ceiling on requests in flight; more wait in aiohttp
PROCESSES = ["gateway", "registry", "credit", "inspection", "notify", "postgres", "nats"]
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class CpuFigures:
    """Stack CPU per registration; the dicts are by process, plus "total"."""

    rate: float
    seconds: float
    registrations: int  # answered 201
    others: dict[str, int]  # any other answer (or exception) and its count
    window_s: float  # first request to every consumer caught up
    idle_s: float
    cpu_s: dict[str, float]  # over the window
    idle_cpu_s: dict[str, float]  # over the idle window
    ms: dict[str, float]  # CPU ms per registration
    corrected_ms: dict[str, float]  # less the idle rate over the window


@dataclass
class SustainedFigures:
    """Registrations at a steady rate, and their `credit.level.changed` events."""

    rate: float
    seconds: float
    sent: int
    created: int  # answered 201
    others: dict[str, int]  # any other answer (or exception) and its count
    answered_s: float  # first request to last answer
    request_p50_ms: float  # request to 201
    request_p99_ms: float
    p50_ms: float  # 201 to the event seen
    p99_ms: float
    unseen: int  # 201s whose event did not arrive within WAIT_S after the last answer


@dataclass
class ExchangeFigures:
    cpu: CpuFigures
    sustained: list[SustainedFigures]


def _ms(values: list[float], q: float) -> float:
    """Nearest-rank percentile of seconds, in ms."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] * 1000


def _problem(body: bytes) -> str:
    """A problem's detail (which says who gave up, and why), or the start of the body."""
    try:
        return str(json.loads(body)["detail"])[:80]
    except (ValueError, KeyError, TypeError):
        return body[:80].decode(errors="replace")


def process_tree() -> tuple[dict[int, float], dict[int, list[int]]]:
    """Every process's CPU seconds so far and its children, from /proc: utime + stime
    (fields 14, 15), and cutime + cstime (16, 17): what children that exited and were
    reaped used (postgres backends, autovacuum workers, a browser's renderers)."""
    cpu: dict[int, float] = {}
    children: dict[int, list[int]] = defaultdict(list)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                text = f.read()
        except OSError:
            continue  # gone
        fields = text[text.rindex(")") + 2 :].split()  # fields[0] is field 3; names hold spaces
        cpu[int(entry.name)] = sum(map(int, fields[11:15])) / TICKS
        children[int(fields[1])].append(int(entry.name))
    return cpu, children


def stack_roots(stack: Stack) -> dict[int, str]:
    """The stack's own processes by pid (services, gateway, PostgreSQL, NATS): its roots."""
    roots = {proc.pid: name for name, proc in stack.procs.items()}
    for name, server in (("postgres", stack.pg), ("nats", stack.nats)):
        if server is not None and server.proc is not None:
            roots[server.proc.pid] = name
    return roots


def stack_cpu(stack: Stack) -> dict[str, float]:
    """CPU seconds used so far by each part of the stack: every process descending from the
    bench process, counted under the stack process it descends from (anything else the bench
    started is not the stack)."""
    used, children = process_tree()
    roots = stack_roots(stack)
    cpu = dict.fromkeys(PROCESSES, 0.0)
    todo = [(pid, roots[pid]) for pid in children[os.getpid()] if pid in roots]
    while todo:
        pid, name = todo.pop()
        cpu[name] = cpu.get(name, 0.0) + used[pid]
        todo += [(child, name) for child in children[pid]]
    return cpu


def _minus(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    used = {name: round(after[name] - before.get(name, 0.0), 2) for name in after}
    return used | {"total": round(sum(used.values()), 2)}


def gateway(stack: Stack) -> aiohttp.ClientSession:
    """A session on the gateway with a fresh token (they last 15 minutes)."""
    return aiohttp.ClientSession(
        stack.url("gateway"),
        headers={"Authorization": f"Bearer {token(stack.url('gateway'))}"},
        connector=aiohttp.TCPConnector(limit=CONNECTIONS),
    )


async def register(
    stack: Stack, rate: float, seconds: float, rng: random.Random
) -> tuple[Counter[str], dict[str, float], list[float]]:
    """POST /v1/enterprises at a steady `rate` for `seconds`, open loop: the answers counted,
    the monotonic time of each 201 by USCC, and each 201's request latency."""
    answers: Counter[str] = Counter()
    created: dict[str, float] = {}
    latencies: list[float] = []
    async with gateway(stack) as session:

        async def one(uscc: str) -> None:
            sent = time.monotonic()
            try:
                async with session.post("/v1/enterprises", json=enterprise_body(uscc)) as r:
                    body = await r.read()
                    answer = str(r.status) if r.status == 201 else f"{r.status} {_problem(body)}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                answer = type(exc).__name__
            answers[answer] += 1
            if answer == "201":
                created[uscc] = time.monotonic()
                latencies.append(created[uscc] - sent)

        tasks = []
        start = time.monotonic()
        for i in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
            tasks.append(asyncio.create_task(one(generate(rng))))
        await asyncio.gather(*tasks)
    return answers, created, latencies


async def cpu_per_registration(stack: Stack, rng: random.Random) -> CpuFigures:
    """An idle window, then a steady load until the stack has caught up with it."""
    await drained(stack)
    log(f"exchange: idle stack CPU for {CPU_SECONDS:.0f} s")
    before, started = stack_cpu(stack), time.monotonic()
    await asyncio.sleep(CPU_SECONDS)
    idle = _minus(stack_cpu(stack), before)
    idle_s = time.monotonic() - started
    log(f"exchange: stack CPU at {CPU_RATE:.0f} registrations/s for {CPU_SECONDS:.0f} s")
    before, started = stack_cpu(stack), time.monotonic()
    answers, created, _ = await register(stack, CPU_RATE, CPU_SECONDS, rng)
    await drained(stack)
    used = _minus(stack_cpu(stack), before)
    window_s = time.monotonic() - started
    n = max(1, len(created))
    return CpuFigures(
        rate=CPU_RATE,
        seconds=CPU_SECONDS,
        registrations=len(created),
        others={answer: n for answer, n in answers.items() if answer != "201"},
        window_s=window_s,
        idle_s=idle_s,
        cpu_s=used,
        idle_cpu_s=idle,
        ms={name: round(s * 1000 / n, 3) for name, s in used.items()},
        corrected_ms={
            name: round((s - idle[name] * window_s / idle_s) * 1000 / n, 3)
            for name, s in used.items()
        },
    )


async def sustained(stack: Stack, rate: float, rng: random.Random) -> SustainedFigures:
    """`rate` registrations/s for SECONDS; each 201 to its `credit.level.changed` seen."""
    await drained(stack)
    log(f"exchange: {rate:.0f} registrations/s for {SECONDS:.0f} s")
    seen: dict[str, float] = {}

    async def on_message(msg) -> None:  # type: ignore[no-untyped-def]
        seen.setdefault(json.loads(msg.data)["data"]["uscc"], time.monotonic())
        await msg.ack()

    nc = await nats_client(stack)
    try:
        sub = await nc.jetstream().subscribe(
            "credit.level.changed",
            cb=on_message,
            stream="CREDIT",
            config=observer_consumer(deliver_policy=DeliverPolicy.NEW),
            manual_ack=True,
        )
        started = time.monotonic()
        answers, created, latencies = await register(stack, rate, SECONDS, rng)
        answered_s = time.monotonic() - started
        deadline = time.monotonic() + WAIT_S
        while not created.keys() <= seen.keys() and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        await sub.unsubscribe()
    finally:
        await nc.close()
    delays = [seen[uscc] - at for uscc, at in created.items() if uscc in seen]
    return SustainedFigures(
        rate=rate,
        seconds=SECONDS,
        sent=answers.total(),
        created=len(created),
        others={answer: n for answer, n in answers.items() if answer != "201"},
        answered_s=answered_s,
        request_p50_ms=statistics.median(latencies) * 1000 if latencies else float("nan"),
        request_p99_ms=_ms(latencies, 0.99),
        p50_ms=statistics.median(delays) * 1000 if delays else float("nan"),
        p99_ms=_ms(delays, 0.99),
        unseen=len(created) - len(delays),
    )


async def scenarios(stack: Stack) -> ExchangeFigures:
    """CPU per registration, then each sustained rate, each from a caught-up stack."""
    rng = random.Random(29)
    cpu = await cpu_per_registration(stack, rng)
    return ExchangeFigures(cpu, [await sustained(stack, rate, rng) for rate in RATES])


def report(figures: ExchangeFigures) -> list[str]:
    """Markdown rows."""
    cpu = figures.cpu
    lines = [
        "",
        f"exchange: stack CPU per registration via gateway, {cpu.rate:.0f}/s for "
        f"{cpu.seconds:.0f} s and until caught up ({cpu.window_s:.1f} s; {cpu.registrations} "
        f"answered 201, {sum(cpu.others.values())} not), against {cpu.idle_s:.1f} s idle just before",
        "",
        "| process | idle CPU s | loaded CPU s | ms per registration | idle-corrected ms |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {name} | {cpu.idle_cpu_s[name]:.2f} | {cpu.cpu_s[name]:.2f} | "
        f"{cpu.ms[name]:.2f} | {cpu.corrected_ms[name]:.2f} |"
        for name in cpu.cpu_s
    ]
    lines += [
        "",
        f"exchange: registrations via gateway, 201 to `credit.level.changed` seen on NATS "
        f"(201/s: over first request to last answer; not seen: {WAIT_S:.0f} s after it)",
        "",
        "| rate/s | s | sent | 201 | 201/s | other | request p50 ms | request p99 ms "
        "| event p50 ms | event p99 ms | not seen |",
        "|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {s.rate:.0f} | {s.seconds:.0f} | {s.sent} | {s.created} | "
        f"{s.created / s.answered_s:.0f} | "
        f"{', '.join(f'{n} × {a}' for a, n in s.others.items()) or 0} | "
        f"{s.request_p50_ms:.1f} | {s.request_p99_ms:.1f} | {s.p50_ms:.1f} | "
        f"{s.p99_ms:.1f} | {s.unseen} |"
        for s in figures.sustained
    ]
    return lines
