"""The gateway's forwarder (`gateway/proxy.py` `_forward` over `gateway/hop.py`) against small
real upstreams on loopback that answer as a test scripts them: kept and closed connections,
answers whole, chunked, delimited by the close, large, malformed or slow, uploads streamed,
callers gone mid-stream. The forwarder is driven through its ASGI interface, as uvicorn
drives it."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from deploy.processes import free_port
from gateway import hop
from gateway.config import GatewaySettings
from gateway.proxy import Upstreams, _forward
from kit import gateway_assertion
from kit.observability import _BodyTooLarge


@dataclass
class Seen:
    """One request as the upstream read it."""

    line: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    connection: int

    def header(self, name: bytes) -> list[bytes]:
        return [v for k, v in self.headers if k.lower() == name]


Answer = Callable[[Seen, asyncio.StreamWriter], Awaitable[bool]]


@dataclass
class Upstream:
    """An HTTP/1.1 server: reads each request whole (a length or chunked body), then lets
    `answer` write what it likes; the connection is kept while `answer` returns True."""

    answer: Answer
    seen: list[Seen] = field(default_factory=list)
    connections: int = 0
    open_now: int = 0
    most_open: int = 0

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        number = self.connections
        self.connections += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line, *rest = head[:-4].split(b"\r\n")
                headers = [tuple(h.split(b": ", 1)) for h in rest]
                names = {k.lower(): v for k, v in headers}
                body = b""
                if b"content-length" in names:
                    body = await reader.readexactly(int(names[b"content-length"]))
                elif names.get(b"transfer-encoding") == b"chunked":
                    while size := int((await reader.readuntil(b"\r\n"))[:-2], 16):
                        body += (await reader.readexactly(size + 2))[:-2]
                    await reader.readexactly(2)
                seen = Seen(line, headers, body, number)  # type: ignore[arg-type]
                self.seen.append(seen)
                if not await self.answer(seen, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open_now -= 1
            writer.close()

    async def stop(self) -> None:
        self.server.close()


class Signer:
    """Stands in for the gateway's signer: a new assertion each time, naming the request."""

    def __init__(self) -> None:
        self.count = 0

    def assertion(self, *, method: str, target: str, request_id: str) -> str:
        self.count += 1
        return f"{self.count}:{method}:{target}:{request_id}"


def ok(body: bytes = b'{"ok":true}', *extra: bytes) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nServer: up\r\n"
        + b"".join(e + b"\r\n" for e in extra)
        + b"Content-Length: %d\r\n\r\n%b" % (len(body), body)
    )


def replying(*answers: bytes, keep: bool = True) -> Answer:
    """Each request gets the next of `answers` (the last one again once they run out)."""
    queue = list(answers)

    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        writer.write(queue.pop(0) if len(queue) > 1 else queue[0])
        await writer.drain()
        return keep

    return answer


@contextlib.asynccontextmanager
async def upstream(answer: Answer, **settings: Any) -> AsyncIterator[tuple[Upstream, Upstreams]]:
    server = Upstream(answer)
    url = await server.start()
    upstreams = Upstreams(GatewaySettings(registry_url=url, **settings), Signer())  # type: ignore[arg-type]
    await upstreams.start()
    try:
        yield server, upstreams
    finally:
        await upstreams.close()
        await server.stop()


@dataclass
class Relayed:
    status: int
    headers: dict[bytes, bytes]
    body: bytes
    pieces: int

    def problem(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]


