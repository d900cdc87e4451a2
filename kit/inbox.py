"""Inbox and consumer runner: each event's effect is applied exactly once.

A durable pull consumer (provisioned by deploy code) is fetched with explicit acks, a batch
at a time. The batch is applied in one transaction: one statement records every event id in
the inbox keyed by (consumer, event id) and returns those not seen before, whose handlers
then run, so a redelivery finds its row and does nothing. Acks follow the commit. If a
handler fails, the batch rolls back and is applied one event at a time, so only the failing
one is retried: it naks with backoff; after `max_deliver` attempts the message goes to the
dead-letter stream and is terminated, so the consumer keeps going. A message that can never
apply (not an event, a type the consumer does not handle, a source other than the stream's
service, a time in the future, data off its contract) is dead-lettered at once. A database
or broker outage is not the message's fault: the runner waits, keeping the message in
progress, and does not count it as a failure. An event a consumer declares it does not want
(`Consumer.wanted`, decided in memory) is acked without a transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from itertools import groupby
from typing import Any

from nats.aio.msg import Msg
from nats.js.errors import NotFoundError
from prometheus_client import Counter, Gauge
from pydantic import BaseModel, ValidationError
from sqlalchemy import String, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from kit import tracing
from kit.db import Base, utcnow
from kit.events import CONTRACTS, URGENT, CloudEvent
from kit.failpoints import failpoint
from kit.messaging import NatsConnection
from kit.observability import traceparent_var, zero_gauge
from kit.problems import is_outage

log = logging.getLogger("kit.inbox")

HANDLED = Counter(
    "consumer_messages_total", "Consumed messages by outcome", ["consumer", "outcome"]
)
# Every outcome a consumer counts (the last two for the dead letters an operator retries).
OUTCOMES = (
    "applied",
    "duplicate",
    "skipped",
    "retry",
    "dead_lettered",
    "retried",
    "retry_failed",
)

PENDING = Gauge(
    "consumer_pending",
    "Messages on the stream the consumer has not been delivered yet (its lag)",
    ["consumer"],
    multiprocess_mode="mostrecent",
)
ACK_PENDING = Gauge(
    "consumer_ack_pending",
    "Messages delivered to the consumer and not yet acked",
    ["consumer"],
    multiprocess_mode="mostrecent",
)
LAG_EVERY_S = 5.0
DEAD_LETTER_STREAM = "DEADLETTER"
DEAD_LETTER_PREFIX = "deadletter"
# A retry request names a dead letter by its sequence, on `retry.<durable>`; the service that
# owns the durable reads the letter itself and applies it (nobody else republishes its events).
RETRY_STREAM = "RETRY"
RETRY_PREFIX = "retry"
BACKOFF_S = (0.5, 2.0, 5.0, 15.0, 30.0)
URGENT_SUBJECTS = frozenset(t.rsplit(".", 1)[0] for t in URGENT)
LINGER_FETCH_S = 0.01  # after a linger: what arrived is on the server already, or nothing

Handler = Callable[[AsyncSession, Any, CloudEvent], Awaitable[None]]
"""`handler(session, data, event)`: `data` is the event's contract model, validated once."""


@dataclass(frozen=True)
class Batched:
    """A handler that takes a run of consecutive fresh events of its type in one call, as
    `apply(session, [(data, event), …])`, so it can write them with set-based statements
    (a rescoring storm's level changes: one UPDATE for the batch, not one per event).
    Declared in the same map: `{"credit.level.changed.v1": Batched(on_levels)}`."""

    apply: Callable[[AsyncSession, list[tuple[Any, CloudEvent]]], Awaitable[None]]


MAX_DELIVER = 5  # the runner dead-letters at this count; the server allows one more
ACK_WAIT_S = 30.0
MAX_FUTURE_SKEW = timedelta(minutes=5)  # an event stamped later than this is refused


class InboxEntry(Base):
    """An event a consumer has applied."""

    __tablename__ = "inbox"

    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    event_type: Mapped[str] = mapped_column(String(200))
    handled_at: Mapped[datetime] = mapped_column(default=utcnow)


