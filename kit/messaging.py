"""NATS connection that survives outages: connects in the background and reconnects forever."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext

log = logging.getLogger("kit.messaging")


class NatsUnavailable(ConnectionError):
    """NATS is not connected right now."""


class NatsConnection:
    """Owns one NATS client; `js` raises `NatsUnavailable` while disconnected."""

    def __init__(self, url: str, *, name: str):
        self.url = url
        self.name = name
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Begin connecting; returns at once (an outage at start-up is not fatal)."""
        self._task = asyncio.create_task(self._connect_forever(), name=f"nats-connect-{self.name}")
        try:
            await asyncio.wait_for(self._connected.wait(), timeout=3)
        except TimeoutError:
            log.warning("NATS at %s not reachable yet; continuing and retrying", self.url)

    async def _connect_forever(self) -> None:
        delay = 0.2
        while self._nc is None:
            try:
                self._nc = await nats.connect(
                    self.url.split(","),
                    name=self.name,
                    connect_timeout=2,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    disconnected_cb=self._on_disconnect,
                    reconnected_cb=self._on_reconnect,
                    error_cb=self._on_error,
                )
            except Exception as exc:
                log.warning("NATS connect failed (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        self._js = self._nc.jetstream(timeout=5)
        self._connected.set()
        log.info("connected to NATS at %s", self.url)

    async def _on_disconnect(self) -> None:
        self._connected.clear()
        log.warning("NATS disconnected")

    async def _on_reconnect(self) -> None:
        self._connected.set()
        log.info("NATS reconnected")

    async def _on_error(self, exc: Exception) -> None:
        log.debug("NATS error: %r", exc)

    @property
    def connected(self) -> bool:
        """True while the client has a live connection."""
        return self._nc is not None and self._nc.is_connected

    @property
    def client(self) -> Client:
        """The raw client; raises while disconnected."""
        if self._nc is None or not self._nc.is_connected:
            raise NatsUnavailable(f"NATS at {self.url} is not connected")
        return self._nc

    @property
    def js(self) -> JetStreamContext:
        """JetStream context; raises while disconnected."""
        self.client  # noqa: B018 - raises when disconnected
        assert self._js is not None
        return self._js

    async def wait_connected(self) -> None:
        """Block until connected."""
        await self._connected.wait()

    async def close(self) -> None:
        """Close (no drain: consumers are stopped first, and whatever they had not acked is
        redelivered to the next consumer, where the inbox keeps it from applying twice)."""
        if self._task and not self._task.done():
            self._task.cancel()
        if self._nc is not None and not self._nc.is_closed:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._nc.close(), timeout=3)