async def forward(
    upstreams: Upstreams,
    method: str = "GET",
    raw_path: bytes = b"/v1/enterprises/1",
    *,
    query: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
    body: list[bytes] | None = None,
    receive: Callable[[], Awaitable[dict[str, Any]]] | None = None,
    send: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
    state: dict[str, Any] | None = None,
) -> Relayed:
    """One request through `_forward` as uvicorn would hand it over."""
    pieces = list(body or [b""])
    state = {} if state is None else state  # the test's own, to see what the receive sets
    state.update(request_id="rid-1", traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01")
    gone = asyncio.Event()

    async def from_caller() -> dict[str, Any]:
        if pieces:
            piece = pieces.pop(0)
            return {"type": "http.request", "body": piece, "more_body": bool(pieces)}
        await gone.wait()
        return {"type": "http.disconnect"}

    messages: list[dict[str, Any]] = []

    async def to_caller(message: dict[str, Any]) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "https",
        "path": raw_path.decode().split("%")[0],
        "raw_path": raw_path,
        "query_string": query,
        "headers": headers or [],
        "client": ("203.0.113.7", 40000),
        "server": ("127.0.0.1", 8000),
        "state": state,
    }
    await _forward(
        scope,
        receive or from_caller,
        send or to_caller,
        upstreams,
        "registry",
        upstreams.urls["registry"],
    )
    gone.set()
    if send is not None:  # the test's own `send` saw the answer
        return Relayed(0, {}, b"", 0)
    start = next(m for m in messages if m["type"] == "http.response.start")
    bodies = [m for m in messages if m["type"] == "http.response.body"]
    return Relayed(
        start["status"],
        dict(start["headers"]),
        b"".join(m.get("body", b"") for m in bodies),
        sum(1 for m in bodies if m.get("body")),
    )


async def test_the_request_goes_on_as_received_with_the_gateways_own_headers() -> None:
    async with upstream(replying(ok(b"{}", b"Keep-Alive: timeout=5", b"X-Up: 1"))) as (
        server,
        upstreams,
    ):
        relayed = await forward(
            upstreams,
            raw_path=b"/v1/enterprises/a%2F..%2Fb",
            query=b"q=%20x&y=1",
            headers=[
                (b"authorization", b"Bearer t"),
                (b"accept-language", b"zh-CN"),
                (b"connection", b"keep-alive"),
                (b"accept-encoding", b"gzip"),
                (b"x-forwarded-for", b"6.6.6.6"),
                (b"x-request-id", b"caller-own"),
                (b"traceparent", b"00-" + b"c" * 32 + b"-" + b"d" * 16 + b"-01"),
                (gateway_assertion.HEADER.encode(), b"forged"),
            ],
        )
    assert (relayed.status, relayed.body) == (200, b"{}")
    # the service's own hop-by-hop headers stay here; the length is the gateway's
    assert relayed.headers[b"content-length"] == b"2"
    assert relayed.headers[b"x-up"] == b"1"
    assert b"keep-alive" not in relayed.headers and b"server" not in relayed.headers
    (seen,) = server.seen
    assert seen.line == b"GET /v1/enterprises/a%2F..%2Fb?q=%20x&y=1 HTTP/1.1"
    assert seen.header(b"authorization") == [b"Bearer t"]
    assert seen.header(b"accept-language") == [b"zh-CN"]
    assert seen.header(b"host") == [upstreams.urls["registry"].removeprefix("http://").encode()]
    assert seen.header(b"x-request-id") == [b"rid-1"]
    assert seen.header(b"x-forwarded-for") == [b"203.0.113.7"]
    assert seen.header(b"x-forwarded-proto") == [b"https"]
    assert seen.header(b"traceparent") == [b"00-" + b"a" * 32 + b"-" + b"b" * 16 + b"-01"]
    assert seen.header(gateway_assertion.HEADER.lower().encode()) == [
        b"1:GET:/v1/enterprises/a%2F..%2Fb?q=%20x&y=1:rid-1"
    ]
    for dropped in (b"connection", b"accept-encoding", b"content-length", b"transfer-encoding"):
        assert seen.header(dropped) == [], dropped


async def test_connections_are_kept_for_the_next_request() -> None:
    answers = replying(
        ok(),
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b'HTTP/1.1 304 Not Modified\r\nETag: "1"\r\n\r\n',
        ok(b"created"),
    )
    async with upstream(answers) as (server, upstreams):
        first = await forward(upstreams)
        empty = await forward(upstreams, "DELETE")
        same = await forward(upstreams, headers=[(b"if-none-match", b'"1"')])
        posted = await forward(
            upstreams, "POST", headers=[(b"content-type", b"application/json")], body=[b"{}"]
        )
    assert (first.status, empty.status, same.status, posted.status) == (200, 204, 304, 200)
    assert empty.body == same.body == b""
    assert b"content-length" not in empty.headers and b"content-length" not in same.headers
    assert [s.connection for s in server.seen] == [0, 0, 0, 0]
    assert server.seen[3].body == b"{}" and server.seen[3].header(b"content-length") == [b"2"]


