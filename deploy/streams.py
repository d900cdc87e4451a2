"""JetStream streams and durable consumers, provisioned by deploy code (never by services).

One stream per producing service on `<service>.>`, file storage, a 2-minute duplicate
window for `Nats-Msg-Id`; a dead-letter stream for messages consumers gave up on.
Re-running `provision` is safe: existing streams and consumers are updated in place.
"""

from __future__ import annotations

import asyncio
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

DAY = 24 * 3600


@dataclass(frozen=True)
class StreamSpec:
    """A stream and its subjects."""

    name: str
    subjects: list[str]
    max_age_s: int = 365 * DAY


@dataclass(frozen=True)
class ConsumerSpec:
    """A durable pull consumer for one service."""

    durable: str
    stream: str
    filter_subjects: list[str]
    max_deliver: int = 5  # the runner dead-letters at this count; the server allows one more
    ack_wait_s: float = 30.0


STREAMS = [
    StreamSpec("REGISTRY", ["registry.>"]),
    StreamSpec("CREDIT", ["credit.>"]),
    StreamSpec("INSPECTION", ["inspection.>"]),
    StreamSpec("NOTIFY", ["notify.>"]),
    StreamSpec("DEADLETTER", ["deadletter.>"]),
]

CONSUMERS = [
    ConsumerSpec("registry-credit-levels", "CREDIT", ["credit.level.changed"]),
    ConsumerSpec(
        "credit-registry",
        "REGISTRY",
        [
            "registry.enterprise.registered",
            "registry.commitment.signed",
            "registry.commitment.breached",
            "registry.training.attended",
            "registry.award.granted",
        ],
    ),
    ConsumerSpec(
        "credit-inspection",
        "INSPECTION",
        ["inspection.task.completed", "inspection.alert.raised", "inspection.test.completed"],
    ),
    ConsumerSpec(
        "inspection-registry",
        "REGISTRY",
        [
            "registry.agency.registered",
            "registry.enterprise.registered",
            "registry.membership.admitted",
            "registry.membership.reinstated",
            "registry.membership.suspended",
            "registry.membership.removed",
            "registry.batch.recorded",
            "registry.batch.traced",
        ],
    ),
    ConsumerSpec(
        "registry-inspection", "INSPECTION", ["inspection.alert.raised", "inspection.alert.closed"]
    ),
    ConsumerSpec("notify-registry", "REGISTRY", ["registry.>"]),
    ConsumerSpec("notify-credit", "CREDIT", ["credit.>"]),
    ConsumerSpec("notify-inspection", "INSPECTION", ["inspection.>"]),
    ConsumerSpec(
        "inspection-credit",
        "CREDIT",
        [
            "credit.level.changed",
            "credit.fact.recorded",
            "credit.recognition.granted",
            "credit.recognition.revoked",
        ],
    ),
]


async def provision(
    nats_url: str, *, replicas: int = 1, duplicate_window_s: float = 120, wait_s: float = 60
) -> None:
    """Create or update every stream and consumer; a cluster that has just started (no
    JetStream leader yet) is retried for up to `wait_s`."""
    deadline = asyncio.get_running_loop().time() + wait_s
    while True:
        try:
            await _provision(nats_url, replicas=replicas, duplicate_window_s=duplicate_window_s)
            return
        except (nats.errors.Error, TimeoutError) as exc:
            if asyncio.get_running_loop().time() > deadline:
                raise
            print(f"streams: JetStream not ready ({exc!r}); retrying", flush=True)
            await asyncio.sleep(1)


async def _provision(nats_url: str, *, replicas: int, duplicate_window_s: float) -> None:
    nc = await nats.connect(nats_url.split(","), connect_timeout=5)
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
        for c in CONSUMERS:
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
    finally:
        await nc.close()


async def wait_caught_up(nats_url: str, *, timeout_s: float = 120) -> bool:
    """Wait until every durable consumer has nothing pending (twice in a row, a second
    apart): after seeding, the services have applied each other's events. False on timeout."""
    nc = await nats.connect(nats_url.split(","), connect_timeout=5)
    try:
        js = nc.jetstream(timeout=10)
        deadline = asyncio.get_running_loop().time() + timeout_s
        quiet = 0
        while asyncio.get_running_loop().time() < deadline:
            infos = [await js.consumer_info(c.stream, c.durable) for c in CONSUMERS]
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

    # Production: ZONE_STREAM_REPLICAS=3 on a 3-node cluster (R3 streams).
    asyncio.run(
        provision(
            os.environ.get("ZONE_NATS_URL", "nats://127.0.0.1:4222"),
            replicas=int(os.environ.get("ZONE_STREAM_REPLICAS", "1")),
        )
    )
