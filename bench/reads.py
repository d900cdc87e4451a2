"""The read path's figures for `make bench` (#24): the reads agencies' systems, the dashboard
and the portal make most, measured with wrk (a C load generator, so the generator's own cost
stays off the stack's two cores as far as it can) straight to the owning service, through the
gateway, and through a plain nginx reverse proxy in front of the same services: the baseline
for what any hop costs.

Rows: the framework's floor (`GET /livez`, direct only), a key lookup in registry
(`/v1/enterprises/{uscc}`) and in credit (`/v1/credit/enterprises/{uscc}`), and the two
lists a dashboard page opens with (`/v1/enterprises?limit=20`, `/v1/zones?limit=20`, ten
zones with their stage tasks). Each at one connection (the hop's latency) and at
`BENCH_CONNECTIONS` (throughput; p99), closed loop, `BENCH_READS_SECONDS` after a one-second
warm-up run that is not counted. Key lookups pick a seeded enterprise at random per request.
Stack CPU per request: every process of the stack over the measured run (wrk is not one).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench import exchange
from bench.credit import drained, log
from deploy.launcher import Stack
from deploy.processes import free_port, wait_for_port
from tests.helpers import token

CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "64"))
SECONDS = float(os.environ.get("BENCH_READS_SECONDS", "5"))
# (row, service, path; {uscc} is filled per request)
ROWS = (
    ("livez (floor)", "registry", "/livez"),
    ("enterprise by USCC", "registry", "/v1/enterprises/{uscc}"),
    ("credit by USCC", "credit", "/v1/credit/enterprises/{uscc}"),
    ("enterprises ?limit=20", "registry", "/v1/enterprises?limit=20"),
    ("zones ?limit=20", "registry", "/v1/zones?limit=20"),
)
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
NAN = float("nan")


@dataclass
class ReadFigures:
    """One row, one way in, one concurrency."""

    row: str
    via: str
    connections: int
    requests: int
    errors: int
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float


def _apt(package: str) -> str | None:
    """Debian's `package` binary, installed here if missing (as the registry part's nginx)."""
    if shutil.which(package) is None:
        log(f"installing {package} (apt-get)")
        subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", package],
            check=False,
            capture_output=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    return shutil.which(package) or (
        f"/usr/sbin/{package}" if Path(f"/usr/sbin/{package}").exists() else None
    )


def start_nginx(stack: Stack) -> tuple[subprocess.Popen[bytes], str] | None:
    """nginx in front of registry and credit, by the gateway's prefixes for these rows."""
    binary = _apt("nginx")
    if binary is None:
        return None
    port = free_port()
    prefix = stack.data_dir / "nginx-reads"
    (prefix / "logs").mkdir(parents=True, exist_ok=True)
    registry = stack.url("registry").removeprefix("http://")
    credit = stack.url("credit").removeprefix("http://")
    proxy = 'proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $host;'
    (prefix / "nginx.conf").write_text(f"""
worker_processes auto;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  upstream registry {{ server {registry}; keepalive 64; }}
  upstream credit {{ server {credit}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{port};
    location /v1/credit/ {{ proxy_pass http://credit; {proxy} }}
    location / {{ proxy_pass http://registry; {proxy} }}
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


def _script(folder: Path, paths: list[str]) -> Path:
    """A wrk script sending GET to one of `paths` at random per request."""
    listed = ",\n".join(f'  "{p}"' for p in paths)
    script = folder / f"paths-{len(paths)}-{abs(hash(tuple(paths)))}.lua"
    script.write_text(
        f"paths = {{\n{listed}\n}}\n"
        "request = function()\n"
        '  return wrk.format("GET", paths[math.random(#paths)])\n'
        "end\n"
    )
    return script


def _ms(text: str) -> float:
    """wrk's `1.23ms`, `850.00us`, `1.02s`; NaN for what it prints with no answers."""
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(found[1]) * _UNITS[found[2]] if found else float("nan")


async def _wrk(
    wrk: str, base: str, script: Path, bearer: str, connections: int, seconds: float
) -> tuple[int, int, float, float, float]:
    """(requests, errors, req/s, p50 ms, p99 ms) of one wrk run."""
    proc = await asyncio.create_subprocess_exec(
        wrk,
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "--timeout",  # a queued request is a slow answer, not an error (wrk's default: 2 s)
        "30s",
        "-H",
        f"Authorization: Bearer {bearer}",
        "-s",
        str(script),
        base,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await proc.communicate()
    text = out.decode()
    if proc.returncode != 0 or "Requests/sec" not in text:
        raise RuntimeError(f"wrk failed: {err.decode()[:300]} {text[:300]}")
    requests = int(re.search(r"(\d+) requests in", text).group(1))  # type: ignore[union-attr]
    errors = sum(
        int(n)
        for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", text)
        + re.findall(r"(?:connect|read|write|timeout) (\d+)", text)
    )
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    p50, p99 = (
        _ms(m[1]) if (m := re.search(rf"^\s*{q}%\s+(\S+)", text, re.M)) else NAN for q in (50, 99)
    )
    return requests, errors, rps, p50, p99


async def scenarios(stack: Stack) -> list[ReadFigures]:
    """Every row, direct, via the gateway and via nginx, at 1 and `CONNECTIONS`."""
    wrk = _apt("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed and apt-get could not install it")
    bearer = token(stack.url("gateway"))
    headers = {"Authorization": f"Bearer {bearer}"}
    url = f"{stack.url('gateway')}/v1/enterprises?limit=200"
    async with aiohttp.ClientSession(headers=headers) as s, s.get(url) as r:
        usccs = [e["uscc"] for e in (await r.json())["items"]]
    nginx = start_nginx(stack)
    figures = []
    folder = Path(tempfile.mkdtemp(prefix="bench-reads-"))
    try:
        for row, service, path in ROWS:
            script = _script(folder, [path.format(uscc=u) for u in usccs])
            ways = {"direct": stack.url(service)}
            if not path.startswith("/livez"):
                ways["via gateway"] = stack.url("gateway")
                if nginx is not None:
                    ways["via nginx"] = nginx[1]
            for connections in (1, CONNECTIONS):
                for via, base in ways.items():
                    log(f"reads: {row} {via} @{connections}")
                    await drained(stack)
                    await _wrk(wrk, base, script, bearer, connections, 1)  # warm-up
                    before = sum(exchange.stack_cpu(stack).values())
                    requests, errors, rps, p50, p99 = await _wrk(
                        wrk, base, script, bearer, connections, SECONDS
                    )
                    used = sum(exchange.stack_cpu(stack).values()) - before
                    figures.append(
                        ReadFigures(
                            row, via, connections, requests, errors, rps, p50, p99,
                            used / requests * 1000 if requests else NAN,
                        )
                    )  # fmt: skip
    finally:
        if nginx is not None:
            nginx[0].terminate()
            nginx[0].wait(10)
        shutil.rmtree(folder, ignore_errors=True)
    return figures


def report(figures: list[ReadFigures]) -> list[str]:
    """One Markdown table: a row per request and concurrency, the three ways side by side."""
    by = {(f.row, f.connections, f.via): f for f in figures}
    lines = [
        "",
        f"read path (wrk, closed loop, {SECONDS:.0f} s per cell; req/s · p50 ms · p99 ms · "
        "stack CPU ms/req; gateway and nginx: × of direct throughput, + p50 over direct)",
        "",
        "| request | @ | direct | via gateway | via nginx |",
        "|---|---:|---:|---:|---:|",
    ]
    for row, _, _ in ROWS:
        for connections in sorted({f.connections for f in figures}):
            direct = by.get((row, connections, "direct"))
            if direct is None:
                continue
            cells = [
                f"{direct.rps:,.0f} · {direct.p50_ms:.2f} · {direct.p99_ms:.1f} · "
                f"{direct.cpu_ms:.2f}" + (f" ({direct.errors} errors)" if direct.errors else "")
            ]
            for via in ("via gateway", "via nginx"):
                other = by.get((row, connections, via))
                cells.append(
                    "—"
                    if other is None
                    else f"{other.rps:,.0f} ({other.rps / direct.rps:.2f}×) · "
                    f"{other.p50_ms:.2f} ({other.p50_ms - direct.p50_ms:+.2f}) · "
                    f"{other.p99_ms:.1f} · {other.cpu_ms:.2f}"
                    + (f" ({other.errors} errors)" if other.errors else "")
                )
            lines.append(f"| `{row}` | {connections} | " + " | ".join(cells) + " |")
    return lines
