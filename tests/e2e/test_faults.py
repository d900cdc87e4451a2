"""Outages on a stack of their own: PostgreSQL down → 503; NATS down → backlog, nothing lost."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from deploy.launcher import Stack
from tests.helpers import (
    enterprise_body,
    new_uscc,
    running_stack,
    sql,
    stream_events,
    token,
    wait_until,
)


@pytest.fixture(scope="module")
def faulty() -> Iterator[Stack]:
    with running_stack("faults", seed=False) as s:
        yield s


@pytest.fixture(scope="module")
def client(faulty: Stack) -> Iterator[httpx.Client]:
    bearer = token(faulty.url("gateway"))
    with httpx.Client(
        base_url=faulty.url("gateway"), timeout=30, headers={"Authorization": f"Bearer {bearer}"}
    ) as c:
        yield c


def test_nats_down_writes_succeed_and_each_event_lands_once(
    faulty: Stack, client: httpx.Client
) -> None:
    assert faulty.nats is not None
    faulty.nats.stop()
    usccs = [new_uscc() for _ in range(25)]
    try:
        for uscc in usccs:
            response = client.post("/v1/enterprises", json=enterprise_body(uscc))
            assert response.status_code == 201, response.text
        backlog = sql(faulty, "registry", "SELECT count(*) FROM outbox WHERE sent_at IS NULL")[0][0]
        assert backlog >= len(usccs)
        ready = httpx.get(f"{faulty.url('registry')}/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["nats"] == "unavailable"
    finally:
        faulty.nats.start()
    wait_until(
        lambda: (
            sql(faulty, "registry", "SELECT count(*) FROM outbox WHERE sent_at IS NULL")[0][0] == 0
        ),
        timeout=60,
        what="outbox drained",
    )
    events = stream_events(faulty, "registry.enterprise.registered")
    landed = [e["subject"] for e in events if e["subject"] in set(usccs)]
    assert sorted(landed) == sorted(usccs), "every registration exactly once on the stream"


def test_republishing_an_unmarked_batch_is_deduplicated(
    faulty: Stack, client: httpx.Client
) -> None:
    """The relay died after publishing but before marking sent: the stream keeps one copy."""
    uscc = new_uscc()
    client.post("/v1/enterprises", json=enterprise_body(uscc)).raise_for_status()
    wait_until(
        lambda: (
            sql(faulty, "registry", "SELECT count(*) FROM outbox WHERE sent_at IS NULL")[0][0] == 0
        ),
        what="sent",
    )
    sql(faulty, "registry", "UPDATE outbox SET sent_at = NULL WHERE payload->>'subject' = $1", uscc)
    wait_until(
        lambda: (
            sql(faulty, "registry", "SELECT count(*) FROM outbox WHERE sent_at IS NULL")[0][0] == 0
        ),
        what="re-sent",
    )
    copies = [
        e for e in stream_events(faulty, "registry.enterprise.registered") if e["subject"] == uscc
    ]
    assert len(copies) == 1


def test_postgres_down_is_503_not_500_and_service_recovers(
    faulty: Stack, client: httpx.Client
) -> None:
    assert faulty.pg is not None
    faulty.pg.stop()
    try:
        for attempt in range(3):
            started = time.monotonic()
            read = client.get("/v1/zones")
            write = client.post("/v1/enterprises", json=enterprise_body(new_uscc()))
            for response in (read, write):
                assert response.status_code == 503, (attempt, response.status_code, response.text)
                assert response.headers["content-type"].startswith("application/problem+json")
                assert response.json()["type"] == "/problems/service-unavailable"
            assert time.monotonic() - started < 15, "an outage must answer fast, not hang"
        ready = httpx.get(f"{faulty.url('registry')}/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["database"] != "ok"
    finally:
        faulty.pg.start()
    recovered = wait_until(
        lambda: client.get("/v1/zones").status_code == 200, timeout=30, what="recovery"
    )
    assert recovered
    created = client.post("/v1/enterprises", json=enterprise_body(new_uscc()))
    assert created.status_code == 201


def test_demo_client_exists_only_in_the_dev_profile(faulty: Stack) -> None:
    """The same gateway in the prod profile removes demo-admin, even from a dev database."""
    import subprocess
    import sys

    from deploy.processes import free_port, wait_for_port
    from gateway.auth.tokens import new_private_key_pem

    port = free_port()
    env = {
        **faulty.service_env("gateway"),
        "GATEWAY_PROFILE": "prod",
        "GATEWAY_PORT": str(port),
        "GATEWAY_SIGNING_KEY_PEM": new_private_key_pem(),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "gateway.main:app", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=30)
        response = httpx.post(
            f"http://127.0.0.1:{port}/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "demo-admin",
                "client_secret": "demo-admin-secret",
            },
        )
        assert response.status_code == 401
    finally:
        proc.terminate()
        proc.wait(10)


def test_upstream_down_is_a_prompt_503_and_readiness_says_so(
    faulty: Stack, client: httpx.Client
) -> None:
    """The registry process stopped: the gateway answers its routes with 503 problems, fast."""
    faulty.stop_service("registry")
    try:
        started = time.monotonic()
        for path in ("/v1/zones", "/v1/enterprises"):
            response = client.get(path)
            assert response.status_code == 503, response.text
            assert response.json()["type"] == "/problems/service-unavailable"
            assert response.json()["service"] == "registry"
        assert time.monotonic() - started < 10
        ready = httpx.get(f"{faulty.url('gateway')}/readyz").json()
        assert ready["dependencies"]["registry"] == "unavailable"
        profile = client.get(f"/v1/enterprises/{new_uscc()}/profile")
        assert profile.status_code == 503
    finally:
        faulty.start_service("registry")
    assert client.get("/v1/zones").status_code == 200
