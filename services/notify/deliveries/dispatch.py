"""The dispatcher: claims due deliveries under a lease, sends them signed, records each
attempt, and schedules the next with exponential backoff and jitter until the retry window
ends; a webhook that keeps failing is disabled and its owner told.

Any number of processes may run it (`FOR UPDATE SKIP LOCKED`). A process killed mid-send
leaves its claimed rows leased; when the lease ends they are sent again with the same
`webhook-id`, so a receiver that already acknowledged one recognises the repeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from prometheus_client import Counter, Histogram
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kit.db import listen, utcnow
from kit.events import DeliveryFailed
from kit.outbox import asyncpg_dsn
from kit.problems import is_outage
from services.notify import signing, ssrf
from services.notify.config import settings
from services.notify.deliveries.models import WAKE_CHANNEL
from services.notify.events import publish
from services.notify.inbox.service import Recipient, send

log = logging.getLogger("notify.dispatch")
RESPONSE_BYTES = 4096

DELIVERED = Counter("webhook_deliveries_total", "Webhook delivery attempts by outcome", ["outcome"])
OUTCOMES = ("delivered", "failed")
LATENCY = Histogram("webhook_delivery_seconds", "Webhook attempt duration")

CLAIM = text("""
UPDATE deliveries d SET lease_until = now() + make_interval(secs => :lease)
FROM subscriptions s
WHERE s.id = d.subscription_id AND d.id IN (
    SELECT id FROM deliveries
    WHERE status = 'pending' AND next_attempt_at <= now()
      AND (lease_until IS NULL OR lease_until < now())
      AND EXISTS (SELECT 1 FROM subscriptions a
                  WHERE a.id = deliveries.subscription_id AND a.status = 'active')
    ORDER BY next_attempt_at LIMIT :n FOR UPDATE SKIP LOCKED)
RETURNING d.id, d.attempts, d.window_start, d.lease_until, d.payload::text AS payload,
          d.subscription_id, s.url, s.secret, s.previous_secret, s.previous_secret_until
""")


def backoff(attempt: int, rng: random.Random | None = None) -> float:
    """Seconds before attempt `attempt + 1`: base · 2^(attempt−1), capped, with jitter
    (between half and all of it), so receivers that failed together do not retry together."""
    exponent = min(max(0, attempt - 1), 40)
    delay: float = min(settings.retry_cap_s, settings.retry_base_s * 2**exponent)
    return delay * (0.5 + 0.5 * (rng or random).random())


@dataclass
class Outcome:
    """One attempt's result."""

    delivery_id: uuid.UUID
    subscription_id: uuid.UUID
    lease: datetime
    attempts: int
    window_start: datetime
    ok: bool
    status: int | None
    error: str | None
    duration_ms: int
    started: datetime
    event: dict[str, Any]


