"""A front end's sign-in state: the user's API token in a cookie, and CSRF tokens.

The cookie holds the very access token the password grant returned (HttpOnly, so page
scripts never see it; SameSite=Strict, so another site cannot make the browser send it; Secure
over https). It lives as long as the token (15 minutes by default); after that the user signs
in again. Every form post also carries a CSRF token: derived from the session token for
signed-in users (unguessable without it), a random double-submit cookie on the sign-in form.
Each front end names its own cookies and sign-in page; the rules are these.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.config import settings
from kit.auth import Principal
from kit.problems import ProblemError
from kit.vocabulary import language

LANG_COOKIE = "lang"
CSRF_HEADER = "x-csrf-token"


def secure(request: Request) -> bool:
    """Whether cookies are marked Secure: always outside the dev profile (a TLS proxy that
    does not say X-Forwarded-Proto must not get the session over plain http); in dev, when
    the browser reached us over https."""
    if settings.profile != "dev":
        return True
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded.split(",")[0].strip() == "https"


def set_cookie(
    response: Response, request: Request, name: str, value: str, max_age: int | None
) -> None:
    """An HttpOnly, SameSite=Strict cookie on the whole site (Secure over https)."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=secure(request),
    )


def clear_cookie(response: Response, request: Request, name: str) -> None:
    """Remove a cookie set by `set_cookie`."""
    response.delete_cookie(name, path="/", httponly=True, samesite="strict", secure=secure(request))


def lang_of(request: Request) -> str:
    """`?lang=` first (the switch), then the cookie, else zh-CN."""
    return language(request.query_params.get("lang") or request.cookies.get(LANG_COOKIE))


def cookie_token(request: Request, cookie: str) -> str | None:
    """The session's access token, if the cookie is there."""
    token = request.cookies.get(cookie, "").strip()
    return token or None


async def principal_of(request: Request, token: str | None) -> Principal | None:
    """The verified holder of the session token; None when missing, expired or forged."""
    if not token:
        return None
    try:
        principal: Principal = await request.app.state.verifier.verify(token)
    except ProblemError:
        return None
    return principal


def csrf_digest(salt: bytes, token: str) -> str:
    """A session's CSRF token: a digest of the access token, so it needs no storage."""
    return hashlib.sha256(salt + token.encode()).hexdigest()


def new_login_csrf() -> str:
    """A random value for the sign-in form's double-submit cookie."""
    return secrets.token_urlsafe(32)


def csrf_ok(expected: str | None, request: Request, submitted: str | None) -> bool:
    """The form field or the HTMX header carries the expected token."""
    given = submitted or request.headers.get(CSRF_HEADER) or ""
    return bool(expected) and hmac.compare_digest(str(expected), given)


def safe_next(value: str | None, default: str = "/") -> str:
    """Where to go after signing in: only a path on this site (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value


def to_login(
    request: Request, *, expired: bool, login_path: str, cookie: str, home: str = "/"
) -> Response:
    """Send the browser to the sign-in page (HTMX requests by `HX-Redirect`)."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        here = request.headers.get("hx-current-url", "") or home
        if "://" in here:
            here = "/" + here.split("://", 1)[1].partition("/")[2]
    target = f"{login_path}?next={quote(safe_next(here, home), safe='')}"
    if expired:
        target += "&expired=1"
    response: Response
    if request.headers.get("hx-request"):
        response = Response(status_code=200, headers={"HX-Redirect": target})
    else:
        response = RedirectResponse(target, status_code=303)
    clear_cookie(response, request, cookie)
    return response


class CookieBearerMiddleware:
    """Presents a front end's session token as the request's bearer token, on that front
    end's own paths only, so the gateway's audit log names the signed-in user for each form
    post and its rate limit counts per user. API paths never accept the cookie (no CSRF
    there); the front end's posts check their own CSRF token."""

    def __init__(self, app: ASGIApp, *, cookie: str, applies: Callable[[str], bool]):
        self.app = app
        self.cookie = cookie
        self.applies = applies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.applies(scope["path"]):
            headers = scope.get("headers", [])
            if not any(k == b"authorization" for k, _ in headers):
                token = Request(scope).cookies.get(self.cookie, "").strip()
                if token and token.isascii() and " " not in token:
                    scope = dict(scope)
                    scope["headers"] = [*headers, (b"authorization", f"Bearer {token}".encode())]
        await self.app(scope, receive, send)
