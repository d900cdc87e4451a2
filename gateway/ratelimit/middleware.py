"""Rate limits: one bucket per caller (and per caller and route for listed routes), shared by
every gateway process through the gateway's database.

Limits come from the client's record (`rate_limit_per_s`, `rate_limit_burst`; 0 means no
limit) or the gateway defaults; callers without a valid token are limited by their address:
the connection's peer, or the client a proxy named in `ZONE_TRUSTED_PROXIES` states (no one
by default, so an `X-Forwarded-For` of the caller's own cannot make a new caller).

Why a shared row rather than a share of the rate in each process: the gateway runs W uvicorn
workers × R replicas and each connection lands on one of them. Buckets kept in each process
admitted up to W × R times the rate; admitting 1/(W × R) in each would hold the total, but a
keep-alive client talks to one process and would get a fraction of its limit, and R moves
with the autoscaler. So each limited request costs one statement on the gateway's database:
an UPSERT of the bucket's theoretical arrival time (GCRA, the same rate-and-burst semantics
as a token bucket) that admits or refuses atomically, in an UNLOGGED table (never fsynced; a
crash of PostgreSQL refills every bucket). Unlimited callers (rate 0, like `demo-admin`, which
the bench drives) cost nothing. When the database does not answer, each process limits on its
own (up to W × R times the rate) for `FALLBACK_S` before trying it again: an outage of the
gateway's database never fails a request on the limiter's account.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass

import asyncpg
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.audit.middleware import caller_of
from gateway.clients.models import OAuthClient
from gateway.config import GatewaySettings
from gateway.ratelimit.models import RateLimitBucket
from kit.outbox import asyncpg_dsn
from kit.problems import problem_response

log = logging.getLogger("gateway.ratelimit")

CLIENT_CACHE_S = 30.0
MAX_BUCKETS = 50_000  # of the fallback's buckets in one process
FALLBACK_S = 10.0  # after a database error, limit in-process this long before trying again
TAKE_TIMEOUT_S = 2.0  # a statement longer than this, and the process decides on its own
SLACK_S = 1e-4  # float rounding must not refuse the last request of a burst


# $1 key, $2 emission interval (1/rate), $3 tolerance (burst × interval). Admits when the
# arrival time pushed one interval on stays within the tolerance of now; a refusal writes
# nothing, and its wait is read from the statement's snapshot (NULL if the row is new).
TAKE = """
WITH clock AS (SELECT extract(epoch FROM now())::float8 AS now),
taken AS (
    INSERT INTO rate_limit_buckets AS b (key, tat)
    SELECT $1::text, now + $2::float8 FROM clock
    ON CONFLICT (key) DO UPDATE
        SET tat = greatest(b.tat, excluded.tat - $2::float8) + $2::float8
        WHERE greatest(b.tat, excluded.tat - $2::float8) + $2::float8
            <= excluded.tat - $2::float8 + $3::float8
    RETURNING 1
)
SELECT EXISTS (SELECT FROM taken),
    (SELECT tat FROM rate_limit_buckets WHERE key = $1::text) + $2::float8 - $3::float8 - now
FROM clock
"""


class SharedBuckets:
    """GCRA buckets in the gateway's database: every process and replica takes from the same.

    A small asyncpg pool of its own: one statement in autocommit is one round trip, and the
    plain driver costs about half the CPU per take of a SQLAlchemy connection (measured in
    the commit that introduced it).
    """

    def __init__(self, database_url: str, *, connect_timeout_s: float, max_connections: int = 4):
        self.dsn = asyncpg_dsn(database_url)
        self.connect_timeout_s = connect_timeout_s
        self.max_connections = max_connections
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def take(self, key: str, rate: float, burst: float) -> float:
        """Take one request; returns 0, or the seconds until one is admitted."""
        interval = 1.0 / rate
        tolerance = max(burst, 1.0) * interval + SLACK_S
        pool = self._pool or await self._open()
        # the pool's command timeout bounds each statement, so a wait for a connection too
        # (an explicit timeout on each acquire would cost a third more CPU)
        row = await pool.fetchrow(TAKE, key, interval, tolerance)
        assert row is not None
        if row[0]:
            return 0.0
        return max(float(row[1]), SLACK_S) if row[1] is not None else interval

    async def _open(self) -> asyncpg.Pool:
        async with self._opening:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self.dsn,
                    min_size=1,
                    max_size=self.max_connections,
                    timeout=self.connect_timeout_s,
                    command_timeout=TAKE_TIMEOUT_S,
                )
            return self._pool

    async def close(self) -> None:
        """Close the pool."""
        if self._pool is not None:
            await self._pool.close()


async def prune(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Drop buckets that are full again (their arrival time has passed): a missing row is
    the same bucket."""
    async with sessionmaker() as session, session.begin():
        await session.execute(
            delete(RateLimitBucket).where(RateLimitBucket.tat < func.extract("epoch", func.now()))
        )


