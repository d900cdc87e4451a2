"""The CLI's HTTP side without a gateway: token refresh after a 401, and answers that are not
JSON (a wrong --url) turned into exit codes instead of tracebacks."""

from __future__ import annotations

import httpx
import pytest

from deploy.cli import hoist_global_options
from deploy.cli_api import UNAVAILABLE, Api, CliError, Settings


def api_answering(handler) -> tuple[Api, list[httpx.Request]]:  # type: ignore[no-untyped-def]
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request, len(seen))  # type: ignore[no-any-return]

    api = Api(Settings("http://gateway.test", "ops", "ops-secret-value"))
    api.http = httpx.Client(base_url="http://gateway.test", transport=httpx.MockTransport(record))
    return api, seen


def test_an_expired_token_is_replaced_once() -> None:
    tokens = iter(["first", "second"])

    def handler(request: httpx.Request, n: int) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json={"access_token": next(tokens), "expires_in": 900})
        if request.headers["authorization"] == "Bearer first":
            return httpx.Response(401, json={"title": "Unauthorized", "detail": "token expired"})
        return httpx.Response(200, json={"ok": True})

    api, seen = api_answering(handler)
    assert api.get("/v1/zones") == {"ok": True}
    assert [r.url.path for r in seen] == ["/oauth/token", "/v1/zones", "/oauth/token", "/v1/zones"]


def test_a_second_401_is_reported_not_retried_forever() -> None:
    def handler(request: httpx.Request, n: int) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 900})
        return httpx.Response(401, json={"title": "Unauthorized", "detail": "no"})

    api, seen = api_answering(handler)
    with pytest.raises(CliError) as failed:
        api.get("/v1/zones")
    assert failed.value.code == 3 and len(seen) == 4


def test_an_answer_that_is_not_json_says_the_url_is_wrong() -> None:
    def handler(request: httpx.Request, n: int) -> httpx.Response:
        return httpx.Response(
            200, text="<html>router login</html>", headers={"content-type": "text/html"}
        )

    api, _ = api_answering(handler)
    with pytest.raises(CliError) as failed:
        api.token()
    assert failed.value.code == UNAVAILABLE and "not JSON" in failed.value.message
    assert "text/html" in failed.value.message


def test_a_download_with_an_expired_token_gets_a_fresh_one() -> None:
    tokens = iter(["first", "second"])

    def handler(request: httpx.Request, n: int) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json={"access_token": next(tokens), "expires_in": 900})
        if request.headers["authorization"] == "Bearer first":
            return httpx.Response(401, json={"title": "Unauthorized", "detail": "token expired"})
        return httpx.Response(200, content=b"%PDF-1.7 ...")

    api, seen = api_answering(handler)
    with api.download("/v1/zones/x/dossier.pdf") as response:
        assert b"".join(response.iter_bytes()) == b"%PDF-1.7 ..."
    assert [r.url.path for r in seen].count("/oauth/token") == 2


@pytest.mark.parametrize(
    ("given", "hoisted"),
    [
        (["dossier", "z", "--url", "http://g"], ["--url", "http://g", "dossier", "z"]),
        (["dossier", "--url=http://g", "z"], ["--url=http://g", "dossier", "z"]),
        (
            ["client", "create", "c", "--client-secret", "s", "--name", "n"],
            ["--client-secret", "s", "client", "create", "c", "--name", "n"],
        ),
        (["--url", "http://g", "token"], ["--url", "http://g", "token"]),
        (["token", "--", "--url", "x"], ["token", "--", "--url", "x"]),  # after -- stays
        (["token", "--url"], ["token", "--url"]),  # no value: Click says so
    ],
)
def test_global_options_are_accepted_after_the_command(
    given: list[str], hoisted: list[str]
) -> None:
    assert hoist_global_options(given) == hoisted


def test_settings_know_whether_the_url_was_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZONE_URL", raising=False)
    assert Settings.resolve(None, None, None).url_given is False
    assert Settings.resolve("http://g/", None, None).url == "http://g"
    monkeypatch.setenv("ZONE_URL", "http://env")
    assert Settings.resolve(None, None, None).url_given is True
