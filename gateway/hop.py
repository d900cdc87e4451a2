"""The forwarded request's hop to a service: HTTP/1.1 on asyncio and httptools, over a
keep-alive pool per service (#24).

aiohttp's client cost the gateway 0.41–0.55 ms of CPU per forwarded request; a bare asyncio
connection with httptools parsing 0.16–0.19 ms. The forwarder needs little of a client: it
sends a target and headers it has already checked, reads one answer at a time per
connection, and relays the answer's bytes as they come. So this is that much and no more:
no redirects, cookies, decompression or proxies. The gateway's own calls (the profile, the
dossier, readiness) keep aiohttp's client.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import AsyncIterator, Callable
from typing import cast
from urllib.parse import urlsplit

import httptools

# Closed here before the services close it (their keep-alive is 75 s, deploy/launcher.py).
IDLE_S = 30.0
CONNECT_S = 3.0
# Body bytes held from a service before reading from it pauses (a slow caller slows it).
_HIGH_WATER = 256 * 1024


class UpstreamClosed(ConnectionError):
    """The connection closed before any byte of the answer: a read may be sent again."""


class UpstreamBroken(ConnectionError):
    """The answer was cut short or was not HTTP."""


class Budget:
    """A request's time: `total` for all of it, or `per_read` between two pieces of the
    answer (a list's export). Either may be None (no limit)."""

    __slots__ = ("deadline", "per_read")

    def __init__(self, total: float | None, per_read: float | None):
        self.deadline = None if total is None else time.monotonic() + total
        self.per_read = per_read

    def left(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()


class Connection(asyncio.Protocol):
    """One keep-alive connection to a service; one request on it at a time."""

    def __init__(self, pool: Pool):
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.idle_since = 0.0
        self.released = True
        self.lease = 0  # which request holds it: one more each time one is sent on it
        self._waiter: asyncio.Future[None] | None = None
        self._drain: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._begin(head_request=False)

    def _begin(self, *, head_request: bool) -> None:
        self.head_request = head_request
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.length: int | None = None
        self.chunked = False
        self.head_done = False
        self.done = False
        self.got_bytes = False
        self.keep_alive = True
        self.error: BaseException | None = None
        self.body: collections.deque[bytes] = collections.deque()
        self.buffered = 0
        self.reading_paused = False

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        if self.released or self.done:  # nothing asked: a service does not speak first
            self._fail(UpstreamBroken("bytes from the service between requests"))
            return
        self.got_bytes = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamBroken(f"not an HTTP answer: {exc}"))

    def eof_received(self) -> bool | None:
        return None  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.released and not self.done and self.error is None:
            if self.head_done and self.length is None and not self.chunked:
                self.done = True  # an answer delimited by the close: it ends here
            elif not self.got_bytes:
                self.error = UpstreamClosed("the service closed the connection")
            else:
                self.error = UpstreamBroken("the service closed the connection mid-answer")
        self._wake()
        if self._drain is not None and not self._drain.done():
            # a result, not the error: nobody awaits it but a streamed upload, which looks
            # at the error next (an unretrieved exception would be logged as a bug)
            self._drain.set_result(None)
        self._cancel_timer()

    def pause_writing(self) -> None:
        if self._drain is None or self._drain.done():
            self._drain = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    # httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 200:  # 100 Continue and its kind: the answer is still to come
            self.headers = []
            return
        self.status = status
        self.keep_alive = self.parser.should_keep_alive()
        for name, value in self.headers:
            lowered = name.lower()
            if lowered == b"content-length" and value.strip().isdigit():
                self.length = int(value)
            elif lowered == b"transfer-encoding" and b"chunked" in value.lower():
                self.chunked = True
        self.head_done = True
        if self.head_request or status in (204, 304):
            # no body follows, whatever the headers say (a HEAD's length is the GET's); the
            # parser would wait for one after a HEAD, so that connection is not used again
            self.done = True
            self.keep_alive = self.keep_alive and not self.head_request
        self._wake()

    def on_body(self, body: bytes) -> None:
        if self.done:
            return
        self.body.append(body)
        self.buffered += len(body)
        if self.buffered > _HIGH_WATER and not self.reading_paused and self.transport:
            self.reading_paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self.head_done:
            self.done = True
            self._wake()

    # the request

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _fail(self, error: BaseException) -> None:
        if self.error is None:
            self.error = error
        self.keep_alive = False
        if self.transport is not None:
            self.transport.abort()
        self._wake()

    def _on_timeout(self) -> None:
        self._timer = None
        self._fail(TimeoutError("the service did not answer in time"))

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm(self, budget: Budget) -> None:
        """Time the next wait: to the request's deadline, or per read."""
        loop = asyncio.get_running_loop()
        if budget.per_read is not None:
            self._cancel_timer()
            self._timer = loop.call_later(budget.per_read, self._on_timeout)
        elif budget.deadline is not None and self._timer is None:
            self._timer = loop.call_at(
                loop.time() + max(0.0, budget.deadline - time.monotonic()), self._on_timeout
            )

    async def _wait(self) -> None:
        if self.error is not None:
            raise self.error
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None
        if self.error is not None:
            raise self.error

    def start(self, head: bytes, body: bytes, *, head_request: bool, budget: Budget) -> None:
        """Send a request whose body is at hand."""
        assert self.transport is not None
        self.released = False
        self.lease += 1
        self._begin(head_request=head_request)
        self._arm(budget)
        self.transport.write(head + body if len(body) < 16 * 1024 else head)
        if len(body) >= 16 * 1024:
            self.transport.write(body)

    async def start_streaming(
        self, head: bytes, body: AsyncIterator[bytes], *, budget: Budget
    ) -> None:
        """Send a request whose body comes in pieces (chunked, as it arrives)."""
        assert self.transport is not None
        self.released = False
        self.lease += 1
        self._begin(head_request=False)
        self._arm(budget)
        self.transport.write(head)
        # the caller's pace is held to the budget too: a stalled upload is a 504, not a
        # connection held for as long as the caller keeps still
        async with asyncio.timeout(budget.left()):
            async for piece in body:
                if self.error is not None or self.closed:
                    raise self.error or UpstreamBroken("the service closed the connection")
                if piece:
                    self.transport.write(b"%x\r\n%b\r\n" % (len(piece), piece))
                if self._drain is not None and not self._drain.done():
                    await self._drain
        if self.error is not None or self.closed:
            raise self.error or UpstreamBroken("the service closed the connection")
        self.transport.write(b"0\r\n\r\n")

    async def answer(self) -> None:
        """Wait for the answer's status and headers."""
        while not self.head_done:
            await self._wait()

    async def read(self) -> bytes:
        """The rest of the body, whole."""
        while not self.done:
            await self._wait()
        payload = b"".join(self.body)
        self.body.clear()
        return payload

    async def pieces(self, budget: Budget) -> AsyncIterator[bytes]:
        """The body as it comes."""
        while True:
            if self.body:
                piece = b"".join(self.body)
                self.body.clear()
                self.buffered = 0
                if self.reading_paused and self.transport is not None:
                    self.reading_paused = False
                    self.transport.resume_reading()
                if budget.per_read is not None:
                    self._cancel_timer()  # the caller's pace is not the service's
                yield piece
            elif self.done:
                return
            else:
                if budget.per_read is not None:
                    self._arm(budget)
                await self._wait()

    def close(self) -> None:
        """Close it (idle, or at shutdown)."""
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def release(self, lease: int | None = None) -> None:
        """Back to the pool when its answer was read to the end and it may be kept; closed
        otherwise. Once per request: given the `lease` it was sent under, a late call for a
        request long done (the connection now another's) does nothing."""
        if self.released or (lease is not None and lease != self.lease):
            return
        self.released = True
        self._cancel_timer()
        reusable = (
            self.done
            and self.keep_alive
            and self.error is None
            and not self.closed
            and not self.reading_paused  # a slow reader's paused transport: not resumed here
        )
        if not reusable and self.transport is not None:
            self.transport.abort()
            self.closed = True
        self.pool.put_back(self, reusable)


class Pool:
    """Keep-alive connections to one service, at most `limit` open at once."""

    def __init__(self, base_url: str, limit: int):
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.host_header = parts.netloc.encode("idna")
        self.limit = limit
        self.idle: list[Connection] = []
        self._slots: asyncio.Semaphore | None = None

    @property
    def slots(self) -> asyncio.Semaphore:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limit)
        return self._slots

    async def acquire(self, budget: Budget, *, fresh: bool = False) -> tuple[Connection, bool]:
        """A connection (an idle one unless `fresh`) and whether it was idle in the pool."""
        slots = self.slots
        if slots.locked():  # a wait for a free one counts as connecting (as aiohttp's did)
            left = budget.left()
            async with asyncio.timeout(CONNECT_S if left is None else min(CONNECT_S, left)):
                await slots.acquire()
        else:
            await slots.acquire()
        try:
            now = time.monotonic()
            while self.idle and not fresh:
                conn = self.idle.pop()
                if conn.closed or now - conn.idle_since > IDLE_S:
                    conn.close()
                    continue
                return conn, True
            left = budget.left()
            connect = CONNECT_S if left is None else max(0.0, min(CONNECT_S, left))
            loop = asyncio.get_running_loop()
            async with asyncio.timeout(connect):
                _, conn = await loop.create_connection(
                    lambda: Connection(self), self.host, self.port
                )
            return conn, False
        except BaseException:
            slots.release()
            raise

    def put_back(self, conn: Connection, reusable: bool) -> None:
        if reusable:
            conn.idle_since = time.monotonic()
            self.idle.append(conn)
        self.slots.release()

    def close(self) -> None:
        """Close the idle connections (at shutdown)."""
        while self.idle:
            self.idle.pop().close()


