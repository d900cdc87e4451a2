"""Token verification: EdDSA JWTs from the gateway, checked by every service itself."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, get_args

import httpx
import jwt
from fastapi import Depends, Request
from jwt import PyJWK
from sqlalchemy import false, true

from kit.problems import ProblemError

log = logging.getLogger("kit.auth")

# Scopes per service and action, then the administrative roles (三权分立, 等保 2.0 level 3):
# `system_admin` (系统管理员) manages clients, users, agencies and zones' reference data and
# passes every service check as the zone office; `security_admin` (安全管理员) manages roles,
# rate limits and lockouts; `audit_admin` (审计管理员) only reads and verifies the audit log.
# `admin` holds all three and every scope: the dev profile's `demo-admin` convenience only
# (gateway/roles.py holds the rules on who may hold what).
NonAdminScope = Literal[
    "registry:read",
    "registry:write",
    "credit:read",
    "credit:write",
    "inspection:read",
    "inspection:write",
    "notify:read",
    "notify:write",
]
AdminRole = Literal["system_admin", "security_admin", "audit_admin"]
Scope = Literal[NonAdminScope, AdminRole, "admin"]
ALL_SCOPES: tuple[str, ...] = get_args(Scope)
ADMIN_ROLES: frozenset[str] = frozenset(get_args(AdminRole))


@dataclass(frozen=True)
class Principal:
    """Who is calling: an agency system, an enterprise user, an inspector or an admin."""

    subject: str
    scopes: frozenset[str]
    agency: str | None = None
    uscc: str | None = None
    inspector_id: str | None = None
    claims: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def is_admin(self) -> bool:
        """The zone office's powers in the services: `admin` (dev) or `system_admin`."""
        return "admin" in self.scopes or "system_admin" in self.scopes

    def has(self, scope: str) -> bool:
        """True when the token grants `scope`: `admin` grants everything; `system_admin`
        every scope but the other two roles, which are never implied."""
        if "admin" in self.scopes or scope in self.scopes:
            return True
        return scope not in ADMIN_ROLES and "system_admin" in self.scopes

    def has_role(self, role: str) -> bool:
        """True when the token holds the administrative `role` itself (or `admin`, dev)."""
        return "admin" in self.scopes or role in self.scopes

    def can_act_for(self, uscc: str) -> bool:
        """An enterprise-bound token acts only for its own enterprise."""
        return self.uscc is None or self.uscc == uscc


SCOPE_DESCRIPTIONS = {
    "registry:read": "Read enterprises, zones, memberships, batches",
    "registry:write": "Register and change enterprises, zones, memberships, batches",
    "credit:read": "Read credit scores, levels, facts",
    "credit:write": "Record credit facts, decide repairs, publish the model",
    "inspection:read": "Read campaigns, tasks, results, risk",
    "inspection:write": "Run campaigns and draws, record results and signals",
    "notify:read": "Read notifications and subscriptions",
    "notify:write": "Send notifications, manage webhook subscriptions",
    "system_admin": "系统管理员: clients, users, agencies, zones' reference data",
    "security_admin": "安全管理员: roles, rate limits, lockouts, signing keys",
    "audit_admin": "审计管理员: read and verify the audit log",
    "admin": "Everything (the dev profile's demo identities only)",
}
VERIFIED_CACHE_SIZE = 10_000
# The longest lifetime a token may claim (exp - iat, and exp - now): the gateway issues 15
# minutes; a little more allows for its setting being raised. A stolen or minted token with
# a far `exp` is refused rather than honoured for years.
DEFAULT_MAX_LIFETIME_S = 1200
CLOCK_SKEW_S = 60  # between the gateway's clock and a service's
JWKS_MAX_AGE_S = 300  # as the gateway's JWKS answer says (Cache-Control: max-age)
# How often a service asks the gateway for its revocation list: a revoked token, or one of a
# disabled client or user, is refused everywhere within this plus the gateway's own refresh.
REVOCATIONS_POLL_S = 2.0
REVOCATIONS_TYP = "revocations+jwt"


