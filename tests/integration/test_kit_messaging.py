"""kit's outbox relay, consumer runner and idempotency on real PostgreSQL and NATS."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest
from fastapi import APIRouter
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig
from pydantic import BaseModel
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from deploy.launcher import Stack
from gateway.auth.tokens import Signer, new_private_key_pem
from kit import locks
from kit.app import create_service_app
from kit.db import Base, SessionDep, make_engine, make_sessionmaker
from kit.events import CloudEvent
from kit.idempotency import IdempotencyRecord
from kit.inbox import (
    Batched,
    Consumer,
    ConsumerRunner,
    Handler,
    InboxEntry,
    apply_once,
    in_lanes,
)
from kit.locks import Lock
from kit.messaging import NatsConnection, connect
from kit.outbox import OutboxMessage, OutboxRelay, emit
from kit.settings import ServiceSettings

STREAM = "KITTEST"
TYPE = "kittest.item.changed.v1"


class Item(BaseModel):
    """The test stream's one contract."""

    n: int


def _consumer(durable: str, handler: Handler, max_deliver: int) -> Consumer:
    return Consumer(
        durable,
        STREAM,
        {TYPE: handler},
        contracts={TYPE: Item},
        source="/tests",
        max_deliver=max_deliver,
    )


@pytest.fixture(scope="module")
async def env(
    stack: Stack,
) -> AsyncIterator[
    tuple[AsyncEngine, async_sessionmaker[AsyncSession], NatsConnection, ServiceSettings]
]:
    from deploy.launcher import create_databases

    await create_databases(stack.pg_root_url, ["kit_it"])
    settings = ServiceSettings(
        database_url=stack.db_url("kit_it"), nats_url=stack.nats_client_url, service_name="kit-it"
    )
    engine = make_engine(settings)
    tables = [OutboxMessage.__table__, InboxEntry.__table__, IdempotencyRecord.__table__]
    async with engine.begin() as conn:
        await conn.run_sync(lambda c: Base.metadata.create_all(c, tables=tables))
    admin = stack.nats_identity("provisioner")  # kit's own test stream, outside the services'
    nc = await connect(stack.nats_client_url, admin)
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name=STREAM, subjects=["kittest.>"], duplicate_window=120))
    await nc.close()
    connection = NatsConnection(stack.nats_client_url, name="kit-it", identity=admin)
    await connection.start()
    yield engine, make_sessionmaker(engine), connection, settings
    await connection.close()
    await engine.dispose()


async def _provision(conn: NatsConnection, consumer: Consumer) -> None:
    """The durable for a declared consumer, taking what the stream gets from now on."""
    await conn.js.add_consumer(
        STREAM,
        ConsumerConfig(
            durable_name=consumer.durable,
            ack_policy=AckPolicy.EXPLICIT,
            filter_subjects=consumer.filter_subjects,
            deliver_policy="new",
        ),
    )


def _event(n: int) -> CloudEvent:
    return CloudEvent(source="/tests", type=TYPE, subject=f"E{n}", data={"n": n})


async def _stream_count(conn: NatsConnection) -> int:
    info = await conn.js.stream_info(STREAM)
    return int(info.state.messages)


async def test_relay_publishes_in_order_exactly_once(env) -> None:  # type: ignore[no-untyped-def]
    engine, maker, conn, settings = env
    before = await _stream_count(conn)
    async with maker() as session, session.begin():
        for n in range(50):
            await emit(session, _event(n))
    async with maker() as session, session.begin():  # rolled back: must never be published
        await emit(session, _event(999))
        await session.rollback()
    relay = OutboxRelay(conn, service="kit-it", database_url=settings.database_url, batch=20)
    async with engine.connect() as other, other.begin():  # another relay publishing meanwhile
        await locks.hold(other, Lock.OUTBOX_RELAY)
        assert await relay.publish_batch() == 0, "two relays published at once"
    sent = 0
    while (n := await relay.publish_batch()) > 0:
        sent += n
    assert sent == 50
    assert await _stream_count(conn) == before + 50
    # A crash between publish and marking sent: the same rows go out again, the stream dedupes.
    async with engine.begin() as c:
        await c.execute(text("UPDATE outbox SET sent_at = NULL"))
    while await relay.publish_batch() > 0:
        pass
    assert await _stream_count(conn) == before + 50
    await relay.close()
    sub = await conn.js.pull_subscribe("kittest.item.changed", stream=STREAM)
    msgs = await sub.fetch(200, timeout=2)
    subjects = [json.loads(m.data)["subject"] for m in msgs][-50:]
    assert subjects == [f"E{n}" for n in range(50)]