@dataclass(frozen=True)
class Consumer:
    """A durable consumer: the stream it reads and its routing, a map from event type to
    handler. Its filter subjects, its settings and the provisioning derive from this one
    declaration (deploy/streams.py reads every service's `CONSUMERS`)."""

    durable: str
    stream: str
    handlers: Mapping[str, Handler | Batched]
    contracts: Mapping[str, type[BaseModel]] = field(default_factory=lambda: CONTRACTS)
    source: str = ""  # who may publish on the stream; default `/services/<stream>`
    max_deliver: int = MAX_DELIVER
    ack_wait_s: float = ACK_WAIT_S
    inbox: str = ""  # the name its applied events are recorded under; default `durable`
    # False: one durable whatever the types, when a handler needs the stream's order across
    # lanes (credit's facts about an enterprise need its registration applied first)
    lanes: bool = True
    elsewhere: frozenset[str] = frozenset()  # types its sibling lane applies (acked here)
    # False for an event the handlers would do nothing with, known without the database
    # (notify's fan-out when no subscription listens to its type): acked, no transaction
    wanted: Callable[[CloudEvent], bool] | None = None

    @property
    def inbox_name(self) -> str:
        """The consumer as the inbox knows it: a lane records under its declared durable, so
        an event is applied once whichever lane delivered it."""
        return self.inbox or self.durable

    @property
    def urgent(self) -> bool:
        """Every type it handles is urgent (`kit.events.URGENT`): it never lingers."""
        return all(t in URGENT for t in self.handlers)

    @property
    def filter_subjects(self) -> list[str]:
        """The NATS subjects of the handled types (a type is its subject plus a version)."""
        return sorted({t.rsplit(".", 1)[0] for t in self.handlers})

    @property
    def expected_source(self) -> str:
        """The CloudEvents `source` every event on this stream carries."""
        return self.source or f"/services/{self.stream.lower()}"


URGENT_SUFFIX = "-urgent"


def in_lanes(*consumers: Consumer, urgent_types: Collection[str] = URGENT) -> list[Consumer]:
    """The declared consumers as the durables that run: one whose handlers mix urgent types
    (`kit.events.URGENT`) with others is split, the urgent ones on `<durable>-urgent`, so an
    alert is applied while a rescoring storm or a bulk upload drains `<durable>`. A consumer
    whose types are all of one lane stays as declared."""
    lanes: list[Consumer] = []
    for c in consumers:
        urgent = {t: h for t, h in c.handlers.items() if t in urgent_types}
        if not c.lanes or not urgent or len(urgent) == len(c.handlers):
            lanes.append(c)
            continue
        routine = {t: h for t, h in c.handlers.items() if t not in urgent_types}
        lanes.append(replace(c, handlers=routine, elsewhere=frozenset(urgent)))
        lanes.append(
            replace(
                c,
                durable=c.durable + URGENT_SUFFIX,
                handlers=urgent,
                inbox=c.inbox_name,
                elsewhere=frozenset(routine),
            )
        )
    return lanes


class PoisonMessage(Exception):
    """The message can never be handled (not an envelope, unknown type, bad data, forged)."""


class ForSibling(Exception):
    """A type the consumer's other lane applies (delivered here while a durable's filter was
    being narrowed by an upgrade): acked, not dead-lettered; the other lane has its copy."""


def decode(data: bytes, subject: str, consumer: Consumer) -> tuple[CloudEvent, BaseModel]:
    """Parse and check a message: a CloudEvent from the stream's own service, of a type this
    consumer handles, not stamped in the future, whose data satisfies its contract."""
    try:
        event = CloudEvent.model_validate(json.loads(data))
        uuid.UUID(event.id)
    except (ValueError, ValidationError) as exc:
        raise PoisonMessage(f"not a valid event: {exc}") from exc
    if event.source != consumer.expected_source:
        raise PoisonMessage(
            f"source {event.source!r} may not publish on stream {consumer.stream} "
            f"(only {consumer.expected_source!r})"
        )
    if event.type in consumer.elsewhere:
        raise ForSibling(event.type)
    if event.type not in consumer.handlers or event.type not in consumer.contracts:
        raise PoisonMessage(f"type {event.type!r} is not a contract {consumer.durable} handles")
    if event.nats_subject != subject:
        raise PoisonMessage(f"type {event.type!r} arrived on subject {subject!r}")
    if event.time.tzinfo is None or event.time > utcnow() + MAX_FUTURE_SKEW:
        raise PoisonMessage(f"time {event.time.isoformat()} is in the future (or has no zone)")
    try:
        model = consumer.contracts[event.type].model_validate(event.data)
    except ValidationError as exc:
        raise PoisonMessage(f"data does not satisfy {event.type}: {exc}") from exc
    return event, model