async def exchange(
    pool: Pool,
    method: str,
    target: bytes,
    headers: list[tuple[bytes, bytes]],
    body: bytes | AsyncIterator[bytes],
    *,
    sign: Callable[[], bytes],
    budget: Budget,
    retry: bool,
) -> Connection:
    """Send one request and wait for its answer's head; the caller reads the body and
    releases the connection. A read on a kept connection the service closed a moment ago
    (closed before any byte of the answer) is sent once more, on a new connection, signed
    afresh."""
    lines = [b"%b %b HTTP/1.1\r\nHost: %b\r\n" % (method.encode(), target, pool.host_header)]
    lines.extend(b"%b: %b\r\n" % pair for pair in headers)
    if not isinstance(body, bytes):
        lines.append(b"Transfer-Encoding: chunked\r\n")
    elif body or method not in ("GET", "HEAD", "OPTIONS", "TRACE", "DELETE"):
        lines.append(b"Content-Length: %d\r\n" % len(body))
    fresh = False
    for attempt in range(2 if retry else 1):
        head = b"".join(lines) + b"%b\r\n\r\n" % sign()
        conn, kept = await pool.acquire(budget, fresh=fresh)
        try:
            if isinstance(body, bytes):
                conn.start(head, body, head_request=method == "HEAD", budget=budget)
            else:
                await conn.start_streaming(head, body, budget=budget)
            await conn.answer()
            return conn
        except UpstreamClosed:
            conn.release()
            if attempt or not retry or not kept:
                raise
            fresh = True
        except BaseException:
            conn.release()
            raise
    raise AssertionError("unreachable")