async def test_runner_retries_then_applies_once(env) -> None:  # type: ignore[no-untyped-def]
    _, maker, conn, _ = env
    durable = "kit-it-flaky"
    await conn.js.add_consumer(
        STREAM,
        ConsumerConfig(
            durable_name=durable,
            ack_policy=AckPolicy.EXPLICIT,
            max_deliver=6,
            filter_subject="kittest.item.changed",
            deliver_policy="new",
        ),
    )
    calls: list[str] = []

    async def flaky(session: AsyncSession, item: Item, event: CloudEvent) -> None:
        calls.append(event.id)
        if calls.count(event.id) < 3:
            raise RuntimeError("transient")

    event = _event(7)
    await conn.js.publish(
        "kittest.item.changed", event.model_dump_json().encode(), headers={"Nats-Msg-Id": event.id}
    )
    # the same event again under another message id: a redelivery the broker cannot dedupe
    await conn.js.publish(
        "kittest.item.changed",
        event.model_dump_json().encode(),
        headers={"Nats-Msg-Id": f"{event.id}/2"},
    )
    runner = ConsumerRunner(_consumer(durable, flaky, max_deliver=5), conn, maker)
    task = asyncio.create_task(runner.run())
    try:
        for _ in range(100):
            async with maker() as s:
                applied = await s.scalar(
                    select(func.count())
                    .select_from(InboxEntry)
                    .where(InboxEntry.consumer == durable)
                )
            if applied:
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.5)
    finally:
        task.cancel()
    assert applied == 1
    assert calls.count(event.id) == 3, (
        "two failures, one success, the duplicate skipped by the inbox"
    )


async def test_runner_dead_letters_after_max_deliver(env, stack: Stack) -> None:  # type: ignore[no-untyped-def]
    _, maker, conn, _ = env
    durable = "kit-it-broken"
    await conn.js.add_consumer(
        STREAM,
        ConsumerConfig(
            durable_name=durable,
            ack_policy=AckPolicy.EXPLICIT,
            max_deliver=4,
            filter_subject="kittest.item.changed",
            deliver_policy="new",
        ),
    )

    async def broken(session: AsyncSession, item: Item, event: CloudEvent) -> None:
        raise ValueError("cannot apply")

    event = _event(8)
    await conn.js.publish(
        "kittest.item.changed", event.model_dump_json().encode(), headers={"Nats-Msg-Id": event.id}
    )
    runner = ConsumerRunner(_consumer(durable, broken, max_deliver=3), conn, maker)
    task = asyncio.create_task(runner.run())
    try:
        sub = await conn.js.pull_subscribe(f"deadletter.{durable}", stream="DEADLETTER")
        msgs = await sub.fetch(1, timeout=20)
    finally:
        task.cancel()
    assert msgs[0].headers["X-Deliveries"] == "3"
    assert "cannot apply" in msgs[0].headers["X-Error"]
    assert json.loads(msgs[0].data)["id"] == event.id


async def test_runner_acks_what_the_consumer_does_not_want_without_applying_it(env) -> None:  # type: ignore[no-untyped-def]
    """`Consumer.wanted` says no: acked, no handler, no inbox row; the others applied."""
    _, maker, conn, _ = env
    durable = "kit-it-choosy"
    await conn.js.add_consumer(
        STREAM,
        ConsumerConfig(
            durable_name=durable,
            ack_policy=AckPolicy.EXPLICIT,
            max_deliver=6,
            filter_subject="kittest.item.changed",
            deliver_policy="new",
        ),
    )
    seen: list[int] = []

    async def record(session: AsyncSession, item: Item, event: CloudEvent) -> None:
        seen.append(item.n)

    events = [_event(n) for n in range(100, 106)]
    for event in events:
        await conn.js.publish(
            "kittest.item.changed",
            event.model_dump_json().encode(),
            headers={"Nats-Msg-Id": event.id},
        )
    consumer = replace(
        _consumer(durable, record, max_deliver=3), wanted=lambda e: int(e.data["n"]) % 2 == 0
    )
    task = asyncio.create_task(ConsumerRunner(consumer, conn, maker).run())
    try:
        for _ in range(100):
            info = await conn.js.consumer_info(STREAM, durable)
            if not info.num_pending and not info.num_ack_pending and len(seen) >= 3:
                break
            await asyncio.sleep(0.2)
    finally:
        task.cancel()
    assert sorted(seen) == [100, 102, 104]
    assert (info.num_pending, info.num_ack_pending, info.num_redelivered) == (0, 0, 0)
    async with maker() as s:
        recorded = set(
            await s.scalars(select(InboxEntry.event_id).where(InboxEntry.consumer == durable))
        )
    assert recorded == {uuid.UUID(e.id) for e in events if int(e.data["n"]) % 2 == 0}


