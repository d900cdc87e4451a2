"""JetStream streams and durable consumers, provisioned by deploy code (never by services).

One stream per producing service on `<service>.>`, file storage, a 2-minute duplicate
window for `Nats-Msg-Id`; a dead-letter stream for messages consumers gave up on. The durable
consumers are the services' own declarations (their filter subjects follow from the event
types each handles). Re-running `provision` is safe: streams and consumers are updated in
place. Only the provisioning identity may do this (deploy/nats_auth.py).
"""

from __future__ import annotations

import asyncio
import importlib
from dataclasses import dataclass

import nats
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import NotFoundError

from kit.inbox import RETRY_PREFIX, RETRY_STREAM, Consumer, retry_durable
from kit.messaging import NatsIdentity, connect

DAY = 24 * 3600


@dataclass(frozen=True)
class StreamSpec:
    """A stream and its subjects."""

    name: str
    subjects: list[str]
    max_age_s: int = 365 * DAY


STREAMS = [
    StreamSpec("REGISTRY", ["registry.>"]),
    StreamSpec("CREDIT", ["credit.>"]),
    StreamSpec("INSPECTION", ["inspection.>"]),
    StreamSpec("NOTIFY", ["notify.>"]),
    StreamSpec("DEADLETTER", ["deadletter.>"]),
    StreamSpec(RETRY_STREAM, [f"{RETRY_PREFIX}.>"], max_age_s=7 * DAY),
]

# Each service declares its durable consumers (and their routing) in its `consumers` module.
SERVICES = ("registry", "credit", "inspection", "notify")


def consumers_of(service: str) -> list[Consumer]:
    """A service's declared durable consumers."""
    return list(importlib.import_module(f"services.{service}.consumers").CONSUMERS)


def all_consumers() -> list[Consumer]:
    """Every service's durable consumers."""
    return [c for service in SERVICES for c in consumers_of(service)]


def retry_subjects(service: str) -> list[str]:
    """The retry requests a service takes: one subject per durable of its own."""
    return [f"{RETRY_PREFIX}.{c.durable}" for c in consumers_of(service)]


async def provision(
    nats_url: str,
    identity: NatsIdentity,
    *,
    replicas: int = 1,
    duplicate_window_s: float = 120,
    wait_s: float = 60,
) -> None:
    """Create or update every stream and consumer; a cluster that has just started (no
    JetStream leader yet) is retried for up to `wait_s`."""
    deadline = asyncio.get_running_loop().time() + wait_s
    while True:
        try:
            await _provision(
                nats_url, identity, replicas=replicas, duplicate_window_s=duplicate_window_s
            )
            return
        except (nats.errors.Error, TimeoutError) as exc:
            if asyncio.get_running_loop().time() > deadline:
                raise
            print(f"streams: JetStream not ready ({exc!r}); retrying", flush=True)
            await asyncio.sleep(1)


async def _provision(
    nats_url: str, identity: NatsIdentity, *, replicas: int, duplicate_window_s: float
) -> None:
    nc = await connect(nats_url, identity, connect_timeout=5)
    try:
        js = nc.jetstream(timeout=10)
        for spec in STREAMS:
            config = StreamConfig(
                name=spec.name,
                subjects=spec.subjects,
                storage=StorageType.FILE,
                retention=RetentionPolicy.LIMITS,
                max_age=spec.max_age_s,
                duplicate_window=duplicate_window_s,
                num_replicas=replicas,
            )
            try:
                await js.stream_info(spec.name)
                await js.update_stream(config)
            except NotFoundError:
                await js.add_stream(config)
        for c in all_consumers():
            await js.add_consumer(
                c.stream,
                ConsumerConfig(
                    durable_name=c.durable,
                    ack_policy=AckPolicy.EXPLICIT,
                    deliver_policy=DeliverPolicy.ALL,
                    filter_subjects=c.filter_subjects,
                    max_deliver=c.max_deliver + 1,
                    ack_wait=c.ack_wait_s,
                    max_ack_pending=1000,
                ),
            )
        for service in SERVICES:
            await js.add_consumer(
                RETRY_STREAM,
                ConsumerConfig(
                    durable_name=retry_durable(service),
                    ack_policy=AckPolicy.EXPLICIT,
                    deliver_policy=DeliverPolicy.NEW,
                    filter_subjects=retry_subjects(service),
                    max_deliver=-1,  # an outage waits; a request that names nothing is ended
                    ack_wait=60,
                ),
            )
    finally:
        await nc.close()


async def wait_caught_up(nats_url: str, identity: NatsIdentity, *, timeout_s: float = 120) -> bool:
    """Wait until every durable consumer has nothing pending (twice in a row, a second
    apart): after seeding, the services have applied each other's events. False on timeout."""
    nc = await connect(nats_url, identity, connect_timeout=5)
    try:
        js = nc.jetstream(timeout=10)
        deadline = asyncio.get_running_loop().time() + timeout_s
        quiet = 0
        while asyncio.get_running_loop().time() < deadline:
            infos = [await js.consumer_info(c.stream, c.durable) for c in all_consumers()]
            busy = any((i.num_pending or 0) + (i.num_ack_pending or 0) for i in infos)
            quiet = 0 if busy else quiet + 1
            if quiet >= 2:
                return True
            await asyncio.sleep(1)
        return False
    finally:
        await nc.close()


if __name__ == "__main__":
    import os

    # Production: ZONE_STREAM_REPLICAS=3 on a 3-node cluster (R3 streams); the provisioning
    # identity's password from the Secret (ZONE_NATS_PASSWORD).
    asyncio.run(
        provision(
            os.environ.get("ZONE_NATS_URL", "nats://127.0.0.1:4222"),
            NatsIdentity(
                user=os.environ.get("ZONE_NATS_USER", "provisioner"),
                password=os.environ.get("ZONE_NATS_PASSWORD", ""),
                tls_ca_file=os.environ.get("ZONE_NATS_TLS_CA_FILE", ""),
            ),
            replicas=int(os.environ.get("ZONE_STREAM_REPLICAS", "1")),
        )
    )
