"""Rate limits: a token bucket per client (and per client and route for listed routes).

Limits come from the client's record (`rate_limit_per_s`, `rate_limit_burst`; 0 means no
limit) or the gateway defaults; callers without a valid token are limited by IP. Buckets
live in each gateway process, so N replicas admit up to N times the configured rate.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from sqlalchemy import select
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.clients.models import OAuthClient
from gateway.config import GatewaySettings
from kit.auth import principal_of_scope
from kit.problems import problem_response

CLIENT_CACHE_S = 30.0
MAX_BUCKETS = 50_000


@dataclass
class Bucket:
    """Tokens refill at `rate` per second up to `burst`."""

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
        self.buckets: dict[tuple[str, str], Bucket] = {}
        self.client_limits: dict[str, tuple[float, float, float]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        caller, rate, burst = await self._caller(scope)
        now = time.monotonic()
        wait = self._take((caller, ""), rate, burst, now)
        for prefix, (route_rate, route_burst) in self.settings.route_rate_limits.items():
            if scope["path"].startswith(prefix):
                wait = max(wait, self._take((caller, prefix), route_rate, route_burst, now))
                break
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            response = problem_response(
                Request(scope),
                "rate-limited",
                f"rate limit exceeded for {caller}; retry in {seconds} s",
                headers={"Retry-After": str(seconds)},
                retry_after_s=seconds,
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _take(self, key: tuple[str, str], rate: float, burst: float, now: float) -> float:
        if rate <= 0:
            return 0.0
        bucket = self.buckets.get(key)
        if bucket is None or bucket.rate != rate or bucket.burst != burst:
            if len(self.buckets) >= MAX_BUCKETS:
                self.buckets.clear()  # crude but bounded; limits restart generously
            bucket = self.buckets[key] = Bucket(rate, burst, burst, now)
        return bucket.take(now)

    async def _caller(self, scope: Scope) -> tuple[str, float, float]:
        principal = await principal_of_scope(scope)
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
