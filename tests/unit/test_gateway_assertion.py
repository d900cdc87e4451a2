"""Gateway assertions (kit.gateway_assertion): bound to one request, short-lived, never a
token; checked whenever one is sent. What they cost is a `make bench` row (bench/run.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.auth.tokens import Signer, new_private_key_pem
from kit import gateway_assertion as ga
from kit.auth import JwksVerifier
from kit.observability import RequestContextMiddleware
from kit.problems import ProblemError

ISSUER = "zone-gateway"


def _signer(pem: str | None = None) -> Signer:
    return Signer(pem or new_private_key_pem(), issuer=ISSUER, audience="zone-platform", ttl_s=900)


def _verifier(signer: Signer) -> JwksVerifier:
    return JwksVerifier(
        jwks_url="",
        issuer=ISSUER,
        audience="zone-platform",
        inline_jwks=json.dumps(signer.jwks()),
    )


def _check(signer: Signer, assertion: str, **request: str) -> dict[str, Any]:
    key = _verifier(signer)._keys[signer.kid]
    bound = {"method": "PATCH", "target": "/v1/enterprises/X?a=1", "request_id": "rid-1"}
    return ga.check(assertion, key, issuer=ISSUER, **(bound | request))


def test_an_assertion_is_accepted_for_the_request_it_was_made_for() -> None:
    signer = _signer()
    made = signer.assertion(method="PATCH", target="/v1/enterprises/X?a=1", request_id="rid-1")
    claims = _check(signer, made)
    assert claims["exp"] - claims["iat"] == ga.TTL_S
    assert (claims["htm"], claims["htu"], claims["rid"]) == (
        "PATCH",
        "/v1/enterprises/X?a=1",
        "rid-1",
    )
    assert jwt.get_unverified_header(made)["typ"] == ga.TYP


@pytest.mark.parametrize(
    "request_",
    [
        {"method": "GET"},
        {"target": "/v1/enterprises/Y?a=1"},
        {"target": "/v1/enterprises/X?a=2"},
        {"target": "/v1/enterprises/X"},
        {"request_id": "rid-2"},
    ],
)
def test_an_assertion_for_another_request_is_refused(request_: dict[str, str]) -> None:
    signer = _signer()
    made = signer.assertion(method="PATCH", target="/v1/enterprises/X?a=1", request_id="rid-1")
    with pytest.raises(ga.AssertionRefused, match="made for PATCH"):
        _check(signer, made, **request_)


def test_forged_expired_long_lived_and_token_assertions_are_refused() -> None:
    signer = _signer()
    other = _signer()
    request = {"method": "PATCH", "target": "/v1/enterprises/X?a=1", "request_id": "rid-1"}
    forged = ga.sign(other._key, signer.kid, issuer=ISSUER, **request)  # same kid, wrong key
    old = ga.sign(signer._key, signer.kid, issuer=ISSUER, now=time.time() - 60, **request)
    now = int(time.time())
    long_lived = jwt.encode(
        {
            "iss": ISSUER,
            "aud": ga.AUDIENCE,
            "iat": now,
            "exp": now + 3600,
            "jti": "j",
            "rid": "rid-1",
            "htm": "PATCH",
            "htu": "/v1/enterprises/X?a=1",
        },
        signer._key,
        algorithm="EdDSA",
        headers={"kid": signer.kid, "typ": ga.TYP},
    )
    token, _ = signer.issue(subject="demo-admin", scopes=["admin"])
    # a token dressed as an assertion: right typ, but the token's audience and claims
    dressed = jwt.encode(
        jwt.decode(token, options={"verify_signature": False}),
        signer._key,
        algorithm="EdDSA",
        headers={"kid": signer.kid, "typ": ga.TYP},
    )
    cases = {
        "forged": (forged, "Signature verification failed"),
        "expired": (old, "expired"),
        "long-lived": (long_lived, "longer than"),
        "a token": (token, "typ"),
        "a token with the assertion's typ": (dressed, "rejected"),
        "garbage": ("not.a.jws", "well-formed"),
    }
    for assertion, reason in cases.values():
        with pytest.raises(ga.AssertionRefused, match=reason):
            _check(signer, assertion)


async def test_an_assertion_is_never_a_token() -> None:
    signer = _signer()
    made = signer.assertion(method="GET", target="/v1/zones", request_id="rid-1")
    with pytest.raises(ProblemError) as refused:
        await _verifier(signer).verify(made)
    assert refused.value.status == 401


def _app(signer: Signer, *, required: bool = True) -> Starlette:
    async def echo(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    app = Starlette(
        routes=[Route("/v1/things/{id}", echo, methods=["GET", "PATCH"]), Route("/livez", echo)]
    )
    app.add_middleware(ga.GatewayAssertionMiddleware, issuer=ISSUER, required=required)
    app.add_middleware(RequestContextMiddleware, service="test", max_body_bytes=1024)
    app.state.verifier = _verifier(signer)
    return app


async def test_the_middleware_lets_through_only_asserted_requests_once_and_the_probes() -> None:
    signer = _signer()
    transport = httpx.ASGITransport(app=_app(signer))
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        missing = await client.patch("/v1/things/1", json={})
        assert missing.status_code == 401
        assert missing.headers["content-type"].startswith("application/problem+json")
        assert missing.json()["detail"] == ga.REFUSAL
        assert missing.headers["www-authenticate"].startswith("GatewayAssertion")
        assert (await client.get("/livez")).status_code == 200

        made = signer.assertion(method="PATCH", target="/v1/things/1?x=%2F", request_id="r-1")
        headers = {"X-Request-ID": "r-1", ga.HEADER: made}
        assert (await client.patch("/v1/things/1?x=%2F", headers=headers)).status_code == 200
        replayed = await client.patch("/v1/things/1?x=%2F", headers=headers)
        assert replayed.status_code == 401  # once per process
        elsewhere = signer.assertion(method="GET", target="/v1/things/1", request_id="r-2")
        moved = {"X-Request-ID": "r-2", ga.HEADER: elsewhere}
        assert (await client.patch("/v1/things/2", headers=moved)).status_code == 401
        twice = [("X-Request-ID", "r-2"), (ga.HEADER, elsewhere), (ga.HEADER, elsewhere)]
        assert (await client.get("/v1/things/1", headers=twice)).status_code == 401
        assert (await client.get("/v1/things/1", headers=moved)).status_code == 200


async def test_with_the_door_off_a_request_without_one_passes_and_a_bad_one_is_refused() -> None:
    signer = _signer()
    transport = httpx.ASGITransport(app=_app(signer, required=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        assert (await client.patch("/v1/things/1", json={})).status_code == 200
        forged = _signer().assertion(method="PATCH", target="/v1/things/1", request_id="r-1")
        headers = {"X-Request-ID": "r-1", ga.HEADER: forged}
        assert (await client.patch("/v1/things/1", headers=headers)).status_code == 401
        made = signer.assertion(method="PATCH", target="/v1/things/1", request_id="r-2")
        headers = {"X-Request-ID": "r-2", ga.HEADER: made}
        assert (await client.patch("/v1/things/1", headers=headers)).status_code == 200


def _crafted(signer: Signer, claims: dict[str, Any], **header: Any) -> str:
    return jwt.encode(
        claims, signer._key, algorithm="EdDSA", headers={"kid": signer.kid, "typ": ga.TYP} | header
    )


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": ga.AUDIENCE,
        "iat": now,
        "exp": now + ga.TTL_S,
        "jti": "j-1",
        "rid": "rid-1",
        "htm": "PATCH",
        "htu": "/v1/enterprises/X?a=1",
    }
    for name, value in changes.items():
        if value is None:
            del claims[name]
        else:
            claims[name] = value
    return claims


BAD_CLAIMS: dict[str, Callable[[int], dict[str, Any]]] = {  # given the time the test runs
    "no exp": lambda now: {"exp": None},
    "no iat": lambda now: {"iat": None},
    "no jti": lambda now: {"jti": None},
    "no rid": lambda now: {"rid": None},
    "no htu": lambda now: {"htu": None},
    "no aud": lambda now: {"aud": None},
    "no iss": lambda now: {"iss": None},
    "another issuer": lambda now: {"iss": "someone-else"},
    "the tokens' audience": lambda now: {"aud": "zone-platform"},
    "audiences without ours": lambda now: {"aud": ["zone-platform", "x"]},
    "exp a string": lambda now: {"exp": "soon"},
    "exp NaN": lambda now: {"exp": float("nan")},
    "issued in a minute": lambda now: {"iat": now + 60, "exp": now + 70},
    "not before a minute": lambda now: {"nbf": now + 60},
    "expired": lambda now: {"iat": now - 40, "exp": now - 10},
}


@pytest.mark.parametrize("changed", BAD_CLAIMS.values(), ids=BAD_CLAIMS.keys())
def test_claims_pyjwt_would_refuse_are_refused(
    changed: Callable[[int], dict[str, Any]],
) -> None:
    signer = _signer()
    made = _crafted(signer, _claims(**changed(int(time.time()))))
    key = _verifier(signer)._keys[signer.kid]
    with pytest.raises(jwt.PyJWTError):  # the library the check was built on, as reference
        jwt.decode(
            made,
            key=key,
            algorithms=["EdDSA"],
            audience=ga.AUDIENCE,
            issuer=ISSUER,
            leeway=ga.LEEWAY_S,
            options={"require": list(ga.REQUIRED)},
        )
    with pytest.raises(ga.AssertionRefused):
        _check(signer, made)


def test_times_that_never_pass_are_refused() -> None:
    signer = _signer()
    for changes in ({"exp": float("inf")}, {"iat": float("-inf")}, {"nbf": float("nan")}):
        with pytest.raises(ga.AssertionRefused, match="finite"):
            _check(signer, _crafted(signer, _claims(**changes)))


def test_a_list_of_audiences_with_ours_and_a_current_nbf_are_accepted_as_pyjwt_does() -> None:
    signer = _signer()
    now = int(time.time())
    made = _crafted(signer, _claims(aud=["other", ga.AUDIENCE], nbf=now))
    assert _check(signer, made)["jti"] == "j-1"


BAD_SHAPES = {
    "crit header": ({"crit": ["b64"], "b64": False}, "critical"),
    "RS256 header": ({"alg": "RS256"}, "EdDSA"),
    "no kid": ({"kid": None}, "key id"),
}


@pytest.mark.parametrize("header, reason", BAD_SHAPES.values(), ids=BAD_SHAPES.keys())
def test_headers_of_another_shape_are_refused(header: dict[str, Any], reason: str) -> None:
    signer = _signer()
    made = _crafted(signer, _claims())
    _, payload, signature = made.split(".")
    fields = jwt.get_unverified_header(made) | header
    fields = {k: v for k, v in fields.items() if v is not None}
    forged_head = ga._b64(json.dumps(fields).encode()).decode()
    with pytest.raises(ga.AssertionRefused, match=reason):
        _check(signer, f"{forged_head}.{payload}.{signature}")


def test_malformed_segments_and_other_keys_are_refused() -> None:
    signer = _signer()
    made = signer.assertion(method="PATCH", target="/v1/enterprises/X?a=1", request_id="rid-1")
    head, payload, signature = made.split(".")
    not_object = ga._b64(b"[1, 2]").decode()
    signed_list = ga._b64(signer._key.sign(f"{head}.{not_object}".encode())).decode()
    cases = {
        "padded": (made + "==", "well-formed"),
        "a trailing newline": (made + "\n", "well-formed"),
        "four segments": (made + ".e30", "well-formed"),
        "a space inside": (f"{head}.{payload[:5]} {payload[5:]}.{signature}", "well-formed"),
        "claims not an object": (f"{head}.{not_object}.{signed_list}", "not a JSON object"),
        "claims from another one": (
            f"{head}.{_claims_segment(signer)}.{signature}",
            "Signature verification failed",
        ),
        "a signature cut short": (f"{head}.{payload}.{signature[:40]}", "Signature"),
    }
    for assertion, reason in cases.values():
        with pytest.raises(ga.AssertionRefused, match=reason):
            _check(signer, assertion)
    hmac_key = jwt.PyJWK.from_dict(
        {"kty": "oct", "k": ga._b64(b"k" * 32).decode(), "alg": "HS256", "kid": signer.kid}
    )
    with pytest.raises(ga.AssertionRefused, match="not an Ed25519 key"):
        ga.check(made, hmac_key, issuer=ISSUER, method="PATCH", target="/", request_id="rid-1")


def _claims_segment(signer: Signer) -> str:
    other = signer.assertion(method="GET", target="/v1/zones", request_id="rid-1")
    return other.split(".")[1]


def test_null_claims_huge_times_and_deep_nesting_are_refused_not_a_500() -> None:
    signer = _signer()
    nulled = _claims()
    nulled["jti"] = None  # present but null: missing, as PyJWT's `require` has it
    with pytest.raises(ga.AssertionRefused, match='"jti"'):
        _check(signer, _crafted(signer, nulled))
    with pytest.raises(ga.AssertionRefused, match="finite"):  # math.isfinite overflows
        _check(signer, _crafted(signer, _claims(exp=10**400)))
    made = signer.assertion(method="PATCH", target="/v1/enterprises/X?a=1", request_id="rid-1")
    head, _, signature = made.split(".")
    deep = ga._b64(b"[" * 5000).decode()  # json.loads raises RecursionError on it
    with pytest.raises(ga.AssertionRefused, match="well-formed"):
        _check(signer, f"{deep}.{deep}.{signature}")
    signed_deep = ga._b64(signer._key.sign(f"{head}.{deep}".encode())).decode()
    with pytest.raises(ga.AssertionRefused, match="not JSON"):
        _check(signer, f"{head}.{deep}.{signed_deep}")