async def test_an_answer_that_closes_its_connection_is_not_followed_on_it() -> None:
    # the service says close but leaves the socket open: the gateway must not send on it
    async with upstream(replying(ok(b"1", b"Connection: close"))) as (server, upstreams):
        for _ in range(3):
            assert (await forward(upstreams)).status == 200
    assert [s.connection for s in server.seen] == [0, 1, 2]


def closing_after_first() -> Answer:
    """Answers the first request, then drops each connection's next request unanswered
    (a kept connection the service closed as the gateway sent on it)."""

    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        if seen.connection == 0 and len([s for s in answered if s == 0]) == 1:
            return False  # closed without a byte of an answer
        answered.append(seen.connection)
        writer.write(ok())
        await writer.drain()
        return True

    answered: list[int] = []
    return answer


async def test_a_read_on_a_kept_connection_closed_under_it_is_sent_again_signed_afresh() -> None:
    async with upstream(closing_after_first()) as (server, upstreams):
        await forward(upstreams)
        again = await forward(upstreams)
    assert again.status == 200
    assert [s.connection for s in server.seen] == [0, 0, 1]
    first, second = (
        s.header(gateway_assertion.HEADER.lower().encode())[0] for s in server.seen[1:]
    )
    assert first != second  # each attempt is signed for itself


async def test_a_write_on_a_kept_connection_closed_under_it_is_not_sent_again() -> None:
    async with upstream(closing_after_first()) as (server, upstreams):
        await forward(upstreams)
        refused = await forward(upstreams, "POST", body=[b"{}"])
    assert refused.status == 503
    assert refused.headers[b"retry-after"] == b"5"
    assert refused.problem()["type"] == "/problems/service-unavailable"
    assert len(server.seen) == 2  # the write went out once


async def test_answers_without_a_small_length_are_streamed_whole() -> None:
    large = bytes(range(256)) * 400  # 100 KiB

    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        kind = seen.line.split()[1]
        if kind.endswith(b"/close"):  # delimited by the close
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
            for piece in (b"one,", b"two,", b"three"):
                writer.write(piece)
                await writer.drain()
                await asyncio.sleep(0.01)
            return False
        if kind.endswith(b"/chunked"):
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for piece in (b"one,", b"two,", b"three"):
                writer.write(b"%x\r\n%b\r\n" % (len(piece), piece))
                await writer.drain()
                await asyncio.sleep(0.01)
            writer.write(b"0\r\n\r\n")
            return True
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%b" % (len(large), large))
        return True

    async with upstream(answer) as (server, upstreams):
        closed = await forward(upstreams, raw_path=b"/v1/enterprises/close")
        chunked = await forward(upstreams, raw_path=b"/v1/enterprises/chunked")
        big = await forward(upstreams, raw_path=b"/v1/enterprises/large")
        again = await forward(upstreams, raw_path=b"/v1/enterprises/chunked")
    assert closed.body == chunked.body == again.body == b"one,two,three"
    assert big.body == large
    for relayed in (closed, chunked, big):
        assert relayed.status == 200 and b"content-length" not in relayed.headers
    assert big.pieces >= 1 and closed.pieces >= 1
    # read to the end: the chunked answer's connection served the large one and the next
    assert [s.connection for s in server.seen] == [0, 1, 1, 1]


async def test_a_malformed_or_cut_short_answer_is_a_503_and_its_connection_dropped() -> None:
    answers = replying(
        b"SPDY/9 banana\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 10,
        ok(),
    )

    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        await answers(seen, writer)
        return seen.connection >= 2  # the first two close after their bad answers

    async with upstream(answer) as (server, upstreams):
        garbled = await forward(upstreams)
        short = await forward(upstreams)
        fine = await forward(upstreams)
    assert garbled.status == short.status == 503
    assert garbled.problem()["type"] == "/problems/service-unavailable"
    assert fine.status == 200
    assert [s.connection for s in server.seen] == [0, 1, 2]