async def test_idempotency_in_flight_and_replay(env) -> None:  # type: ignore[no-untyped-def]
    _, _, _, settings = env
    signer = Signer(
        new_private_key_pem(), issuer="zone-gateway", audience="zone-platform", ttl_s=60
    )
    router = APIRouter()
    hits: list[int] = []

    @router.post("/slow", status_code=201)
    async def slow(session: SessionDep) -> dict[str, str]:
        hits.append(1)
        await asyncio.sleep(1)
        return {"id": str(uuid.uuid4())}

    app = create_service_app(
        settings.model_copy(update={"jwks_json": json.dumps(signer.jwks())}),
        title="t",
        description="t",
        routers=[router],
        use_nats=False,
    )
    headers = {
        "Authorization": f"Bearer {signer.issue(subject='c', scopes=[])[0]}",
        "Idempotency-Key": f"k-{uuid.uuid4()}",
    }
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            first_task = asyncio.create_task(client.post("/slow", json={"a": 1}, headers=headers))
            await asyncio.sleep(0.3)
            during = await client.post("/slow", json={"a": 1}, headers=headers)
            first = await first_task
            replay = await client.post("/slow", json={"a": 1}, headers=headers)
            other_body = await client.post("/slow", json={"a": 2}, headers=headers)
    assert first.status_code == 201
    assert during.status_code == 409 and during.json()["type"] == "/problems/idempotency-in-flight"
    assert replay.status_code == 201 and replay.json() == first.json()
    assert replay.headers["idempotent-replayed"] == "true"
    assert other_body.status_code == 422
    assert len(hits) == 1


async def test_housekeeping_prunes_only_old_rows(env) -> None:  # type: ignore[no-untyped-def]
    from kit.app import prune_once

    engine, _, _, settings = env
    async with engine.begin() as c:
        await c.execute(text("DELETE FROM outbox"))
        await c.execute(text("DELETE FROM inbox"))
        await c.execute(text("DELETE FROM idempotency_keys"))
        for days, sent in ((10, True), (1, True), (10, False)):
            await c.execute(
                text(
                    "INSERT INTO outbox (id, subject, type, payload, created_at, sent_at) VALUES "
                    "(gen_random_uuid(), 's', 't', '{}', now() - make_interval(days => :d), "
                    "CASE WHEN :sent THEN now() - make_interval(days => :d) END)"
                ),
                {"d": days, "sent": sent},
            )
        for days in (410, 5):
            await c.execute(
                text(
                    "INSERT INTO inbox VALUES ('c', gen_random_uuid(), 't', now() - make_interval(days => :d))"
                ),
                {"d": days},
            )
        for hours in (30, 1):
            await c.execute(
                text(
                    "INSERT INTO idempotency_keys (principal, key, fingerprint, created_at) VALUES "
                    "('p', gen_random_uuid()::text, 'f', now() - make_interval(hours => :h))"
                ),
                {"h": hours},
            )
    await prune_once(engine, settings, messaging=True)
    async with engine.connect() as c:
        outbox = (await c.execute(text("SELECT count(*), count(sent_at) FROM outbox"))).one()
        inbox = (await c.execute(text("SELECT count(*) FROM inbox"))).scalar()
        keys = (await c.execute(text("SELECT count(*) FROM idempotency_keys"))).scalar()
    assert tuple(outbox) == (2, 1), "the old sent row goes; the recent one and the unsent one stay"
    assert inbox == 1 and keys == 1


