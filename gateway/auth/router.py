"""OAuth 2: the token endpoint, revocation (RFC 7009), introspection (RFC 7662), server
metadata (RFC 8414), the JWKS and the signed revocation list the services poll."""

import base64
import binascii
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, Response

from gateway.audit.middleware import AUDIT_ACTOR, AUDIT_AGENCY
from gateway.auth import revocations
from gateway.auth.models import TokenRevocation
from gateway.auth.schemas import IntrospectionOut, OAuthErrorOut, ServerMetadataOut
from gateway.clients import service as clients
from gateway.clients.models import OAuthClient
from gateway.clients.schemas import TokenOut
from gateway.config import settings
from gateway.lockouts import service as lockouts
from gateway.roles import issuable
from gateway.users import service as users
from gateway.users.models import User
from kit.auth import ALL_SCOPES, Principal
from kit.db import SessionDep
from kit.problems import ProblemError

router = APIRouter(tags=["auth"])
log = logging.getLogger("gateway.auth")
Holder = TypeVar("Holder", OAuthClient, User)


NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


class OAuthError(Exception):
    """An RFC 6749 §5.2 error: `application/json` with `error` and `error_description`."""

    def __init__(self, status: int, error: str, description: str):
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


async def on_oauth_error(request: Request, exc: Exception) -> Response:
    """The answer to an `OAuthError`; a 401 challenges for HTTP Basic client credentials."""
    assert isinstance(exc, OAuthError)
    headers = dict(NO_STORE)
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="oauth"'
    body = OAuthErrorOut(error=exc.error, error_description=exc.description)
    return JSONResponse(body.model_dump(), status_code=exc.status, headers=headers)


def _oauth_error(status: int, error: str, detail: str) -> OAuthError:
    return OAuthError(status, error, detail)


OAUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": OAuthErrorOut, "description": "invalid_request (a parameter missing)"},
    401: {
        "model": OAuthErrorOut,
        "description": "invalid_client: unknown client, wrong secret, or the client locked "
        "after failed logins (one answer for all)",
    },
}


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(value).decode().partition(":")
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
        return None
    return client_id, secret


def _policy() -> lockouts.LockoutPolicy:
    return lockouts.LockoutPolicy(
        max_failures=settings.login_max_failures,
        max_account_failures=settings.login_max_account_failures,
        window_s=settings.login_failure_window_s,
        lock_s=settings.login_lock_s,
    )


async def _guarded(
    request: Request, account: str | None, authenticate: Callable[[], Awaitable[Holder | None]]
) -> Holder | None:
    """`authenticate()`, refused while the account is locked for the caller's address, and
    each refusal counted. The secret is checked even then, and a refusal costs the same
    statements whatever its reason, so neither the answer nor its time tells a locked
    account from a wrong secret or an unknown name."""
    if account is None:  # a name no account can have: nothing to count or lock
        return await authenticate()
    source = request.client.host if request.client else "unknown"
    sessionmaker = request.app.state.sessionmaker
    async with sessionmaker() as session, session.begin():
        standing = await lockouts.standing(session, account=account, source=source)
    holder = await authenticate()
    if holder is not None and not standing.locked:
        if standing.counted:
            async with sessionmaker() as session, session.begin():
                await lockouts.forget_failures(session, account=account, source=source)
        return holder
    async with sessionmaker() as session, session.begin():
        locked = await lockouts.record_failure(
            session, account=account, source=source, policy=_policy()
        )
    for locked_source in locked:
        await _audit_lockout(request, account, locked_source)
    return None