def subject_digest(subject: str) -> str:
    """How the revocation list names a subject: a digest, so the list does not spell out
    which clients and users were disabled."""
    return hashlib.sha256(subject.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Revoked:
    """What the gateway has revoked and that has not expired yet: token ids (`jti`), and
    subjects (by `subject_digest`) whose tokens issued at or before a moment (epoch seconds,
    `iat`) are refused: a disabled client or user."""

    jtis: frozenset[str] = frozenset()
    subjects: dict[str, int] = field(default_factory=dict)

    def refuses(self, jti: object, digest: str, iat: float) -> bool:
        """A set and a dict lookup: the whole per-request cost of revocation."""
        if jti in self.jtis:
            return True
        cutoff = self.subjects.get(digest)
        return cutoff is not None and iat <= cutoff

    def claims(self) -> dict[str, Any]:
        """The list as JWT claims (`/oauth/revocations`)."""
        return {
            "revoked_jti": sorted(self.jtis),
            "revoked_sub": dict(sorted(self.subjects.items())),
        }

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Revoked:
        """The list from `claims` (ValueError/TypeError when malformed)."""
        jtis, subjects = claims["revoked_jti"], claims["revoked_sub"]
        if not isinstance(jtis, list) or not isinstance(subjects, dict):
            raise TypeError("revoked_jti must be a list and revoked_sub an object")
        return cls(frozenset(map(str, jtis)), {str(k): int(v) for k, v in subjects.items()})


class JwksVerifier:
    """Verifies tokens against the gateway's JWKS, refetching when an unknown key id appears."""

    def __init__(
        self,
        *,
        jwks_url: str,
        issuer: str,
        audience: str,
        inline_jwks: str = "",
        max_lifetime_s: int = DEFAULT_MAX_LIFETIME_S,
    ):
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.audience = audience
        self.max_lifetime_s = max_lifetime_s
        self._keys: dict[str, PyJWK] = {}
        # Verified tokens until they expire: a signature check per request is the single
        # largest cost of a small request. Bounded; oldest entries go first.
        # The revocation check runs on cached tokens too, so a revoked one is refused at once.
        self._verified: dict[str, tuple[Principal, float, str]] = {}
        self.revoked = Revoked()
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()
        if inline_jwks:
            self._load(json.loads(inline_jwks))
            self._fetched_at = float("inf")

    def _load(self, jwks: dict[str, Any]) -> None:
        keys = {k["kid"]: PyJWK.from_dict(k) for k in jwks.get("keys", [])}
        if set(keys) != set(self._keys):
            self._verified.clear()  # a retired key's tokens are not honoured from the cache
        self._keys = keys

    def use_jwks(self, jwks: dict[str, Any]) -> None:
        """Verify against these keys from now on (the gateway's own, after a rotation)."""
        self._load(jwks)

    async def _refresh(self) -> None:
        async with self._lock:
            if time.monotonic() - self._fetched_at < 5:
                return
            try:
                async with httpx.AsyncClient(timeout=3.0) as client:
                    response = await client.get(self.jwks_url)
                    response.raise_for_status()
            except httpx.HTTPError as exc:
                raise ProblemError(
                    "service-unavailable",
                    "token keys (JWKS) cannot be fetched from the gateway",
                    detail_zh="无法从网关获取令牌公钥（JWKS）",
                ) from exc
            self._load(response.json())
            self._fetched_at = time.monotonic()

    async def _refresh_if_stale(self) -> None:
        """Refetch keys older than `JWKS_MAX_AGE_S`, so a key retired at the gateway (rotated
        out, revoked) stops verifying here too; the gateway away, keep them and retry in 30 s."""
        if not self._keys or time.monotonic() - self._fetched_at <= JWKS_MAX_AGE_S:
            return
        try:
            await self._refresh()
        except ProblemError:
            self._fetched_at = time.monotonic() - JWKS_MAX_AGE_S + 30

    async def key_for(self, kid: str) -> PyJWK | None:
        """The gateway's public key `kid`, refetching the JWKS once when it is unknown (a
        gateway assertion is signed with the token key)."""
        if kid not in self._keys:
            await self._refresh()
        return self._keys.get(kid)

    def use_revocations(self, revoked: Revoked) -> None:
        """Refuse these tokens and subjects from now on, cached or not."""
        self.revoked = revoked

    async def fetch_revocations(self, url: str, client: httpx.AsyncClient | None = None) -> None:
        """Replace the revocation list with the gateway's (`/oauth/revocations`): a JWT signed
        with a token key this verifier knows, so only the gateway can shorten or lengthen it.
        `client`: a poller's own, kept open between polls."""
        if client is None:
            async with httpx.AsyncClient(timeout=3.0) as own:
                return await self.fetch_revocations(url, own)
        response = await client.get(url)
        response.raise_for_status()
        await self.load_revocations(response.text.strip())

    async def load_revocations(self, signed: str) -> None:
        """Use the revocation list `signed` (ValueError, and the old list kept, when it is not
        one the gateway signed with a known key)."""
        try:
            header = jwt.get_unverified_header(signed)
            key = await self.key_for(str(header.get("kid", "")))
            if key is None or header.get("typ") != REVOCATIONS_TYP:
                raise ValueError("not a revocation list signed by a gateway key")
            claims = jwt.decode(
                signed,
                key=key,
                algorithms=["EdDSA"],
                issuer=self.issuer,
                options={"require": ["iat", "exp", "iss"], "verify_aud": False},
            )
            revoked = Revoked.from_claims(claims)
        except (jwt.PyJWTError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"revocation list refused: {exc}") from exc
        self.use_revocations(revoked)

    async def poll_revocations(self, url: str, every_s: float = REVOCATIONS_POLL_S) -> None:
        """`fetch_revocations` forever; while the gateway is away the last list stands (the
        tokens it cannot cover expire within their 15 minutes anyway)."""
        failing = False
        async with httpx.AsyncClient(timeout=3.0) as client:  # one connection, reused
            while True:
                try:
                    await self.fetch_revocations(url, client)
                    failing = False
                except Exception as exc:
                    if not failing:
                        log.warning("revocation list not refreshed from %s (%r)", url, exc)
                    failing = True
                await asyncio.sleep(every_s)

    async def verify(self, token: str) -> Principal:
        """Decode and check signature, issuer, audience, expiry and lifetime (cached until
        expiry), and that the gateway has not revoked it (checked on every call)."""
        await self._refresh_if_stale()
        cached = self._verified.get(token)
        if cached is None or cached[1] <= time.time():
            principal = await self._verify(token)
            if len(self._verified) >= VERIFIED_CACHE_SIZE:
                for stale in list(self._verified)[: VERIFIED_CACHE_SIZE // 10]:
                    del self._verified[stale]
            exp = float(principal.claims["exp"])
            cached = (principal, exp, subject_digest(principal.subject))
            self._verified[token] = cached
        principal, _, digest = cached
        if self.revoked.refuses(principal.claims.get("jti"), digest, principal.claims["iat"]):
            raise _unauthorized("token has been revoked", "访问令牌已被吊销")
        return principal

    async def _verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise _unauthorized(
                "token is not a well-formed JWT", "访问令牌不是格式正确的 JWT"
            ) from exc
        kid = header.get("kid")
        if header.get("alg") != "EdDSA" or not kid:
            raise _unauthorized(
                "token must be EdDSA-signed and carry a key id",
                "访问令牌必须使用 EdDSA 签名并带有密钥标识（kid）",
            )
        if kid not in self._keys:
            await self._refresh()
        key = self._keys.get(kid)
        if key is None:
            raise _unauthorized("token was signed by an unknown key", "访问令牌由未知密钥签发")
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=["EdDSA"],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise _unauthorized("token has expired", "访问令牌已过期，请重新获取") from exc
        except jwt.PyJWTError as exc:
            raise _unauthorized(f"token rejected: {exc}", f"访问令牌被拒绝：{exc}") from exc
        self._check_lifetime(claims)
        return Principal(
            subject=str(claims["sub"]),
            scopes=frozenset(str(claims.get("scope", "")).split()),
            agency=claims.get("agency"),
            uscc=claims.get("uscc"),
            inspector_id=claims.get("inspector_id"),
            claims=claims,
        )

    def _check_lifetime(self, claims: dict[str, Any]) -> None:
        try:
            exp, iat = float(claims["exp"]), float(claims["iat"])
        except (TypeError, ValueError) as exc:
            raise _unauthorized(
                "token's exp and iat must be numbers", "访问令牌的 exp 和 iat 必须是数字"
            ) from exc
        now = time.time()  # an iat in the future PyJWT has refused already
        if exp - iat > self.max_lifetime_s or exp - now > self.max_lifetime_s + CLOCK_SKEW_S:
            raise _unauthorized(
                f"token lifetime exceeds the maximum of {self.max_lifetime_s} s (exp - iat)",
                f"访问令牌有效期超过上限 {self.max_lifetime_s} 秒（exp - iat）",
            )


def insufficient_scope(detail: str, scope: str, detail_zh: str | None = None) -> ProblemError:
    """403 for a token without `scope`, with RFC 6750's challenge naming it."""
    error = ProblemError("forbidden", detail, detail_zh=detail_zh, required_scope=scope)
    error.headers["WWW-Authenticate"] = f'Bearer error="insufficient_scope", scope="{scope}"'
    return error


def _unauthorized(detail: str, detail_zh: str) -> ProblemError:
    error = ProblemError("unauthorized", detail, detail_zh=detail_zh)
    error.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return error


async def current_principal(request: Request) -> Principal:
    """The verified caller; 401 without a valid bearer token."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        error = ProblemError(
            "unauthorized",
            "an 'Authorization: Bearer <token>' header is required",
            detail_zh="需要请求头 'Authorization: Bearer <访问令牌>'",
        )
        error.headers["WWW-Authenticate"] = "Bearer"
        raise error
    verifier: JwksVerifier = request.app.state.verifier
    return await verifier.verify(token.strip())


PrincipalDep = Annotated[Principal, Depends(current_principal)]


async def principal_of_scope(scope: Any) -> Principal | None:
    """The verified caller of an ASGI request, or None (for middleware that only needs to
    know who it is, and leaves refusing an anonymous or bad token to the route)."""
    headers = dict(scope.get("headers", []))
    scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    try:
        principal: Principal = await scope["app"].state.verifier.verify(token.strip())
    except ProblemError:
        return None
    return principal


def ensure_scope(principal: Principal, scope: str) -> Principal:
    """`principal`, when it holds `scope`; else 403 naming the scope (RFC 6750)."""
    if not principal.has(scope):
        raise insufficient_scope(
            f"this action needs the '{scope}' scope", scope, f"此操作需要 '{scope}' 权限"
        )
    return principal


def require(scope: str) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
    """Dependency factory: the verified caller (401 without a valid token), who must hold
    `scope` (403 otherwise). One dependency reading the request itself, not one on top of
    `current_principal`: FastAPI solves each dependency level per request, and every route
    pays for this one."""

    async def check(request: Request) -> Principal:
        return ensure_scope(await current_principal(request), scope)

    check.__name__ = f"require_{scope.replace(':', '_')}"
    check.required_scopes = (scope,)  # type: ignore[attr-defined]  # for document_security
    return check


def _requirements(dependant: Any) -> tuple[bool, set[str]]:
    """Whether a route's dependencies need a token, and the scopes any of them names."""
    authenticated, scopes = False, set()
    todo = [dependant]
    while todo:
        current = todo.pop()
        call = getattr(current, "call", None)
        if call is current_principal:
            authenticated = True
        named = getattr(call, "required_scopes", None)
        if named:
            authenticated = True
            scopes.update(named)
        todo.extend(current.dependencies)
    return authenticated, scopes


def document_security(app: Any, document: dict[str, Any]) -> dict[str, Any]:
    """Each operation's `security` as its dependencies enforce it: `[]` when no token is
    needed, else the `oauth2` scheme with the scope (or administrative role) it checks;
    the scheme lists every scope named. Generators and linters read these per operation."""
    from fastapi.routing import APIRoute

    from kit.http import routes_of

    named: set[str] = set()
    for route in routes_of(app):
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        item = document.get("paths", {}).get(route.path_format, {})
        authenticated, scopes = _requirements(route.dependant)
        named |= scopes
        for method in route.methods or ():
            operation = item.get(method.lower())
            if operation is not None:
                operation["security"] = [{"oauth2": sorted(scopes)}] if authenticated else []
    schemes = document.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes["oauth2"] = {
        "type": "oauth2",
        "description": "Tokens from the gateway's /oauth/token; its RFC 8414 metadata (grants, "
        "revocation, introspection) is at /.well-known/oauth-authorization-server",
        "flows": {
            "clientCredentials": {
                "tokenUrl": "/oauth/token",
                "scopes": {scope: SCOPE_DESCRIPTIONS.get(scope, scope) for scope in sorted(named)},
            }
        },
    }
    return document


def sees_agency_record(principal: Principal, agency: str | None) -> bool:
    """Whether `principal` may see a record an agency owns (an import job): admins every
    one, an agency's staff or system its own agency's, an enterprise or an inspector none,
    and a caller without an agency none either (a record without one is not theirs)."""
    if principal.is_admin:
        return True
    if principal.uscc is not None or principal.inspector_id is not None:
        return False
    return principal.agency is not None and principal.agency == agency


def agency_records(principal: Principal, column: Any) -> Any:
    """The SQL condition `sees_agency_record` is for a list: true for admins, the caller's
    agency's rows else, no row for a caller without an agency."""
    if principal.is_admin:
        return true()
    if principal.agency is None or principal.uscc is not None or principal.inspector_id is not None:
        return false()
    return column == principal.agency


def ensure_office(principal: Principal) -> None:
    """403 for enterprise- and inspector-bound tokens: only agencies and the zone office."""
    if principal.uscc is not None or principal.inspector_id is not None:
        raise ProblemError(
            "forbidden",
            "only the zone office or a member agency may do this",
            detail_zh="只有示范区办公室或各部门可以执行此操作",
        )


def ensure_own_enterprise(principal: Principal, uscc: str) -> None:
    """403 when an enterprise-bound token touches another enterprise."""
    if not principal.can_act_for(uscc):
        raise ProblemError(
            "forbidden",
            "an enterprise token may only access its own enterprise",
            detail_zh="企业令牌只能访问本企业的数据",
        )
