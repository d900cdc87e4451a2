"""kit.http: HEAD wherever GET is, Allow naming every method of a path, weak ETags and 304,
caching directives by audience."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from kit.http import HttpSemanticsMiddleware
from kit.problems import install_problem_handlers


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/v1/things/{thing}")
    async def get_thing(thing: str) -> dict[str, str]:
        return {"thing": thing, "padding": "x" * 2000}

    @app.put("/v1/things/{thing}")
    async def put_thing(thing: str) -> dict[str, str]:
        return {"thing": thing}

    @app.delete("/v1/things/{thing}")
    async def delete_thing(thing: str) -> dict[str, str]:
        return {"thing": thing}

    @app.get("/v1/public/zones")
    async def public() -> list[str]:
        return ["a"]

    @app.get("/v1/stream")
    async def stream() -> StreamingResponse:
        async def chunks():  # type: ignore[no-untyped-def]
            for _ in range(3):
                yield b"y" * 1000

        return StreamingResponse(chunks(), media_type="text/plain")

    @app.get("/v1/tagged")
    async def tagged() -> StreamingResponse:  # as the gateway relays a service's answer
        async def chunks():  # type: ignore[no-untyped-def]
            yield b"z" * 1000
            yield b"z" * 1000

        return StreamingResponse(
            chunks(),
            media_type="text/plain",
            headers={"ETag": '"v7"', "Vary": "Accept-Language"},  # the service's own
        )

    app.add_middleware(HttpSemanticsMiddleware)
    return app


async def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://t")


async def test_head_answers_like_get_without_a_body() -> None:
    async with await _client() as client:
        got = await client.get("/v1/things/a")
        head = await client.head("/v1/things/a")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == got.headers["content-length"]
    assert head.headers["etag"] == got.headers["etag"]


async def test_head_is_counted_under_its_route() -> None:
    # kit.observability names a request's route from the scope once it is answered
    seen: dict[str, object] = {}
    inner = _app()

    async def outermost(scope, receive, send):  # type: ignore[no-untyped-def]
        await inner(scope, receive, send)
        if scope["type"] == "http":
            seen[scope["method"]] = getattr(scope.get("route"), "path", None)

    transport = httpx.ASGITransport(app=outermost)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.head("/v1/things/a")).status_code == 200
        assert (await client.get("/v1/things/a")).status_code == 200
    assert seen == {"HEAD": "/v1/things/{thing}", "GET": "/v1/things/{thing}"}


async def test_a_matching_if_none_match_is_a_304_and_another_is_not() -> None:
    async with await _client() as client:
        first = await client.get("/v1/things/a")
        etag = first.headers["etag"]
        assert etag.startswith('W/"')
        again = await client.get("/v1/things/a", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag and "private" in again.headers["cache-control"]
        strong = etag.removeprefix("W/")  # weak comparison: W/"x" matches "x"
        assert (
            await client.get("/v1/things/a", headers={"If-None-Match": strong})
        ).status_code == 304
        other = await client.get("/v1/things/b", headers={"If-None-Match": etag})
        assert other.status_code == 200 and other.headers["etag"] != etag


async def test_public_answers_may_be_kept_by_shared_caches_others_only_revalidated() -> None:
    async with await _client() as client:
        public = await client.get("/v1/public/zones")
        private = await client.get("/v1/things/a")
    assert public.headers["cache-control"] == "public, max-age=60"
    assert private.headers["cache-control"] == "private, no-cache"
    assert "Accept-Language" in private.headers["vary"]


async def test_streamed_bodies_get_an_etag_too() -> None:
    async with await _client() as client:
        first = await client.get("/v1/stream")
        assert first.content == b"y" * 3000
        etag = first.headers["etag"]
        assert (await client.get("/v1/stream", headers={"If-None-Match": etag})).status_code == 304


async def test_a_405_allows_every_method_of_the_path() -> None:
    async with await _client() as client:
        refused = await client.post("/v1/things/a")
    assert refused.status_code == 405
    assert refused.headers["allow"] == "DELETE, GET, HEAD, PUT"
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "allowed: DELETE, GET, HEAD, PUT" in refused.json()["detail"]


async def test_an_answer_tagged_already_streams_through_and_revalidates() -> None:
    async with await _client() as client:
        first = await client.get("/v1/tagged")
        assert first.headers["vary"] == "Accept-Language"  # named once, not once per hop
        assert first.content == b"z" * 2000 and first.headers["etag"] == '"v7"'
        again = await client.get("/v1/tagged", headers={"If-None-Match": 'W/"v7"'})
        assert again.status_code == 304 and again.content == b""
        head = await client.head("/v1/tagged")
        assert head.status_code == 200 and head.content == b""