async def _audit_lockout(request: Request, account: str, source: str) -> None:
    log.warning("login locked for %s from %s after failed logins", account, source)
    try:
        await request.app.state.audit.append(
            {
                "request_id": getattr(request.state, "request_id", ""),
                "actor": None,  # whoever was guessing
                "agency": None,
                "uscc": None,
                "inspector_id": None,
                "method": request.method,
                "path": request.url.path,
                "object_key": account,
                # the answer the refusal got: a user's is RFC 6749's 400 invalid_grant
                "status": 400 if account.startswith("user:") else 401,
                "outcome": "locked",
                "phase": "outcome",  # no intent: the gateway itself decided, nothing forwarded
                "intent_seq": None,
            }
        )
    except Exception:
        log.exception("the lockout of %s could not be audited", account)


@router.post(
    "/oauth/token",
    summary="Get an access token (client credentials)",
    response_model=TokenOut,
    responses={
        400: {
            "model": OAuthErrorOut,
            "description": "invalid_request, invalid_grant (unknown user or wrong password), "
            "unsupported_grant_type or invalid_scope (RFC 6749 §5.2)",
        },
        401: OAUTH_ERRORS[401],
    },
)
async def token(
    request: Request,
    session: SessionDep,
    grant_type: Annotated[str | None, Form(description="client_credentials or password")] = None,
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
    username: Annotated[str | None, Form(description="password grant: the user's name")] = None,
    password: Annotated[str | None, Form(description="password grant: the user's password")] = None,
    scope: Annotated[
        str | None, Form(description="Space-separated subset of the caller's scopes")
    ] = None,
) -> Any:
    """RFC 6749, form-encoded: client credentials (§4.4; form or HTTP Basic) for agency
    systems, or a user's password (§4.3) for enterprise staff, inspectors and office staff.
    After `GATEWAY_LOGIN_MAX_FAILURES` (5) failed logins of an account from one address in
    `GATEWAY_LOGIN_FAILURE_WINDOW_S` (15 min), or `GATEWAY_LOGIN_MAX_ACCOUNT_FAILURES` (20)
    from all, the account is locked for `GATEWAY_LOGIN_LOCK_S` (15 min): even the right
    secret then gets the same 401 as a wrong one. Administrators lift locks at
    `/v1/lockouts`. Errors are RFC 6749 §5.2 bodies (`error`, `error_description`)."""
    holder: OAuthClient | User
    if not grant_type:
        raise _oauth_error(400, "invalid_request", "grant_type is required")
    if grant_type == "client_credentials":
        client = await _client(request, session, client_id, client_secret)
        subject, holder = client.client_id, client
    elif grant_type == "password":
        if not username or not password:
            raise _oauth_error(400, "invalid_request", "username and password are required")
        name, word = username, password
        setattr(request.state, AUDIT_ACTOR, f"user:{name}"[:200])  # who tried, until known
        user = await _guarded(
            request,
            lockouts.account_key("user", name),
            lambda: users.authenticate(session, name, word),
        )
        if user is None:  # RFC 6749 §5.2: a bad resource owner password is a 400
            raise _oauth_error(400, "invalid_grant", "unknown user or wrong password")
        subject, holder = f"user:{user.username}", user
    else:
        raise _oauth_error(
            400, "unsupported_grant_type", "grant_type must be client_credentials or password"
        )
    bound = holder.uscc is not None or holder.inspector_id is not None
    granted = issuable(holder.scopes, bound=bound, dev=settings.profile == "dev")
    if scope:
        asked = scope.split()
        extra = sorted(set(asked) - set(granted))
        if extra:
            raise _oauth_error(400, "invalid_scope", f"may not request: {', '.join(extra)}")
        granted = [s for s in granted if s in asked]
    setattr(request.state, AUDIT_ACTOR, subject)
    setattr(request.state, AUDIT_AGENCY, holder.agency)
    access_token, expires_in = request.app.state.signer.issue(
        subject=subject,
        scopes=granted,
        agency=holder.agency,
        uscc=holder.uscc,
        inspector_id=holder.inspector_id,
    )
    body = TokenOut(access_token=access_token, expires_in=expires_in, scope=" ".join(granted))
    return JSONResponse(body.model_dump(), headers=NO_STORE)


