"""OAuth2 token endpoint (client credentials) and the JWKS."""

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse

from gateway.clients import service as clients
from gateway.clients.models import OAuthClient
from gateway.clients.schemas import TokenOut
from gateway.users import service as users
from gateway.users.models import User
from kit.db import SessionDep
from kit.problems import ProblemError

router = APIRouter(tags=["auth"])


def _oauth_error(status: int, error: str, detail: str) -> ProblemError:
    slug = "unauthorized" if status == 401 else "bad-request"
    problem = ProblemError(slug, detail, status=status, error=error)
    problem.headers["Cache-Control"] = "no-store"
    if status == 401:
        problem.headers["WWW-Authenticate"] = 'Basic realm="oauth"'
    return problem


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(value).decode().partition(":")
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
        return None
    return client_id, secret


@router.post(
    "/oauth/token",
    summary="Get an access token (client credentials)",
    response_model=TokenOut,
    responses={400: {"description": "Bad grant or scope"}, 401: {"description": "Bad client"}},
)
async def token(
    request: Request,
    session: SessionDep,
    grant_type: Annotated[str, Form(description="client_credentials or password")],
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
    username: Annotated[str | None, Form(description="password grant: the user's name")] = None,
    password: Annotated[str | None, Form(description="password grant: the user's password")] = None,
    scope: Annotated[
        str | None, Form(description="Space-separated subset of the caller's scopes")
    ] = None,
) -> Any:
    """RFC 6749, form-encoded: client credentials (§4.4; form or HTTP Basic) for agency
    systems, or a user's password (§4.3) for enterprise staff, inspectors and office staff."""
    holder: OAuthClient | User
    if grant_type == "client_credentials":
        basic = _basic_credentials(request)
        if basic is not None:
            client_id, client_secret = basic
        if not client_id or not client_secret:
            raise _oauth_error(401, "invalid_client", "client_id and client_secret are required")
        client = await clients.authenticate(session, client_id, client_secret)
        if client is None:
            raise _oauth_error(401, "invalid_client", "unknown client or wrong secret")
        subject, holder = client.client_id, client
    elif grant_type == "password":
        if not username or not password:
            raise _oauth_error(400, "invalid_request", "username and password are required")
        user = await users.authenticate(session, username, password)
        if user is None:
            raise _oauth_error(401, "invalid_grant", "unknown user or wrong password")
        subject, holder = f"user:{user.username}", user
    else:
        raise _oauth_error(
            400, "unsupported_grant_type", "grant_type must be client_credentials or password"
        )
    granted = list(holder.scopes)
    if scope:
        asked = scope.split()
        extra = sorted(set(asked) - set(granted))
        if extra:
            raise _oauth_error(400, "invalid_scope", f"may not request: {', '.join(extra)}")
        granted = [s for s in granted if s in asked]
    access_token, expires_in = request.app.state.signer.issue(
        subject=subject,
        scopes=granted,
        agency=holder.agency,
        uscc=holder.uscc,
        inspector_id=holder.inspector_id,
    )
    body = TokenOut(access_token=access_token, expires_in=expires_in, scope=" ".join(granted))
    return JSONResponse(
        body.model_dump(), headers={"Cache-Control": "no-store", "Pragma": "no-cache"}
    )


@router.get("/.well-known/jwks.json", summary="Token verification keys (JWKS)")
async def jwks(request: Request) -> JSONResponse:
    """Public Ed25519 keys; services fetch these to verify tokens themselves."""
    return JSONResponse(request.app.state.signer.jwks(), headers={"Cache-Control": "max-age=300"})