@contextlib.contextmanager
def consuming(
    consumer: str, event: CloudEvent, header: str | None, count: int = 1
) -> Iterator[None]:
    """A CONSUMER span for one event, child of the message's `traceparent` header (else the
    event's own); events the handler emits continue the same trace. A batched handler's run
    of `count` events gets one span, under the run's first event."""
    parent = header or event.traceparent
    span = tracing.start(
        __name__,
        f"process {event.nats_subject}",
        tracing.SpanKind.CONSUMER,
        parent,
        **{
            "messaging.system": "nats",
            "messaging.operation.type": "process",
            "messaging.operation.name": "process",
            "messaging.destination.name": event.nats_subject,
            "messaging.consumer.group.name": consumer,
            "messaging.message.id": str(event.id),
            **({"messaging.batch.message_count": count} if count > 1 else {}),
        },
    )
    token = traceparent_var.set(tracing.traceparent_of(span) or parent)
    try:
        with tracing.active(span):
            yield
    finally:
        traceparent_var.reset(token)


Decoded = tuple[CloudEvent, BaseModel]


# One statement claims a whole batch: the ids not applied before come back.
CLAIM = text(
    """
    INSERT INTO inbox (consumer, event_id, event_type, handled_at)
    SELECT :consumer, t.id, t.type, now()
    FROM unnest(CAST(:ids AS uuid[]), CAST(:types AS text[])) AS t(id, type)
    ORDER BY t.id  -- one lock order, so two workers' overlapping batches cannot deadlock
    ON CONFLICT DO NOTHING
    RETURNING event_id
    """
)


async def apply_once(
    sessionmaker: async_sessionmaker[AsyncSession],
    consumer: Consumer,
    decoded: Decoded,
    header: str | None = None,
) -> bool:
    """Run the event's handler and record the inbox row in one transaction; False if already
    applied. The handler's error is raised (nothing of it is kept)."""
    (outcome,) = await apply_batch(sessionmaker, consumer, [decoded], [header])
    return outcome


async def apply_batch(
    sessionmaker: async_sessionmaker[AsyncSession],
    consumer: Consumer,
    batch: list[Decoded],
    headers: list[str | None] | None = None,
) -> list[bool]:
    """Apply several events in one transaction: one statement records the batch in the inbox
    and returns the events not applied before, whose handlers then run in order.

    Per event: True (applied) or False (already applied). Any error rolls the whole batch
    back and is raised; the runner then applies the batch one event at a time, so one bad
    event costs its neighbours a retry, not their effect. One commit and one inbox statement
    for the batch instead of one per event: the consumers' main cost.
    """
    name = consumer.inbox_name
    outcomes: list[bool] = []
    async with sessionmaker() as session, session.begin():
        fresh = set(
            await session.scalars(
                CLAIM,
                {
                    "consumer": name,
                    "ids": [uuid.UUID(e.id) for e, _ in batch],
                    "types": [e.type for e, _ in batch],
                },
            )
        )
        todo: list[tuple[Decoded, str | None]] = []
        for (event, data), header in zip(batch, headers or [None] * len(batch), strict=True):
            event_id = uuid.UUID(event.id)
            if event_id not in fresh:  # applied before (or twice in this batch)
                outcomes.append(False)
                continue
            fresh.discard(event_id)
            todo.append(((event, data), header))
            outcomes.append(True)
        # in order; a run of one type with a batched handler goes to it in one call
        for event_type, group in groupby(todo, key=lambda item: item[0][0].type):
            run = list(group)
            handler = consumer.handlers[event_type]
            if isinstance(handler, Batched):
                (first, _), header = run[0]
                with consuming(consumer.durable, first, header, count=len(run)):
                    await handler.apply(session, [(data, event) for (event, data), _ in run])
                await session.flush()
                session.expunge_all()
                continue
            for (event, data), header in run:
                with consuming(consumer.durable, event, header):
                    await handler(session, data, event)
                # written, then forgotten: the next handler reads afresh what this one wrote
                await session.flush()
                session.expunge_all()
    return outcomes