async def _client(
    request: Request, session: SessionDep, client_id: str | None, client_secret: str | None
) -> OAuthClient:
    """The confidential client calling (client_secret_basic or client_secret_post), under
    the token endpoint's lockout rules; 401 invalid_client otherwise."""
    basic = _basic_credentials(request)
    if basic is not None:
        client_id, client_secret = basic
    if not client_id or not client_secret:
        raise _oauth_error(401, "invalid_client", "client_id and client_secret are required")
    cid, secret = client_id, client_secret
    setattr(request.state, AUDIT_ACTOR, cid[:200])  # who tried, until known
    client = await _guarded(
        request,
        lockouts.account_key("client", cid),
        lambda: clients.authenticate(session, cid, secret),
    )
    if client is None:
        raise _oauth_error(401, "invalid_client", "unknown client or wrong secret")
    return client


async def _honoured(request: Request, session: SessionDep, token: str) -> Principal | None:
    """The token's holder when the gateway honours it now: signed by a key in force, not
    expired, not revoked (checked in the database, not only in the list the processes hold),
    its client or user still active; else None."""
    try:
        principal: Principal = await request.app.state.verifier.verify(token)
    except ProblemError:
        return None
    claims = principal.claims
    if await session.get(TokenRevocation, ("jti", str(claims.get("jti")))) is not None:
        return None
    cut = await session.get(TokenRevocation, ("sub", principal.subject))
    if cut is not None and float(claims["iat"]) <= cut.issued_up_to:
        return None
    holder: OAuthClient | User | None
    if principal.subject.startswith("user:"):
        holder = await session.get(User, principal.subject.removeprefix("user:"))
    else:
        holder = await session.get(OAuthClient, principal.subject)
    return principal if holder is not None and holder.active else None


TokenForm = Annotated[str | None, Form(description="The access token")]
HintForm = Annotated[str | None, Form(description="access_token (the only kind issued)")]
ClientIdForm = Annotated[str | None, Form(description="client_secret_post: the client's id")]
SecretForm = Annotated[str | None, Form(description="client_secret_post: its secret")]


@router.post(
    "/oauth/revoke",
    summary="Revoke an access token (RFC 7009)",
    responses={
        200: {"description": "Revoked, or not a token this gateway honours (nothing to do)"},
        400: {
            "model": OAuthErrorOut,
            "description": "invalid_request (no token), unauthorized_client (another "
            "client's token, and the caller is no security administrator)",
        },
        401: OAUTH_ERRORS[401],
    },
)
async def revoke(
    request: Request,
    session: SessionDep,
    token: TokenForm = None,
    token_type_hint: HintForm = None,
    client_id: ClientIdForm = None,
    client_secret: SecretForm = None,
) -> Response:
    """A confidential client revokes a token issued to it (a client holding
    `security_admin` revokes anyone's, a user's included). Every gateway process and every
    service refuses it within about three seconds; an invalid, expired or unknown token
    answers 200 as well (RFC 7009 §2.2)."""
    client = await _client(request, session, client_id, client_secret)
    if not token:
        raise _oauth_error(400, "invalid_request", "token is required")
    try:
        principal: Principal = await request.app.state.verifier.verify(token)
    except ProblemError:
        return Response(status_code=200, headers=NO_STORE)
    may_revoke_any = bool({"admin", "security_admin"} & set(client.scopes))
    if principal.subject != client.client_id and not may_revoke_any:
        raise _oauth_error(400, "unauthorized_client", "this token was issued to another client")
    claims = principal.claims
    await revocations.revoke_token(session, jti=str(claims["jti"]), exp=float(claims["exp"]))
    return Response(status_code=200, headers=NO_STORE)


