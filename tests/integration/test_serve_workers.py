"""deploy/serve.py: each worker listens on a socket of its own, so a burst of connections is
spread over the workers instead of going mostly to the one that woke first."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deploy.processes import free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CONNECTIONS = 64


async def pid_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers with the worker's pid."""
    if scope["type"] != "http":
        return
    body = str(os.getpid()).encode()
    headers = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _listeners(port: int) -> int:
    """Listening TCP sockets on `port` (state 0A in /proc/net/tcp)."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        if state == "0A" and int(local.split(":")[1], 16) == port:
            count += 1
    return count


def _ask(conn: socket.socket) -> str:
    conn.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data or not data.split(b"\r\n\r\n", 1)[1]:
        data += conn.recv(4096)
    return data.split(b"\r\n\r\n", 1)[1].decode()


@pytest.fixture(scope="module")
def served() -> Iterator[int]:
    port = free_port()
    app = "tests.integration.test_serve_workers:pid_app"
    flags = ["--port", str(port), "--workers", "2", "--no-access-log"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "deploy.serve", app, *flags],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        pids: set[str] = set()
        while len(pids) < 2:  # both workers up: each answered once
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "workers not up"
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
                    pids.add(_ask(conn))
            except OSError:
                time.sleep(0.2)
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)


def test_each_worker_listens_on_a_socket_of_its_own(served: int) -> None:
    assert _listeners(served) == 2  # uvicorn's --workers shares one


def test_a_burst_of_connections_is_spread_over_the_workers(served: int) -> None:
    # all connected before any is answered, as a load generator or a pool opens them
    conns = [
        socket.create_connection(("127.0.0.1", served), timeout=10) for _ in range(CONNECTIONS)
    ]
    try:
        answered = Counter(_ask(conn) for conn in conns)
    finally:
        for conn in conns:
            conn.close()
    assert len(answered) == 2, answered
    # the kernel hashes each connection to a socket: a split past 52/12 is odds of 1 in 10^6
    assert min(answered.values()) >= 12, answered


def test_a_port_already_served_is_refused_not_shared(served: int) -> None:
    app = "tests.integration.test_serve_workers:pid_app"
    flags = ["--port", str(served), "--workers", "2", "--no-access-log"]
    second = subprocess.run(
        [sys.executable, "-m", "deploy.serve", app, *flags],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 3, second.stderr  # uvicorn's startup failure
    assert "cannot listen" in second.stderr
    assert _listeners(served) == 2  # the first one's, alone