@dataclass
class Bucket:
    """Tokens refill at `rate` per second up to `burst` (the in-process fallback)."""

    rate: float
    burst: float
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """Take one token; returns 0, or the seconds until one is available."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class RateLimitMiddleware:
    """Answers 429 with `Retry-After` when a caller's bucket is empty."""

    def __init__(self, app: ASGIApp, *, settings: GatewaySettings):
        self.app = app
        self.settings = settings
        self.shared_down_until = 0.0
        self.buckets: dict[tuple[str, str], Bucket] = {}
        self.client_limits: dict[str, tuple[float, float, float]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        caller, rate, burst = await self._caller(scope)
        wait = await self._take(scope, (caller, ""), rate, burst)
        for prefix, (route_rate, route_burst) in self.settings.route_rate_limits.items():
            if scope["path"].startswith(prefix):
                wait = max(wait, await self._take(scope, (caller, prefix), route_rate, route_burst))
                break
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            response = problem_response(
                Request(scope),
                "rate-limited",
                f"rate limit exceeded for {caller}; retry in {seconds} s",
                detail_zh=f"{caller} 的请求超过频率限制；请在 {seconds} 秒后重试",
                headers={"Retry-After": str(seconds)},
                retry_after_s=seconds,
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _take(self, scope: Scope, key: tuple[str, str], rate: float, burst: float) -> float:
        if rate <= 0:
            return 0.0
        now = time.monotonic()
        if now >= self.shared_down_until:
            try:
                shared: SharedBuckets = scope["app"].state.rate_limits
                return await shared.take(f"{key[0]}|{key[1]}", rate, burst)
            except Exception as exc:
                log.warning("rate limits kept in this process for %.0f s (%r)", FALLBACK_S, exc)
                self.shared_down_until = time.monotonic() + FALLBACK_S
                now = time.monotonic()
        bucket = self.buckets.get(key)
        if bucket is None or bucket.rate != rate or bucket.burst != burst:
            if len(self.buckets) >= MAX_BUCKETS:
                self.buckets.clear()  # crude but bounded; limits restart generously
            bucket = self.buckets[key] = Bucket(rate, burst, burst, now)
        return bucket.take(now)

    async def _caller(self, scope: Scope) -> tuple[str, float, float]:
        principal = await caller_of(scope)
        if principal is not None:
            rate, burst = await self._limits_of(scope, principal.subject)
            return f"client:{principal.subject}", rate, burst
        host = scope["client"][0] if scope.get("client") else "unknown"
        return f"ip:{host}", self.settings.rate_limit_per_s, self.settings.rate_limit_burst

    async def _limits_of(self, scope: Scope, client_id: str) -> tuple[float, float]:
        cached = self.client_limits.get(client_id)
        now = time.monotonic()
        if cached is not None and now - cached[2] < CLIENT_CACHE_S:
            return cached[0], cached[1]
        rate, burst = self.settings.rate_limit_per_s, float(self.settings.rate_limit_burst)
        try:
            async with scope["app"].state.sessionmaker() as session:
                row = (
                    await session.execute(
                        select(OAuthClient.rate_limit_per_s, OAuthClient.rate_limit_burst).where(
                            OAuthClient.client_id == client_id
                        )
                    )
                ).first()
        except Exception:
            row = None  # database trouble: fall back to the defaults, never fail the request
        if row is not None:
            rate = row[0] if row[0] is not None else rate
            burst = float(row[1]) if row[1] is not None else burst
        self.client_limits[client_id] = (rate, burst, now)
        return rate, burst