@router.post(
    "/oauth/introspect",
    summary="Introspect an access token (RFC 7662)",
    response_model=IntrospectionOut,
    response_model_exclude_none=True,
    responses={400: OAUTH_ERRORS[400], 401: OAUTH_ERRORS[401]},
)
async def introspect(
    request: Request,
    session: SessionDep,
    token: TokenForm = None,
    token_type_hint: HintForm = None,
    client_id: ClientIdForm = None,
    client_secret: SecretForm = None,
) -> JSONResponse:
    """For confidential clients: `{"active": false}` for a token that is revoked, expired,
    foreign (another issuer, unsigned, garbage) or whose client or user is disabled; else
    `active: true` with its scope, subject, client or user name and times."""
    await _client(request, session, client_id, client_secret)
    if not token:
        raise _oauth_error(400, "invalid_request", "token is required")
    principal = await _honoured(request, session, token)
    if principal is None:
        return JSONResponse({"active": False}, headers=NO_STORE)
    claims = principal.claims
    user = (
        principal.subject.removeprefix("user:") if principal.subject.startswith("user:") else None
    )
    body = IntrospectionOut(
        active=True,
        token_type="Bearer",  # noqa: S106 - the OAuth token type, not a secret
        username=user,
        client_id=None if user else principal.subject,
        **{k: v for k, v in claims.items() if k not in ("active", "token_type")},
    )
    return JSONResponse(body.model_dump(exclude_none=True), headers=NO_STORE)


def _issuer() -> str:
    """RFC 8414's issuer is a URL: the tokens' own `iss` when it is one, else this gateway's
    public address (tokens then carry GATEWAY_JWT_ISSUER, `zone-gateway` by default)."""
    if settings.jwt_issuer.startswith(("https://", "http://")):
        return settings.jwt_issuer
    return settings.public_base_url.rstrip("/")


@router.get(
    "/.well-known/oauth-authorization-server",
    summary="OAuth 2 authorization server metadata (RFC 8414)",
    response_model=ServerMetadataOut,
)
async def server_metadata() -> JSONResponse:
    """Where the token, revocation, introspection and key endpoints are, which grants,
    scopes and client authentication methods they take."""
    base = settings.public_base_url.rstrip("/")
    scopes = [s for s in ALL_SCOPES if s != "admin" or settings.profile == "dev"]
    body = ServerMetadataOut(
        issuer=_issuer(),
        token_endpoint=f"{base}/oauth/token",
        jwks_uri=f"{base}/.well-known/jwks.json",
        grant_types_supported=["client_credentials", "password"],
        response_types_supported=[],  # no authorization endpoint: no browser redirects
        scopes_supported=scopes,
        token_endpoint_auth_methods_supported=CLIENT_AUTH_METHODS,
        revocation_endpoint=f"{base}/oauth/revoke",
        revocation_endpoint_auth_methods_supported=CLIENT_AUTH_METHODS,
        introspection_endpoint=f"{base}/oauth/introspect",
        introspection_endpoint_auth_methods_supported=CLIENT_AUTH_METHODS,
        service_documentation=f"{base}/docs",
    )
    return JSONResponse(body.model_dump(), headers={"Cache-Control": "public, max-age=300"})


@router.get(
    "/oauth/revocations",
    summary="Revoked tokens and subjects, signed (polled by the services)",
    response_class=Response,
    include_in_schema=False,  # the services' plumbing (a signed JWT), not for API clients
)
async def revocation_list(request: Request) -> Response:
    """A JWT signed with the current token key (`typ` revocations+jwt): the ids of revoked
    tokens (`revoked_jti`) and, for disabled clients and users, a digest of the subject
    with the `iat` up to which its tokens are refused (`revoked_sub`). Each service polls
    it every 2 s and checks each request against it (kit.auth)."""
    signed = request.app.state.signer.revocations(request.app.state.verifier.revoked)
    return Response(signed, media_type="application/jwt")


@router.get("/.well-known/jwks.json", summary="Token verification keys (JWKS)")
async def jwks(request: Request) -> JSONResponse:
    """Public Ed25519 keys; services fetch these to verify tokens themselves."""
    return JSONResponse(request.app.state.signer.jwks(), headers={"Cache-Control": "max-age=300"})