async def test_urgent_lane_is_applied_while_the_routine_lane_drains(env) -> None:  # type: ignore[no-untyped-def]
    """An urgent type on its own durable is applied while a backlog of slow routine events
    is still draining; both lanes record under the declared consumer, so an event reaching
    either is applied once."""
    _, maker, conn, _ = env
    urgent_type = "kittest.alert.raised.v1"
    applied: list[str] = []

    async def slow(session: AsyncSession, item: Item, event: CloudEvent) -> None:
        await asyncio.sleep(0.05)
        applied.append(event.type)

    async def quick(session: AsyncSession, item: Item, event: CloudEvent) -> None:
        applied.append(event.type)

    declared = Consumer(
        "kit-it-lanes",
        STREAM,
        {TYPE: slow, urgent_type: quick},
        contracts={TYPE: Item, urgent_type: Item},
        source="/tests",
    )
    lanes = in_lanes(declared, urgent_types={urgent_type})
    assert [(c.durable, c.filter_subjects, c.inbox_name) for c in lanes] == [
        ("kit-it-lanes", ["kittest.item.changed"], "kit-it-lanes"),
        ("kit-it-lanes-urgent", ["kittest.alert.raised"], "kit-it-lanes"),
    ]
    for lane in lanes:
        await _provision(conn, lane)
    routine = [_event(n) for n in range(40)]
    alert = CloudEvent(source="/tests", type=urgent_type, subject="A1", data={"n": 1})
    for event in [*routine, alert]:
        await conn.js.publish(
            event.nats_subject, event.model_dump_json().encode(), headers={"Nats-Msg-Id": event.id}
        )
    runners = [asyncio.create_task(ConsumerRunner(c, conn, maker).run()) for c in lanes]
    try:
        for _ in range(200):
            if len(applied) == 41:
                break
            await asyncio.sleep(0.1)
    finally:
        for task in runners:
            task.cancel()
    assert applied.count(TYPE) == 40 and applied.count(urgent_type) == 1
    assert applied.index(urgent_type) < 40, "the alert waited behind the routine backlog"
    async with maker() as s:
        recorded = await s.scalar(
            select(func.count())
            .select_from(InboxEntry)
            .where(InboxEntry.consumer == declared.durable)
        )
    assert recorded == 41
    # the alert delivered again through the declared consumer (as before an upgrade split
    # it): the shared inbox name keeps it from applying twice
    assert not await apply_once(maker, declared, (alert, Item(n=1)))


async def test_a_routine_lane_gathers_a_trickle_into_one_batch(env) -> None:  # type: ignore[no-untyped-def]
    """A short batch on a routine lane waits `linger_s` for the events behind it and applies
    them in one call; a consumer of urgent types never waits."""
    _, maker, conn, _ = env
    urgent_type = "inspection.alert.raised.v1"  # in kit.events.URGENT
    batches: list[int] = []

    async def apply(session: AsyncSession, run: list[tuple[Item, CloudEvent]]) -> None:
        batches.append(len(run))

    routine = Consumer(
        "kit-it-linger",
        STREAM,
        {TYPE: Batched(apply)},
        contracts={TYPE: Item},
        source="/tests",
    )
    urgent = replace(
        routine,
        durable="kit-it-linger-urgent",
        handlers={urgent_type: Batched(apply)},
        contracts={urgent_type: Item},
    )
    assert not routine.urgent and urgent.urgent
    assert ConsumerRunner(urgent, conn, maker, linger_s=0.5).linger_s == 0
    await _provision(conn, routine)
    task = asyncio.create_task(ConsumerRunner(routine, conn, maker, linger_s=0.5).run())
    try:
        await asyncio.sleep(0.3)  # the runner waits on its first fetch
        for n in range(5):  # a trickle: one every 50 ms, all within the linger
            event = _event(1000 + n)
            await conn.js.publish(
                event.nats_subject,
                event.model_dump_json().encode(),
                headers={"Nats-Msg-Id": event.id},
            )
            await asyncio.sleep(0.05)
        for _ in range(50):
            if sum(batches) == 5:
                break
            await asyncio.sleep(0.1)
    finally:
        task.cancel()
    assert batches == [5], f"applied in batches of {batches}, not gathered into one"
