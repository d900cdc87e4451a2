"""Gateway assertions: the gateway's signed word, on each request it forwards, that the
request came through its door (rate limit, audit record, lockout); a service with
`require_gateway` on refuses any request without a valid one. With it off, a request
without one passes, but one that carries an assertion has it checked all the same: a bad
assertion is never ignored, and the bench measures the check with the door off.

An assertion is a compact JWS signed with the gateway's token key (same key id, same
JWKS), told apart from a token by its `typ` and audience, so neither can pass for the other.
It binds the request id, the method and the request target exactly as sent on the wire
(raw path and query), and lives 30 seconds.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
import math
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt import PyJWK
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from kit.problems import problem_response

log = logging.getLogger("kit.gateway_assertion")

HEADER = "X-Gateway-Assertion"
_HEADER_KEY = HEADER.lower().encode()
TYP = "gateway-assertion+jwt"
AUDIENCE = "zone-services"  # tokens are for "zone-platform": a token is never an assertion
TTL_S = 30
LEEWAY_S = 5  # between the gateway's clock and a service's
# Probes and Prometheus reach a service directly; these answer nothing about anyone's data.
OPEN_PATHS = frozenset({"/livez", "/readyz", "/metrics"})
SEEN_CACHE_SIZE = 50_000
REFUSAL = "requests reach this service through the gateway"


class AssertionRefused(Exception):
    """The assertion is missing, malformed, forged, expired, replayed or for another request."""


def sign(
    key: Ed25519PrivateKey,
    kid: str,
    *,
    issuer: str,
    method: str,
    target: str,
    request_id: str,
    now: float | None = None,
) -> str:
    """An assertion for one request: `target` is its raw path and query (`/v1/x?a=1`).

    The same compact JWS PyJWT would make (and `check` verifies it with PyJWT), put together
    here: the header segment is made once per key id and the claims are serialised once, so
    the Ed25519 signature is nearly all it costs (PyJWT's `encode` added about two thirds
    on top, on every request the gateway forwards).
    """
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": issuer,
        "aud": AUDIENCE,
        "iat": issued,
        "exp": issued + TTL_S,
        "jti": secrets.token_hex(8),
        "rid": request_id,
        "htm": method,
        "htu": target,
    }
    signing_input = (
        _header_segment(kid) + b"." + _b64(json.dumps(claims, separators=(",", ":")).encode())
    )
    return (signing_input + b"." + _b64(key.sign(signing_input))).decode("ascii")


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


@functools.lru_cache(maxsize=16)
def _header_segment(kid: str) -> bytes:
    """The protected header, base64url: EdDSA, the key id and the assertion's `typ`."""
    header = {"alg": "EdDSA", "kid": kid, "typ": TYP}
    return _b64(json.dumps(header, separators=(",", ":"), sort_keys=True).encode())


# A compact JWS: three base64url segments, nothing else (no padding, no whitespace).
_COMPACT = re.compile(rb"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
REQUIRED = ("exp", "iat", "iss", "aud", "jti", "rid", "htm", "htu")


@dataclass(frozen=True)
class Parsed:
    """An assertion taken apart once: its checked header's key id, the signed bytes, the
    signature and the (still unverified) claims segment."""

    kid: str
    signing_input: bytes
    signature: bytes
    payload: bytes


def _b64decode(segment: bytes) -> bytes:
    return base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4))


def parse(assertion: str) -> Parsed:
    """Split and decode an assertion, checking its header's shape (nothing verified yet)."""
    raw = assertion.encode("latin-1", "replace")
    if not _COMPACT.fullmatch(raw):
        raise AssertionRefused("not a well-formed JWS")
    header_segment, payload_segment, signature_segment = raw.split(b".")
    try:
        header = json.loads(_b64decode(header_segment))
        signature = _b64decode(signature_segment)
    except (ValueError, binascii.Error, RecursionError) as exc:  # "[[[[…" nests too deep
        raise AssertionRefused("not a well-formed JWS") from exc
    if not isinstance(header, dict):
        raise AssertionRefused("not a well-formed JWS")
    kid = header.get("kid")
    if header.get("alg") != "EdDSA" or header.get("typ") != TYP or not isinstance(kid, str):
        raise AssertionRefused(f"header must be EdDSA, typ {TYP} and carry a key id")
    if "crit" in header:  # no extension is understood here, so none may be critical
        raise AssertionRefused("rejected: unsupported critical header parameters")
    return Parsed(kid, header_segment + b"." + payload_segment, signature, payload_segment)


def kid_of(assertion: str) -> str:
    """The key id an assertion names (unverified), after checking its header's shape."""
    return parse(assertion).kid


