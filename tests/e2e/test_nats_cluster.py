"""The event flow on a 3-node JetStream cluster (R3 streams, `sync_interval: always`): one node
killed with -9 under a steady write load and restarted; no acknowledged event lost, no effect
applied twice."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import nats.errors
import pytest

from deploy import nats_auth
from deploy.launcher import Stack
from deploy.processes import Nats, free_port
from tests.helpers import (
    enterprise_body,
    make_stack,
    new_uscc,
    sql,
    stream_events,
    token,
    wait_until,
)

COUNTS: list[str] = []  # printed by conftest after the run


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[Stack, list[Nats]]]:
    stack = make_stack("cluster")
    # six more ports, none of them one the stack's services will bind
    taken = {*stack.ports.values(), stack.pg_port, stack.nats_port}
    chosen: list[int] = []
    while len(chosen) < 6:
        port = free_port()
        if port not in taken:
            taken.add(port)
            chosen.append(port)
    ports, routes = chosen[:3], chosen[3:]
    nodes = [
        Nats(
            Path(stack.data_dir) / f"nats-{i}" / "js",
            ports[i],
            sync_always=True,
            name=f"nats-{i}",
            cluster_port=routes[i],
            routes=tuple(r for j, r in enumerate(routes) if j != i),
            authorization=nats_auth.authorization(stack.nats_passwords),
        )
        for i in range(3)
    ]
    stack.nats_url = ",".join(n.url for n in nodes)
    stack.stream_replicas = 3
    try:
        for node in nodes:
            node.start()
        stack.start(seed=False)
        yield stack, nodes
    finally:
        stack.stop()
        for node in nodes:
            node.stop()


def test_a_node_killed_under_load_loses_and_duplicates_nothing(
    cluster: tuple[Stack, list[Nats]],
) -> None:
    stack, nodes = cluster
    bearer = token(stack.url("gateway"))
    registered: list[str] = []
    failures: list[int] = []
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(
            base_url=stack.url("gateway"), headers={"Authorization": f"Bearer {bearer}"}, timeout=30
        ) as client:
            while not stop.is_set():
                uscc = new_uscc()
                response = client.post("/v1/enterprises", json=enterprise_body(uscc))
                (registered if response.status_code == 201 else failures).append(
                    uscc if response.status_code == 201 else response.status_code  # type: ignore[arg-type]
                )
                time.sleep(0.02)

    writer = threading.Thread(target=load)
    writer.start()
    try:
        time.sleep(4)
        nodes[1].stop(kill=True)  # kill -9 one of the three
        time.sleep(5)
        nodes[1].start()
        time.sleep(4)
    finally:
        stop.set()
        writer.join(60)
    assert not failures and len(registered) > 50

    # Every acknowledged registration reaches the stream exactly once ...
    # (right after the restart the cluster may still be moving a stream or consumer leader and
    # answer 503 "no responders"; that is a reason to ask again, not a lost event)
    def on_stream() -> dict[str, int] | None:
        try:
            events = stream_events(stack, "registry.enterprise.registered")
        except nats.errors.Error as exc:
            print(f"stream not readable yet ({exc!r}); asking again")
            return None
        counts: dict[str, int] = {}
        for event in events:
            counts[event["subject"]] = counts.get(event["subject"], 0) + 1
        return counts if all(u in counts for u in registered) else None

    counts = wait_until(on_stream, timeout=90, interval=1, what="every registration on the stream")
    assert all(counts[u] == 1 for u in registered)
    # ... and credit applies each exactly once (one row per USCC, one inbox entry per event).
    wait_until(
        lambda: (
            sql(stack, "credit", "SELECT count(*) FROM scores WHERE uscc = ANY($1)", registered)
            == [(len(registered),)]
        ),
        timeout=90,
        interval=1,
        what="credit caught up",
    )
    inbox = sql(
        stack,
        "credit",
        "SELECT count(*), count(DISTINCT event_id) FROM inbox WHERE consumer = 'credit-registry'"
        " AND event_type = 'registry.enterprise.registered.v1'",
    )
    assert inbox[0][0] == inbox[0][1] >= len(registered)
    unsent = sql(stack, "registry", "SELECT count(*) FROM outbox WHERE sent_at IS NULL")
    assert unsent == [(0,)]
    COUNTS.append(
        f"cluster, one node killed under load: produced={len(registered)} on_stream={sum(counts[u] for u in registered)} "
        f"applied={len(registered)} duplicates=0"
    )
    print(f"\n{COUNTS[-1]}")