async def test_a_service_too_slow_is_a_504_and_its_connection_not_kept() -> None:
    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        if seen.line.split()[1].endswith(b"/slow"):
            await asyncio.sleep(2)
        writer.write(ok())
        await writer.drain()
        return True

    async with upstream(answer, upstream_timeout_s=0.2) as (server, upstreams):
        slow = await forward(upstreams, raw_path=b"/v1/enterprises/slow")
        fine = await forward(upstreams)
    assert slow.status == 504
    assert slow.problem()["type"] == "/problems/gateway-timeout"
    assert fine.status == 200
    assert [s.connection for s in server.seen] == [0, 1]


async def test_a_route_has_its_own_budget() -> None:
    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.5)
        writer.write(ok())
        return True

    async with upstream(answer, upstream_timeout_s=0.1, route_timeouts_s={"/v1/batches": 30.0}) as (
        _,
        upstreams,
    ):
        batches = await forward(upstreams, "POST", b"/v1/batches", body=[b"[]"])
        other = await forward(upstreams, "POST", b"/v1/enterprises", body=[b"{}"])
    assert (batches.status, other.status) == (200, 504)


async def test_an_export_is_held_to_its_budget_between_pieces_not_as_a_whole() -> None:
    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for n in range(6):  # 1.5 s in all, 0.25 s apart
            await asyncio.sleep(0.25)
            writer.write(b"4\r\nrow%d\r\n" % n)
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        return True

    async with upstream(answer, upstream_timeout_s=1.0) as (_, upstreams):
        exported = await forward(upstreams, query=b"format=csv")
        with pytest.raises(TimeoutError):  # a plain read is held to its budget as a whole
            await forward(upstreams)
    assert exported.status == 200 and exported.body == b"row0row1row2row3row4row5"


async def test_an_unreachable_service_is_a_503_with_retry_after() -> None:
    upstreams = Upstreams(
        GatewaySettings(registry_url=f"http://127.0.0.1:{free_port()}"),
        Signer(),  # type: ignore[arg-type]
    )
    await upstreams.start()
    refused = await forward(upstreams)
    await upstreams.close()
    assert refused.status == 503 and refused.headers[b"retry-after"] == b"5"
    assert refused.problem()["service"] == "registry"


async def test_head_answers_keep_the_length_and_carry_no_body() -> None:
    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 731\r\n\r\n"
        )
        return True

    async with upstream(answer) as (server, upstreams):
        head = await forward(upstreams, "HEAD")
        again = await forward(upstreams, "HEAD")
    assert head.status == again.status == 200
    assert head.body == b"" and head.headers[b"content-length"] == b"731"
    assert len(server.seen) == 2


async def test_an_upload_streams_on_chunked_as_it_arrives() -> None:
    async with upstream(replying(ok(b"taken"))) as (server, upstreams):
        taken = await forward(
            upstreams,
            "POST",
            b"/v1/imports",
            headers=[(b"content-type", b"multipart/form-data; boundary=x")],
            body=[b"part one,", b"part two,", b"the end"],
        )
    assert taken.status == 200
    (seen,) = server.seen
    assert seen.header(b"transfer-encoding") == [b"chunked"]
    assert seen.body == b"part one,part two,the end"


async def test_an_upload_past_the_limit_is_a_413_and_closes_the_callers_connection() -> None:
    state: dict[str, Any] = {}
    sent = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        sent += 1
        if sent > 2:  # what kit.observability's limited receive does past the limit
            state["body_too_large"] = 1024
            raise _BodyTooLarge()
        return {"type": "http.request", "body": b"x" * 512, "more_body": True}

    async with upstream(replying(ok())) as (server, upstreams):
        refused = await forward(
            upstreams,
            "POST",
            b"/v1/evidence",
            headers=[(b"content-type", b"image/jpeg")],
            receive=receive,
            state=state,
        )
        fine = await forward(upstreams)
    assert refused.status == 413 and refused.headers[b"connection"] == b"close"
    assert refused.problem()["limit_bytes"] == 1024
    assert fine.status == 200
    # the cut-off upload's connection is not used again
    assert [s.connection for s in server.seen] == [1]


