"""NATS connection that survives outages: connects in the background and reconnects forever."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from dataclasses import dataclass
from typing import Any

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext

log = logging.getLogger("kit.messaging")


class NatsUnavailable(ConnectionError):
    """NATS is not connected right now."""


@dataclass(frozen=True)
class NatsIdentity:
    """Who a client is to NATS: user and password, and optionally TLS (a CA to trust, and a
    client certificate where the server asks for one). Each identity has its own reply inbox
    prefix, which is all its permissions let it subscribe to."""

    user: str = ""
    password: str = ""
    tls_ca_file: str = ""
    tls_cert_file: str = ""
    tls_key_file: str = ""

    def options(self, url: str) -> dict[str, Any]:
        """Keyword arguments for `nats.connect` (servers included)."""
        options: dict[str, Any] = {"servers": url.split(",")}
        if self.user:
            options |= {
                "user": self.user,
                "password": self.password,
                "inbox_prefix": f"_INBOX_{self.user}",
            }
        if self.tls_ca_file or url.startswith("tls://"):
            context = ssl.create_default_context(cafile=self.tls_ca_file or None)
            if self.tls_cert_file:
                context.load_cert_chain(self.tls_cert_file, self.tls_key_file or None)
            options["tls"] = context
        return options


async def connect(url: str, identity: NatsIdentity, **extra: Any) -> Client:
    """One connection as `identity` (deploy code, tests and tools; services keep a
    `NatsConnection`)."""
    return await nats.connect(**identity.options(url), **extra)


class NatsConnection:
    """Owns one NATS client; `js` raises `NatsUnavailable` while disconnected."""

    def __init__(self, url: str, *, name: str, identity: NatsIdentity | None = None):
        self.url = url
        self.name = name
        self.identity = identity or NatsIdentity()
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
                    **self.identity.options(self.url),
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
        # A permissions violation is a deployment error (an identity without a right its
        # code needs): loud. The rest (a lost connection, a slow consumer) is routine.
        if "permission" in str(exc).lower() or "authorization" in str(exc).lower():
            log.error("NATS refused %s: %s", self.identity.user or "anonymous", exc)
        else:
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
