"""Faults on a stack of their own, each under a steady write load through the gateway and each
ending with a count of the events produced, delivered and applied (printed; run with -s to
see them): a relay or a consumer killed with -9 at the worst moment, NATS stopped for 30 s,
a poison message, PostgreSQL restarted, a redelivery after the duplicate window."""

from __future__ import annotations

import json
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from deploy.launcher import Stack
from kit.events import EnterpriseRegistered, make_event
from tests.helpers import (
    FreshToken,
    enterprise_body,
    make_stack,
    metric,
    new_uscc,
    publish_raw,
    sql,
    stream_events,
    token,
    wait_until,
)

COUNTS: list[str] = []  # one line per settled fault; conftest prints them after the run

REGISTERED = "registry.enterprise.registered.v1"


@pytest.fixture(scope="module")
def faulty() -> Iterator[Stack]:
    stack = make_stack("faults")
    stack.workers = 1  # one process per service, so kill -9 kills the whole service
    try:
        stack.start(seed=False)
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def client(faulty: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=faulty.url("gateway"), timeout=30, auth=FreshToken(faulty.url("gateway"))
    ) as c:
        yield c


class Load:
    """A steady write load: enterprise registrations through the gateway, about `rate` a
    second on a thread of its own, each answer's status counted."""

    def __init__(self, stack: Stack, rate: float = 20):
        self.stack = stack
        self.interval = 1 / rate
        self.attempted: list[str] = []
        self.created: list[str] = []
        self.statuses: Counter[int | str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(60)

    def _run(self) -> None:
        bearer = token(self.stack.url("gateway"))
        with httpx.Client(
            base_url=self.stack.url("gateway"),
            timeout=30,
            headers={"Authorization": f"Bearer {bearer}"},
        ) as c:
            while not self._stop.is_set():
                uscc = new_uscc()
                self.attempted.append(uscc)
                try:
                    status: int | str = c.post(
                        "/v1/enterprises", json=enterprise_body(uscc)
                    ).status_code
                except httpx.TransportError as exc:
                    status = type(exc).__name__
                self.statuses[status] += 1
                if status == 201:
                    self.created.append(uscc)
                self._stop.wait(self.interval)

    def wait_for(self, created: int, timeout: float = 60) -> None:
        """Until this many more registrations succeeded."""
        target = len(self.created) + created
        wait_until(lambda: len(self.created) >= target, timeout=timeout, what=f"{created} writes")


def settle(stack: Stack, load: Load, fault: str) -> dict[str, int]:
    """Wait until the load's events are published and applied; count them, print the counts
    and check that every event was delivered and applied exactly once.

    produced: registrations committed in registry (its outbox rows; a write whose answer was
    lost in the fault may have committed too); delivered: their copies on the stream as the
    relay published them; applied: credit's inbox rows for them; duplicates: a second copy on
    the stream, a second inbox row or a second effect (credit announces a new enterprise's
    first level once)."""
    created, attempted = list(load.created), list(load.attempted)  # the load may go on
    assert created, "the load made no write at all"
    wait_until(
        lambda: (
            sql(
                stack,
                "registry",
                "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND payload->>'subject' = ANY($1)",
                attempted,
            )
            == [(0,)]
        ),
        timeout=120,
        interval=0.5,
        what="registry's outbox drained",
    )
    produced = dict(
        sql(
            stack,
            "registry",
            "SELECT id, payload->>'subject' FROM outbox WHERE type = $1 AND payload->>'subject'"
            " = ANY($2)",
            REGISTERED,
            attempted,
        )
    )
    assert set(created) <= set(produced.values()), "an acknowledged write was lost"
    ids = list(produced)

    def applied() -> int | None:
        (n,) = sql(
            stack,
            "credit",
            "SELECT count(*) FROM inbox WHERE consumer = 'credit-registry' AND event_id = ANY($1)",
            ids,
        )[0]
        return n if n == len(ids) else None

    wait_until(applied, timeout=120, interval=0.5, what="credit applied every event")
    copies = Counter(
        uuid.UUID(e["id"])
        for e in stream_events(stack, "registry.enterprise.registered")
        if e.get("id") and e["headers"].get("Nats-Msg-Id") == e["id"]
    )
    inbox = sql(
        stack,
        "credit",
        "SELECT count(*), count(DISTINCT event_id) FROM inbox WHERE consumer = 'credit-registry'"
        " AND event_id = ANY($1)",
        ids,
    )[0]
    effects = sql(
        stack,
        "credit",
        "SELECT count(*) FROM outbox WHERE type = 'credit.level.changed.v1'"
        " AND payload->>'subject' = ANY($1)",
        list(produced.values()),
    )[0][0]
    counts = {
        "produced": len(ids),
        "delivered": sum(copies[i] for i in ids),
        "applied": inbox[1],
        "duplicates": sum(max(copies[i] - 1, 0) for i in ids)
        + (inbox[0] - inbox[1])
        + (effects - len(ids)),
    }
    answers = ", ".join(f"{k}: {v}" for k, v in sorted(load.statuses.items(), key=str))
    COUNTS.append(
        f"fault [{fault}]: produced={counts['produced']} delivered={counts['delivered']}"
        f" applied={counts['applied']} duplicates={counts['duplicates']}"
        f" (requests {answers})"
    )
    print(f"\n{COUNTS[-1]}")
    assert counts["produced"] == counts["delivered"] == counts["applied"], counts
    assert counts["duplicates"] == 0, counts
    assert effects == len(ids)
    return counts


def killed(stack: Stack, service: str, failpoint: str) -> None:
    """Restart `service` with `failpoint` armed, wait until it kills itself with SIGKILL there
    (the load is running), then start it again as normal."""
    stack.stop_service(service)
    stack.start_service(service, env={"ZONE_FAILPOINTS": failpoint})
    proc = stack.procs[service]
    wait_until(lambda: proc.poll() is not None, timeout=90, what=f"{service} to reach {failpoint}")
    assert proc.returncode == -signal.SIGKILL, proc.returncode
    stack.start_service(service)


def test_relay_killed_after_publishing_before_marking_sent(faulty: Stack) -> None:
    """1. kill -9 in the relay between JetStream's acks and the commit that marks the rows:
    the restarted relay publishes them again and the stream's duplicate window drops them."""
    with Load(faulty) as load:
        load.wait_for(10)
        killed(faulty, "registry", "outbox.after_publish=10")
        load.wait_for(20)
    assert metric(faulty, "registry", "outbox_republished_total", service="registry") >= 1
    settle(faulty, load, "relay killed after publish, before marking sent")


def test_nats_down_for_30_s_under_load(faulty: Stack) -> None:
    """2. NATS stopped for 30 s: every write still succeeds, the backlog drains after."""
    assert faulty.nats is not None
    with Load(faulty) as load:
        load.wait_for(10)
        faulty.nats.stop()
        try:
            load.wait_for(20)
            ready = httpx.get(f"{faulty.url('registry')}/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["nats"] == "unavailable"
            time.sleep(30)
            backlog = sql(faulty, "registry", "SELECT count(*) FROM outbox WHERE sent_at IS NULL")
            assert backlog[0][0] >= 20
            # the metrics say so too: the backlog (measured every 2 s) and its age
            assert metric(faulty, "registry", "outbox_backlog", service="registry") >= 20
            assert (
                metric(faulty, "registry", "outbox_oldest_unsent_seconds", service="registry") > 20
            )
        finally:
            faulty.nats.start()
        load.wait_for(20)
    assert set(load.statuses) == {201}, load.statuses
    settle(faulty, load, "NATS stopped for 30 s")


def test_consumer_killed_after_commit_before_ack(faulty: Stack) -> None:
    """3. kill -9 in a consumer after its commit and before its acks: the server redelivers
    after the ack wait and the inbox turns each redelivery into a no-op."""
    with Load(faulty) as load:
        load.wait_for(10)
        killed(faulty, "credit", "inbox.after_commit=10")
        load.wait_for(20)

    def duplicates_refused() -> float:
        return metric(
            faulty,
            "credit",
            "consumer_messages_total",
            consumer="credit-registry",
            outcome="duplicate",
        )

    wait_until(duplicates_refused, timeout=90, interval=1, what="the redelivery refused")
    # measured: the runner measures its lag before its first fetch, so before the redelivery
    # (the series' 0 from the start is a placeholder any measurement replaces)
    wait_until(
        lambda: metric(faulty, "credit", "consumer_pending", consumer="credit-registry") == 0,
        timeout=60,
        what="credit's lag measured and back to 0",
    )
    settle(faulty, load, "consumer killed after commit, before ack")


def test_poison_messages_are_dead_lettered_and_the_consumers_go_on(
    faulty: Stack, client: httpx.Client
) -> None:
    """4. Poison: bytes that are no event (dead-lettered at once: retrying cannot help) and a
    valid event no consumer can store (an industry code longer than any column): retried with
    backoff, dead-lettered after `max_deliver` deliveries; the load's events keep flowing."""
    uscc = new_uscc()
    unstorable = make_event(
        source="/services/registry",
        type=REGISTERED,
        subject=uscc,
        data=EnterpriseRegistered(uscc=uscc, name="毒丸企业", industry="x" * 300),
    )
    with Load(faulty) as load:
        load.wait_for(5)
        publish_raw(faulty, "registry.enterprise.registered", b"\xff not an event", "poison-a")
        publish_raw(
            faulty,
            "registry.enterprise.registered",
            unstorable.model_dump_json().encode(),
            unstorable.id,
        )
        load.wait_for(20)

    def letters() -> list[dict] | None:  # type: ignore[type-arg]
        listed = client.get("/v1/dead-letters", params={"limit": 200})
        assert listed.status_code == 200, listed.text
        items = listed.json()["items"]
        mine = [d for d in items if d["consumer"] == "credit-registry"]
        kinds = {d["event_id"] for d in mine}
        return mine if unstorable.id in kinds and None in kinds else None

    mine = wait_until(letters, timeout=120, interval=1, what="both poison messages dead-lettered")
    by_id = {d["event_id"]: d for d in mine}
    assert by_id[None]["deliveries"] == 1 and "not a valid event" in by_id[None]["error"]
    assert by_id[unstorable.id]["deliveries"] == 5
    assert by_id[unstorable.id]["original_subject"] == "registry.enterprise.registered"
    assert sql(faulty, "credit", "SELECT count(*) FROM scores WHERE uscc = $1", uscc) == [(0,)]
    settle(faulty, load, "poison messages")


def test_postgres_restarted_under_load(faulty: Stack, client: httpx.Client) -> None:
    """5. PostgreSQL stopped and started again: 503 problems while it is away, never a 500;
    the services reconnect by themselves and the writes that succeeded all flow on."""
    assert faulty.pg is not None
    with Load(faulty) as load:
        load.wait_for(10)
        faulty.pg.stop()
        try:
            outage = Counter[int]()
            for _ in range(3):
                started = time.monotonic()
                for response in (
                    client.get("/v1/zones"),
                    client.post("/v1/enterprises", json=enterprise_body(new_uscc())),
                ):
                    outage[response.status_code] += 1
                    assert response.status_code == 503, response.text
                    assert response.headers["content-type"].startswith("application/problem+json")
                    assert response.json()["type"] == "/problems/service-unavailable"
                assert time.monotonic() - started < 15, "an outage must answer fast, not hang"
            ready = httpx.get(f"{faulty.url('registry')}/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["database"] != "ok"
            time.sleep(5)
        finally:
            faulty.pg.start()
        load.wait_for(20, timeout=90)
    assert load.statuses[503] > 0, load.statuses
    assert set(load.statuses) <= {201, 503}, load.statuses
    settle(faulty, load, "PostgreSQL restarted")


def test_a_redelivery_after_the_duplicate_window_is_refused_by_the_inbox(faulty: Stack) -> None:
    """6. Events the consumers applied arrive again with new message ids (as after the
    stream's 2-minute duplicate window): the inbox refuses every one."""
    with Load(faulty) as load:
        load.wait_for(20)
        settle(faulty, load, "before the redelivery")
        again = [
            e
            for e in stream_events(faulty, "registry.enterprise.registered")
            if e.get("subject") in set(load.created[:20])
        ]
        before = metric(
            faulty,
            "credit",
            "consumer_messages_total",
            consumer="credit-registry",
            outcome="duplicate",
        )
        for event in again:
            body = {k: v for k, v in event.items() if k != "headers"}
            publish_raw(
                faulty,
                "registry.enterprise.registered",
                json.dumps(body, ensure_ascii=False).encode(),
                f"{event['id']}:after-the-window",
            )
        load.wait_for(10)
    wait_until(
        lambda: (
            metric(
                faulty,
                "credit",
                "consumer_messages_total",
                consumer="credit-registry",
                outcome="duplicate",
            )
            >= before + len(again)
        ),
        timeout=60,
        what="every redelivery refused",
    )
    assert len(again) == 20
    settle(faulty, load, f"{len(again)} redeliveries after the duplicate window")


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
        e
        for e in stream_events(faulty, "registry.enterprise.registered")
        if e.get("subject") == uscc
    ]
    assert len(copies) == 1


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