async def test_a_stalled_upload_is_a_504_within_the_budget() -> None:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"a few bytes", "more_body": True}
        await asyncio.Event().wait()  # the caller keeps still, and its connection open
        raise AssertionError("unreachable")

    async with upstream(replying(ok()), upstream_timeout_s=0.3) as (_, upstreams):
        stalled = await asyncio.wait_for(
            forward(
                upstreams,
                "POST",
                b"/v1/imports",
                headers=[(b"content-type", b"multipart/form-data; boundary=x")],
                receive=receive,
            ),
            10,
        )
        pool = upstreams.pools["registry"]
        assert stalled.status == 504
        assert pool.idle == [] and not pool.slots.locked()  # its connection given up


def _sign() -> bytes:
    return b"X-Signed: yes"


async def test_a_late_release_leaves_the_next_request_on_the_connection_alone() -> None:
    async with upstream(replying(ok(b"first"), ok(b"second"))) as (server, upstreams):
        pool = upstreams.pools["registry"]
        budget = hop.Budget(5.0, None)
        first = await hop.exchange(
            pool, "GET", b"/v1/enterprises/1", [], b"", sign=_sign, budget=budget, retry=False
        )
        earlier = first.lease
        assert await first.read() == b"first"
        first.release(earlier)
        second = await hop.exchange(
            pool, "GET", b"/v1/enterprises/2", [], b"", sign=_sign, budget=budget, retry=False
        )
        assert second is first  # the kept connection, now serving the second request
        first.release(earlier)  # the first request's streamed answer, cleaning up late
        assert not second.released and not second.closed
        assert await second.read() == b"second"
        second.release(second.lease)
        assert pool.idle == [second]
    assert server.connections == 1


async def test_a_connection_whose_reading_is_paused_is_not_kept() -> None:
    big = b"x" * (300 * 1024)  # past what is held before reading from the service pauses
    async with upstream(replying(ok(big))) as (_, upstreams):
        pool = upstreams.pools["registry"]
        conn = await hop.exchange(
            pool,
            "GET",
            b"/v1/enterprises",
            [],
            b"",
            sign=_sign,
            budget=hop.Budget(5.0, None),
            retry=False,
        )
        for _ in range(500):  # the caller reads nothing while the service sends it all
            if conn.reading_paused:
                break
            await asyncio.sleep(0.01)
        assert conn.reading_paused
        conn.release(conn.lease)  # the caller gone, say
        assert pool.idle == [] and conn.closed


async def test_a_caller_gone_mid_stream_gives_the_connection_up() -> None:
    ended = asyncio.Event()

    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        try:
            for _ in range(200):
                writer.write(b"5\r\nhello\r\n")
                await writer.drain()
                await asyncio.sleep(0.01)
        except ConnectionError:
            ended.set()
            return False
        writer.write(b"0\r\n\r\n")
        return True

    gone = asyncio.Event()
    got: list[dict[str, Any]] = []
    asked = False

    async def receive() -> dict[str, Any]:
        nonlocal asked
        if not asked:  # the request's (empty) body, then the caller's leaving
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        got.append(message)
        if message.get("body"):
            gone.set()  # the caller leaves after the first piece

    async with upstream(answer, upstream_connections=1) as (server, upstreams):
        await forward(upstreams, receive=receive, send=send)
        await asyncio.wait_for(ended.wait(), 10)  # the service saw its connection closed
        pool = upstreams.pools["registry"]
        assert pool.idle == [] and not pool.slots.locked()
        # the one slot is free again: the next request is served
        await forward(upstreams, send=None, receive=None)
    assert server.connections == 2


async def test_at_most_the_configured_connections_are_open_to_a_service() -> None:
    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.05)
        writer.write(ok())
        return True

    async with upstream(answer, upstream_connections=2) as (server, upstreams):
        answered = await asyncio.gather(*(forward(upstreams) for _ in range(8)))
    assert [r.status for r in answered] == [200] * 8
    assert server.most_open == 2 and server.connections == 2