def _traceparent(msg: Msg) -> str | None:
    value = (msg.headers or {}).get("traceparent")
    return str(value) if value else None


def header_text(value: str) -> str:
    """A NATS header value: ASCII on one line (an error may quote any text, 中文 included)."""
    return value.encode("ascii", "backslashreplace").decode().replace("\r", " ").replace("\n", " ")


class ConsumerRunner:
    """Fetches from one durable consumer and applies each message once."""

    def __init__(
        self,
        consumer: Consumer,
        nats: NatsConnection,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        batch: int = 64,
        linger_s: float = 0.0,
    ):
        self.consumer = consumer
        self.nats = nats
        self.sessionmaker = sessionmaker
        self.batch = batch
        self.linger_s = 0.0 if consumer.urgent else linger_s
        # Every series the alert rules read exists from the start, so the first dead letter
        # is a rise from 0 that `increase()` sees.
        for outcome in OUTCOMES:
            HANDLED.labels(consumer.durable, outcome)
        zero_gauge(PENDING.labels(consumer.durable))
        zero_gauge(ACK_PENDING.labels(consumer.durable))

    async def run(self) -> None:
        """Consume forever; cancel to stop."""
        while True:
            try:
                await self.nats.wait_connected()
                sub = await self.nats.js.pull_subscribe_bind(
                    self.consumer.durable, stream=self.consumer.stream
                )
                measured = 0.0
                while True:
                    if time.monotonic() - measured > LAG_EVERY_S:
                        measured = time.monotonic()
                        await self._measure(sub)
                    try:
                        msgs = await sub.fetch(self.batch, timeout=1)
                    except TimeoutError:  # nats-py raises its own or asyncio's
                        continue
                    await self.handle_batch(await self._linger(sub, msgs))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("consumer %s interrupted (%r); resuming", self.consumer.durable, exc)
                await asyncio.sleep(1)

    def lingers(self, msgs: Sequence[Msg]) -> bool:
        """Whether a fetched batch waits for more: a short one with no urgent event in it
        (a consumer that cannot be split into lanes, credit's `credit-registry`, takes
        commitments with registrations: a batch holding a commitment goes at once)."""
        return (
            self.linger_s > 0
            and len(msgs) < self.batch // 4
            and not any(m.subject in URGENT_SUBJECTS for m in msgs)
        )

    async def _linger(self, sub: Any, msgs: list[Msg]) -> list[Msg]:
        """A short batch of a routine lane waits `linger_s` for the events behind it, so a
        steady trickle is applied a few at a time: one fetch, one transaction and one inbox
        statement for the lot instead of one each (a backlog's full batch does not wait)."""
        if not self.lingers(msgs):
            return msgs
        await asyncio.sleep(self.linger_s)
        try:
            msgs += await sub.fetch(self.batch - len(msgs), timeout=LINGER_FETCH_S)
        except TimeoutError:  # nothing came meanwhile
            pass
        except Exception as exc:  # the batch in hand is applied all the same
            log.warning("consumer %s: no more after lingering (%r)", self.consumer.durable, exc)
        return msgs

    async def _measure(self, sub: Any) -> None:
        """The consumer's lag as the server counts it (every few seconds, per process)."""
        try:
            info = await sub.consumer_info()
        except Exception as exc:  # a metric is not worth stopping the consumer for
            log.debug("consumer %s: no consumer info (%r)", self.consumer.durable, exc)
            return
        PENDING.labels(self.consumer.durable).set(info.num_pending or 0)
        ACK_PENDING.labels(self.consumer.durable).set(info.num_ack_pending or 0)

    async def handle_batch(self, msgs: list[Msg]) -> None:
        """Apply a fetched batch in one transaction, then ack, nak or dead-letter each."""
        name = self.consumer.durable
        good: list[tuple[Msg, Decoded]] = []
        wanted = self.consumer.wanted
        for msg in msgs:
            try:
                decoded = decode(msg.data, msg.subject, self.consumer)
                if wanted is not None and not wanted(decoded[0]):
                    await msg.ack()
                    HANDLED.labels(name, "skipped").inc()
                    continue
                good.append((msg, decoded))
            except ForSibling:
                await msg.ack()
                HANDLED.labels(self.consumer.durable, "duplicate").inc()
            except PoisonMessage as exc:
                await self.dead_letter(msg, str(exc))
        if not good:
            return
        keep_alive = asyncio.create_task(self._keep_alive([m for m, _ in good]))  # noqa: RUF006 (awaited below)
        try:
            outcomes = await self._apply_with_patience(good)
            if outcomes is None:  # a handler or the commit failed: one at a time, kept alive
                for msg, _ in good:
                    await self.handle(msg)
                return
        finally:
            keep_alive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keep_alive
        failpoint("inbox.after_commit")
        for msg, outcome in zip((m for m, _ in good), outcomes, strict=True):
            # After the commit: a failed ack is redelivered and the inbox skips it.
            await msg.ack()
            HANDLED.labels(name, "applied" if outcome else "duplicate").inc()

    async def _apply_with_patience(self, good: list[tuple[Msg, Decoded]]) -> list[bool] | None:
        """Apply the batch, waiting out database outages; None if it failed otherwise."""
        name = self.consumer.durable
        while True:
            try:
                return await apply_batch(
                    self.sessionmaker,
                    self.consumer,
                    [d for _, d in good],
                    [_traceparent(m) for m, _ in good],
                )
            except Exception as exc:
                if is_outage(exc) and not await self._database_answers():
                    log.warning("consumer %s waiting for the database: %r", name, exc)
                    await asyncio.sleep(1)  # the keep-alive holds the messages meanwhile
                    continue
                log.warning("consumer %s batch failed (%r); one by one", name, exc)
                return None

    async def _keep_alive(self, msgs: list[Msg]) -> None:
        """While a batch runs, tell the server every 10 s that its messages are being worked
        on, so a slow batch is not redelivered elsewhere (nor counted as a failed delivery)."""
        while True:
            await asyncio.sleep(10)
            for msg in msgs:
                with contextlib.suppress(Exception):
                    await msg.in_progress()

    async def _failed(self, msg: Msg, event: CloudEvent, exc: Exception) -> None:
        """Nak with backoff, or dead-letter after `max_deliver` attempts."""
        name = self.consumer.durable
        attempt = msg.metadata.num_delivered or 1
        if attempt >= self.consumer.max_deliver:
            log.error("consumer %s gives up on %s: %r", name, event.id, exc)
            await self.dead_letter(msg, f"{type(exc).__name__}: {exc}")
            return
        log.warning("consumer %s failed on %s (attempt %d): %r", name, event.id, attempt, exc)
        HANDLED.labels(name, "retry").inc()
        await msg.nak(delay=BACKOFF_S[min(attempt - 1, len(BACKOFF_S) - 1)])

    async def handle(self, msg: Msg) -> None:
        """Apply one message, then ack, nak with backoff, or dead-letter it."""
        name = self.consumer.durable
        try:
            decoded = decode(msg.data, msg.subject, self.consumer)
        except ForSibling:
            await msg.ack()
            HANDLED.labels(name, "duplicate").inc()
            return
        except PoisonMessage as exc:
            await self.dead_letter(msg, str(exc))
            return
        event = decoded[0]
        if self.consumer.wanted is not None and not self.consumer.wanted(event):
            await msg.ack()
            HANDLED.labels(name, "skipped").inc()
            return
        while True:
            try:
                applied = await apply_once(
                    self.sessionmaker, self.consumer, decoded, _traceparent(msg)
                )
                break
            except Exception as exc:
                if is_outage(exc) and not await self._database_answers():
                    # Not the message's fault: keep it ours and wait for the database.
                    log.warning("consumer %s waiting for the database: %r", name, exc)
                    await msg.in_progress()
                    await asyncio.sleep(1)
                    continue
                await self._failed(msg, event, exc)
                return
        # Outside the try: a failed ack after the commit is redelivered and the inbox skips it.
        await msg.ack()
        HANDLED.labels(name, "applied" if applied else "duplicate").inc()

    async def _database_answers(self) -> bool:
        """True when PostgreSQL answers now: the failure was the handler's (e.g. a timeout)."""
        try:
            async with self.sessionmaker() as session:
                await asyncio.wait_for(session.execute(text("SELECT 1")), timeout=2)
        except Exception:
            return False
        return True

    async def dead_letter(self, msg: Msg, reason: str) -> None:
        """Copy the message to the dead-letter stream, then terminate it."""
        name = self.consumer.durable
        md = msg.metadata
        headers = {
            "Nats-Msg-Id": f"{name}:{md.stream}:{md.sequence.stream}",
            "X-Original-Subject": msg.subject,
            "X-Original-Stream": md.stream,
            "X-Consumer": name,
            "X-Error": header_text(reason[:1000]),
            "X-Deliveries": str(md.num_delivered),
        }
        await self.nats.js.publish(f"{DEAD_LETTER_PREFIX}.{name}", msg.data, headers=headers)
        await msg.term()
        HANDLED.labels(name, "dead_lettered").inc()