def check(
    assertion: str | Parsed,
    key: PyJWK,
    *,
    issuer: str,
    method: str,
    target: str,
    request_id: str,
    now: float | None = None,
) -> dict[str, Any]:
    """The assertion's claims, when it is the gateway's, current, and for this request.

    What PyJWT's `decode` checked, done here on the segments `parse` split once (PyJWT
    parsed the header twice and the whole JWS again, half of the check's cost behind the
    gateway): the Ed25519 signature over header and claims, every claim in `REQUIRED`
    present, the audience, the issuer, `exp` not passed and `iat` (and `nbf`, when sent) not
    to come, both with `LEEWAY_S`; then the lifetime and the binding to this request.
    """
    parsed = assertion if isinstance(assertion, Parsed) else parse(assertion)
    public = key.key
    if not isinstance(public, Ed25519PublicKey):
        raise AssertionRefused("rejected: the key is not an Ed25519 key")
    try:
        public.verify(parsed.signature, parsed.signing_input)
    except InvalidSignature as exc:
        raise AssertionRefused("rejected: Signature verification failed") from exc
    try:
        claims = json.loads(_b64decode(parsed.payload))
    except (ValueError, binascii.Error, RecursionError) as exc:
        raise AssertionRefused("rejected: claims are not JSON") from exc
    if not isinstance(claims, dict):
        raise AssertionRefused("rejected: claims are not a JSON object")
    for name in REQUIRED:
        if claims.get(name) is None:  # null is missing, as PyJWT's `require` has it
            raise AssertionRefused(f'rejected: missing the "{name}" claim')
    times = {n: claims[n] for n in ("exp", "iat", "nbf") if n in claims}
    for name, value in times.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise AssertionRefused(f"rejected: {name} must be a number")
        try:  # json.loads reads NaN, Infinity and 1e400-digit integers: never "in time"
            finite = math.isfinite(value)
        except OverflowError:
            finite = False
        if not finite:
            raise AssertionRefused(f"rejected: {name} must be a finite number")
    audience = claims["aud"]
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or AUDIENCE not in audiences:
        raise AssertionRefused("rejected: Invalid audience")
    if claims["iss"] != issuer:
        raise AssertionRefused("rejected: Invalid issuer")
    current = time.time() if now is None else now
    if times["exp"] <= current - LEEWAY_S:
        raise AssertionRefused("rejected: Signature has expired")
    if times["iat"] > current + LEEWAY_S or times.get("nbf", 0) > current + LEEWAY_S:
        raise AssertionRefused("rejected: not yet valid")
    if float(claims["exp"]) - float(claims["iat"]) > TTL_S:
        raise AssertionRefused(f"lives longer than {TTL_S} s")
    bound = (claims["htm"], claims["htu"], claims["rid"])
    if bound != (method, target, request_id):
        raise AssertionRefused(f"made for {bound[0]} {bound[1]} ({bound[2]})")
    return claims


def target_of(scope: Scope) -> str:
    """The request target as received: raw path, and the query when there is one."""
    raw: bytes = scope.get("raw_path") or scope["path"].encode()
    query: bytes = scope.get("query_string", b"")
    return (raw + (b"?" + query if query else b"")).decode("latin-1")


class GatewayAssertionMiddleware:
    """Refuses (401 problem) every request but the probes' without a valid gateway assertion
    (`required`), or only those that carry an invalid one (not `required`).

    Sits inside the request context (the request id is known) and outside everything else.
    Each assertion is accepted once per process: an exact replay to the same worker within
    its 30 seconds is refused too.
    """

    def __init__(self, app: ASGIApp, *, issuer: str, required: bool = True):
        self.app = app
        self.issuer = issuer
        self.required = required
        self._seen: dict[str, float] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        if not self.required and not any(k == _HEADER_KEY for k, _ in scope["headers"]):
            await self.app(scope, receive, send)
            return
        try:
            await self._verify(scope)
        except AssertionRefused as exc:
            log.warning("refused %s %s: assertion %s", scope["method"], scope["path"], exc)
            response = problem_response(
                Request(scope),
                "unauthorized",
                REFUSAL,
                detail_zh="请求须经网关到达本服务",
                headers={"WWW-Authenticate": f'GatewayAssertion header="{HEADER}"'},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _verify(self, scope: Scope) -> None:
        values = [v for k, v in scope["headers"] if k == _HEADER_KEY]
        if len(values) != 1:
            raise AssertionRefused("missing" if not values else "sent more than once")
        parsed = parse(values[0].decode("latin-1"))
        key = await scope["app"].state.verifier.key_for(parsed.kid)
        if key is None:
            raise AssertionRefused("signed by an unknown key")
        now = time.time()
        claims = check(
            parsed,
            key,
            issuer=self.issuer,
            method=scope["method"],
            target=target_of(scope),
            request_id=scope.get("state", {}).get("request_id", ""),
            now=now,
        )
        jti = str(claims["jti"])
        if self._seen.get(jti, 0.0) > now:
            raise AssertionRefused("already used")
        if len(self._seen) >= SEEN_CACHE_SIZE:
            self._seen = {k: exp for k, exp in self._seen.items() if exp > now}
            for stale in list(self._seen)[: SEEN_CACHE_SIZE // 10]:
                del self._seen[stale]
        self._seen[jti] = float(claims["exp"]) + LEEWAY_S