class Dispatcher:
    """One per process; `run()` until cancelled."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]):
        self.sessionmaker = sessionmaker
        self._wake = asyncio.Event()
        self._allowed = ssrf.allow_list(settings.webhook_allow)
        for outcome in OUTCOMES:  # at 0 from the start, as `WebhooksFailing` needs
            DELIVERED.labels(outcome)

    async def run(self) -> None:
        connector = aiohttp.TCPConnector(
            limit=settings.dispatch_concurrency,
            resolver=ssrf.GuardedResolver(settings.webhook_allow),
            use_dns_cache=False,  # every connection's addresses pass the guard
        )
        timeout = aiohttp.ClientTimeout(total=settings.webhook_timeout_s)
        # Woken on commit of a delivery due now; retries set for later are found by the poll.
        listener = asyncio.create_task(
            listen(asyncpg_dsn(settings.database_url), WAKE_CHANNEL, self._wake),
            name="webhook-dispatch-listen",
        )
        async with aiohttp.ClientSession(
            connector=connector, timeout=timeout, auto_decompress=False
        ) as http:
            try:
                while True:
                    self._wake.clear()
                    try:
                        sent = await self.round(http)
                    except Exception as exc:  # an outage: wait and try again
                        if not is_outage(exc):
                            log.exception("dispatch round failed")
                        sent = 0
                    if sent == 0:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._wake.wait(), settings.dispatch_poll_s)
            finally:
                listener.cancel()

    async def round(self, http: aiohttp.ClientSession) -> int:
        """Claim, send, record; returns how many were attempted."""
        lease = settings.webhook_timeout_s + settings.lease_s
        async with self.sessionmaker() as session, session.begin():
            rows = (
                await session.execute(CLAIM, {"lease": lease, "n": settings.dispatch_batch})
            ).all()
        if not rows:
            return 0
        gate = asyncio.Semaphore(settings.dispatch_concurrency)

        async def one(row: Any) -> Outcome:
            async with gate:
                return await self.attempt(http, row)

        outcomes = await asyncio.gather(*(one(r) for r in rows))
        async with self.sessionmaker() as session, session.begin():
            await self.record(session, outcomes)
        return len(rows)

    def _refused(self, url: str) -> str | None:
        """Shape checks, and an IP literal judged here (aiohttp resolves no literal; host
        names are judged by the connector's `GuardedResolver`)."""
        try:
            host, _ = ssrf.check_url(url, require_https=settings.profile == "prod")
        except ssrf.Refused as exc:
            return str(exc)
        if host in self._allowed[0]:
            return None
        try:
            literal = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return None
        reason = ssrf.refusal(literal, self._allowed[1])
        return f"{literal} is {reason}" if reason else None

    async def attempt(self, http: aiohttp.ClientSession, row: Any) -> Outcome:
        """Send one delivery (re-checking the target: DNS may have changed)."""
        started = utcnow()
        clock = time.perf_counter()
        status: int | None = None
        error: str | None = None
        event = json.loads(row.payload)
        error = self._refused(row.url)
        if error is None:
            secrets_ = [row.secret]
            if (
                row.previous_secret
                and row.previous_secret_until
                and row.previous_secret_until > started
            ):
                secrets_.append(row.previous_secret)
            body = row.payload.encode()
            headers = signing.headers(secrets_, str(row.id), int(started.timestamp()), body)
            try:
                async with http.post(
                    row.url, data=body, headers=headers, allow_redirects=False
                ) as r:
                    status = r.status
                    await r.content.read(RESPONSE_BYTES)  # never more of a receiver's answer
                    if not 200 <= status < 300:
                        error = f"HTTP {status}"
            except TimeoutError:
                error = f"no answer within {settings.webhook_timeout_s:g} s"
            except (aiohttp.ClientError, OSError) as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
            except Exception as exc:  # whatever else: this attempt failed, the round goes on
                log.exception("webhook attempt %s failed unexpectedly", row.id)
                error = type(exc).__name__
        duration = time.perf_counter() - clock
        LATENCY.observe(duration)
        DELIVERED.labels("delivered" if error is None else "failed").inc()
        return Outcome(
            row.id,
            row.subscription_id,
            row.lease_until,
            row.attempts + 1,
            row.window_start,
            error is None,
            status,
            error,
            int(duration * 1000),
            started,
            event,
        )

    async def record(self, session: AsyncSession, outcomes: list[Outcome]) -> None:
        """Attempts, delivery states and failure counts in one transaction."""
        now = utcnow()
        window = timedelta(seconds=settings.retry_window_s)
        await session.execute(
            text(
                "INSERT INTO delivery_attempts (id, delivery_id, attempted_at, status_code, "
                "error, duration_ms) VALUES (:id, :delivery_id, :at, :status, :error, :ms)"
            ),
            [
                {
                    "id": uuid.uuid4(),
                    "delivery_id": o.delivery_id,
                    "at": o.started,
                    "status": o.status,
                    "error": o.error,
                    "ms": o.duration_ms,
                }
                for o in outcomes
            ],
        )
        updates = []
        failed: list[Outcome] = []
        for o in outcomes:
            if o.ok:
                state, next_at = "delivered", now
            elif now - o.window_start >= window:
                state, next_at = "failed", now
                failed.append(o)
            else:
                state, next_at = "pending", now + timedelta(seconds=backoff(o.attempts))
            updates.append(
                {
                    "id": o.delivery_id,
                    "state": state,
                    "attempts": o.attempts,
                    "next_at": next_at,
                    "status": o.status,
                    "error": o.error,
                    "delivered_at": now if o.ok else None,
                    "lease": o.lease,
                }
            )
        await session.execute(
            text(
                "UPDATE deliveries SET status = :state, attempts = :attempts, "
                "next_attempt_at = :next_at, lease_until = NULL, last_status = :status, "
                "last_error = :error, delivered_at = :delivered_at "
                "WHERE id = :id AND lease_until = :lease"  # still ours: not re-claimed
            ),
            updates,
        )
        by_subscription: dict[uuid.UUID, list[Outcome]] = {}
        for o in outcomes:
            by_subscription.setdefault(o.subscription_id, []).append(o)
        for subscription_id, mine in sorted(by_subscription.items()):  # one lock order
            await self._count(session, subscription_id, mine)
        for o in failed:
            await publish(
                session,
                "notify.delivery.failed.v1",
                str(o.subscription_id),
                DeliveryFailed(
                    delivery_id=str(o.delivery_id),
                    subscription_id=str(o.subscription_id),
                    event_id=str(o.event.get("id")),
                    event_type=str(o.event.get("type")),
                    attempts=o.attempts,
                    last_error=o.error,
                ),
            )

    async def _count(
        self, session: AsyncSession, subscription_id: uuid.UUID, outcomes: list[Outcome]
    ) -> None:
        """Consecutive failures per webhook and since when; past both limits it is disabled,
        with a notice to its owner."""
        last_ok = max((i for i, o in enumerate(outcomes) if o.ok), default=-1)
        failures = outcomes[last_ok + 1 :]
        row = (
            await session.execute(
                text(
                    "UPDATE subscriptions SET "
                    "consecutive_failures = CASE WHEN :reset THEN :n "
                    "ELSE consecutive_failures + :n END, "
                    "failing_since = CASE WHEN :n = 0 THEN NULL "
                    "WHEN :reset OR failing_since IS NULL THEN :first ELSE failing_since END "
                    "WHERE id = :id RETURNING consecutive_failures, failing_since, status, "
                    "owner_kind, owner, url, language"
                ),
                {
                    "reset": last_ok >= 0,
                    "n": len(failures),
                    "first": failures[0].started if failures else None,
                    "id": subscription_id,
                },
            )
        ).one()
        if (
            row.status != "active"
            or row.consecutive_failures < settings.disable_after_failures
            or row.failing_since is None
            or utcnow() - row.failing_since < timedelta(seconds=settings.disable_after_s)
        ):
            return
        reason = outcomes[-1].error or "failed"
        await session.execute(
            text(
                "UPDATE subscriptions SET status = 'disabled', disabled_reason = :reason, "
                "version = version + 1 WHERE id = :id"
            ),
            {"reason": reason, "id": subscription_id},
        )
        await send(
            session,
            "webhook.disabled",
            "system",
            [Recipient(row.owner_kind, row.owner, row.language)],
            {
                "url": row.url,
                "reason": reason,
                "failures": row.consecutive_failures,
                "subscription_id": str(subscription_id),
            },
            data={"subscription_id": str(subscription_id)},
        )
        log.warning(
            "webhook %s disabled after %s failures", subscription_id, row.consecutive_failures
        )
