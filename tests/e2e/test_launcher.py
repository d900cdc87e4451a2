"""`make run` as a user sees it: banner, a working gateway, clean stop, data kept, external servers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from deploy import pg_auth, pii_keys
from deploy.launcher import Stack
from deploy.processes import free_port
from tests.helpers import temp_dir, token

ROOT = Path(__file__).resolve().parents[2]


def _launch(env: dict[str, str]) -> tuple[subprocess.Popen[str], list[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "deploy.launcher"],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 120
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if line.startswith("Ctrl-C stops everything"):
            return proc, lines
    proc.kill()
    raise AssertionError("launcher did not come up:\n" + "\n".join(lines))


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    return out


def _port_closed(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _local_env(prefix: str) -> tuple[dict[str, str], tuple[int, int, int]]:
    """Environment for a launcher with embedded servers on free ports in a new folder."""
    gw, pg, nats_port = free_port(), free_port(), free_port()
    while not _port_closed(gw + 1):
        gw = free_port()
    env = {
        "ZONE_DATA_DIR": str(temp_dir(prefix)),
        "ZONE_GATEWAY_PORT": str(gw),
        "ZONE_PG_PORT": str(pg),
        "ZONE_NATS_PORT": str(nats_port),
        "ZONE_SEED": "0",
        "ZONE_WORKERS": "1",
    }
    return env, (gw, pg, nats_port)


def _refused_without_password(port: int) -> None:
    """A local user who has not the password file cannot connect."""
    import asyncio

    import asyncpg
    import pytest

    with pytest.raises(asyncpg.InvalidPasswordError):
        asyncio.run(asyncpg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", timeout=10))


def test_run_serves_then_stops_everything_and_keeps_data() -> None:
    env, (gw, pg, nats_port) = _local_env("zone-launch-")
    proc, banner = _launch(env)
    text = "\n".join(banner)
    assert f"gateway     http://127.0.0.1:{gw}" in text
    assert f"registry    http://127.0.0.1:{gw + 1}" in text
    assert f"127.0.0.1:{pg}" in text and f"nats://127.0.0.1:{nats_port}" in text
    assert "demo-admin / demo-admin-secret" in text
    # PostgreSQL asks for the password in the data folder, which the banner names, not shows
    secret = Path(env["ZONE_DATA_DIR"]) / "postgres-password"
    password = secret.read_text().strip()
    assert secret.stat().st_mode & 0o777 == 0o600
    assert f"postgres:…@127.0.0.1:{pg}" in text and str(secret) in text and password not in text
    _refused_without_password(pg)
    base = f"http://127.0.0.1:{gw}"
    headers = {"Authorization": f"Bearer {token(base)}"}
    created = httpx.post(
        f"{base}/v1/zones",
        headers=headers,
        json={
            "code": "kept-zone",
            "name_zh": "保留",
            "name_en": "Kept",
            "industry": "molds",
            "level": "provincial",
        },
    )
    assert created.status_code == 201
    assert "stopped." in _stop(proc)
    for port in (gw, gw + 1, pg, nats_port):
        assert _port_closed(port), f"port {port} still open after stop"

    proc, _ = _launch(env)  # second run reuses the data and the password
    try:
        assert secret.read_text().strip() == password
        _refused_without_password(pg)
        again = httpx.get(
            f"{base}/v1/zones/kept-zone", headers={"Authorization": f"Bearer {token(base)}"}
        )
        assert again.status_code == 200
    finally:
        _stop(proc)


def test_run_against_external_postgres_and_nats(stack: Stack) -> None:
    """ZONE_DATABASE_URL and ZONE_NATS_URL: no embedded servers are started."""
    gw = free_port()
    while not _port_closed(gw + 1):
        gw = free_port()
    data = str(temp_dir("zone-ext-"))
    proc, banner = _launch(
        {
            "ZONE_DATA_DIR": data,
            "ZONE_GATEWAY_PORT": str(gw),
            "ZONE_SEED": "0",
            "ZONE_WORKERS": "1",
            "ZONE_DATABASE_URL": stack.pg_root_url,
            "ZONE_NATS_URL": stack.nats_client_url,
            "ZONE_NATS_CREDENTIALS": str(stack.nats_credentials),
            # the databases' encrypted columns (the gateway's signing key among them) are
            # under the shared stack's keys, as a deployment's are under its own
            "ZONE_PII_KEYS_FILE": str(pii_keys.path_for(stack.data_dir)),
        }
    )
    try:
        text = "\n".join(banner)
        assert pg_auth.redact(stack.pg_root_url) in text and stack.pg_root_url not in text
        base = f"http://127.0.0.1:{gw}"
        zones = httpx.get(f"{base}/v1/zones", headers={"Authorization": f"Bearer {token(base)}"})
        assert (
            zones.status_code == 200 and len(zones.json()["items"]) >= 10
        )  # the shared, seeded database
        assert not (Path(data) / "postgres").exists() and not (Path(data) / "nats").exists()
    finally:
        _stop(proc)


def test_run_recovers_after_the_launcher_was_killed() -> None:
    """kill -9 of `make run` orphans PostgreSQL and NATS; the next run stops them and goes on."""
    env, (gw, pg, nats_port) = _local_env("zone-orphan-")
    proc, _ = _launch(env)
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(
        _port_closed(p) for p in (gw, gw + 1, pg, nats_port)
    ):
        time.sleep(0.2)
    assert all(_port_closed(p) for p in (gw, gw + 1, pg, nats_port)), (
        "children outlived the launcher"
    )
    proc, _ = _launch(env)
    try:
        base = f"http://127.0.0.1:{gw}"
        assert (
            httpx.get(
                f"{base}/v1/zones", headers={"Authorization": f"Bearer {token(base)}"}
            ).status_code
            == 200
        )
    finally:
        _stop(proc)
