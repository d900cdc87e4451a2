"""Notify figures for `make bench`: webhook fan-out on the real path (registry → outbox →
NATS → notify's consumer → deliveries → dispatcher → a local receiver).

  1. one `registry.enterprise.registered` event to 1,000 webhook subscriptions: seconds from
     the registration to the last delivery received;
  2. 20 events to the same 1,000, 100 of which now answer 500: deliveries/s of the 18,000
     that succeed (the failing ones are retried on their backoff meanwhile).
The receiver is an aiohttp server in the bench process, allowed by `NOTIFY_WEBHOOK_ALLOW`.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from deploy.launcher import Stack
from kit.uscc import generate
from tests.helpers import enterprise_body

SUBSCRIBERS = 1_000
FAILING = 100
EVENTS = 20
ALLOW = "127.0.0.1"


@dataclass
class FanoutFigures:
    """Fan-out, measured."""

    subscribers: int
    fanout_s: float
    events: int
    failing: int
    delivered: int
    sustained_s: float

    @property
    def deliveries_per_s(self) -> float:
        return self.delivered / self.sustained_s


class Receiver:
    """Counts successful deliveries (distinct webhook-ids) as they arrive."""

    def __init__(self) -> None:
        self.ok: set[str] = set()
        self.failed_requests = 0
        self.changed = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        if request.match_info["kind"] == "fail":
            self.failed_requests += 1
            return web.Response(status=500)
        self.ok.add(request.headers["webhook-id"])
        self.changed.set()
        return web.Response(status=204)

    async def until(self, count: int, limit_s: float = 600) -> float:
        """Wait until `count` successful deliveries; returns the monotonic time then."""
        deadline = time.monotonic() + limit_s
        while len(self.ok) < count:
            self.changed.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{len(self.ok)} of {count} deliveries")
            await asyncio.wait_for(self.changed.wait(), remaining)
        return time.monotonic()


async def scenarios(stack: Stack, bearer: str) -> FanoutFigures:
    """Subscribe, register, count."""
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/{kind}/{n}", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    headers = {"Authorization": f"Bearer {bearer}"}
    try:
        async with aiohttp.ClientSession(stack.url("gateway"), headers=headers) as session:
            gate = asyncio.Semaphore(16)

            async def subscribe(n: int) -> str:
                async with (
                    gate,
                    session.post(
                        "/v1/subscriptions",
                        json={
                            "event_types": ["registry.enterprise.registered"],
                            "channel": "webhook",
                            "url": f"http://127.0.0.1:{port}/ok/{n}",
                        },
                    ) as r,
                ):
                    body = await r.json()
                    assert r.status == 201, body
                    return str(body["id"])

            ids = await asyncio.gather(*(subscribe(n) for n in range(SUBSCRIBERS)))

            async def register(uscc: str) -> None:
                async with session.post("/v1/enterprises", json=enterprise_body(uscc)) as r:
                    assert r.status == 201, await r.text()

            rng = random.Random(23)
            started = time.monotonic()
            await register(generate(rng))
            fanout_s = await receiver.until(SUBSCRIBERS) - started

            async def fail(subscription_id: str, n: int) -> None:
                async with (
                    gate,
                    session.patch(
                        f"/v1/subscriptions/{subscription_id}",
                        json={"url": f"http://127.0.0.1:{port}/fail/{n}"},
                    ) as r,
                ):
                    assert r.status == 200, await r.text()

            await asyncio.gather(*(fail(i, n) for n, i in enumerate(ids[:FAILING])))
            expected = SUBSCRIBERS + EVENTS * (SUBSCRIBERS - FAILING)
            started = time.monotonic()
            for _ in range(EVENTS):
                await register(generate(rng))
            sustained_s = await receiver.until(expected) - started
    finally:
        await runner.cleanup()
    return FanoutFigures(
        SUBSCRIBERS,
        fanout_s,
        EVENTS,
        FAILING,
        EVENTS * (SUBSCRIBERS - FAILING),
        sustained_s,
    )


def report(figures: FanoutFigures) -> list[str]:
    """Markdown rows."""
    return [
        "",
        f"notify fan-out: {figures.subscribers:,} webhook subscriptions on a local receiver",
        "",
        "| one event to all: s | events | failing receivers | delivered | s | deliveries/s |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {figures.fanout_s:.2f} | {figures.events} | {figures.failing} | "
        f"{figures.delivered:,} | {figures.sustained_s:.2f} | {figures.deliveries_per_s:,.0f} |",
    ]