def retry_durable(service: str) -> str:
    """The durable on the RETRY stream through which a service takes retry requests."""
    return f"{service}-retries"


class RetryRunner:
    """Applies the dead letters an operator asked to retry, each through the consumer that
    dead-lettered it (same checks, same inbox: applied at most once). A letter that applies
    is removed from the DEADLETTER stream; one that fails again stays, with its first error."""

    def __init__(
        self,
        service: str,
        consumers: Sequence[Consumer],
        nats: NatsConnection,
        sessionmaker: async_sessionmaker[AsyncSession],
    ):
        self.durable = retry_durable(service)
        self.consumers = {c.durable: c for c in consumers}
        self.nats = nats
        self.sessionmaker = sessionmaker

    async def run(self) -> None:
        """Take retry requests forever; cancel to stop."""
        while True:
            try:
                await self.nats.wait_connected()
                sub = await self.nats.js.pull_subscribe_bind(self.durable, stream=RETRY_STREAM)
                while True:
                    try:
                        msgs = await sub.fetch(16, timeout=5)
                    except TimeoutError:
                        continue
                    for msg in msgs:
                        await self.handle(msg)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("retries %s interrupted (%r); resuming", self.durable, exc)
                await asyncio.sleep(1)

    async def handle(self, msg: Msg) -> None:
        """One request: `{"seq": n}` on `retry.<durable>`."""
        durable = msg.subject.removeprefix(f"{RETRY_PREFIX}.")
        consumer = self.consumers.get(durable)
        try:
            seq = int(json.loads(msg.data)["seq"])
        except (ValueError, KeyError, TypeError):
            seq = 0
        if consumer is None or seq < 1:
            log.warning("retry request %r on %s names nothing to retry", msg.data, msg.subject)
            await msg.term()
            return
        try:
            letter = await self.nats.js.get_msg(DEAD_LETTER_STREAM, seq)
        except NotFoundError:
            await msg.ack()  # retried (and removed) before
            return
        if letter.subject != f"{DEAD_LETTER_PREFIX}.{durable}" or letter.data is None:
            log.warning("dead letter %d is not one of %s's", seq, durable)
            await msg.ack()
            return
        original = str((letter.headers or {}).get("X-Original-Subject", ""))
        try:
            decoded = decode(letter.data, original, consumer)
            await apply_once(self.sessionmaker, consumer, decoded)
        except Exception as exc:
            if is_outage(exc):
                await msg.nak(delay=2)
                return
            log.warning("dead letter %d failed again (it stays): %r", seq, exc)
            HANDLED.labels(durable, "retry_failed").inc()
            await msg.ack()
            return
        with contextlib.suppress(NotFoundError):
            await self.nats.js.delete_msg(DEAD_LETTER_STREAM, seq)
        await msg.ack()
        HANDLED.labels(durable, "retried").inc()
