"""The portal's sign-in state (rules in `gateway.webui.session`): its own cookies, so a
dashboard session and a portal session never stand in for each other."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from gateway.webui.session import CookieBearerMiddleware, cookie_token, csrf_digest
from gateway.webui.session import to_login as _to_login

TOKEN_COOKIE = "zone_portal"  # noqa: S105 - a cookie name
LOGIN_COOKIE = "zone_portal_login"
PREFIX = "/portal/"
HOME = "/portal/"
LOGIN_PATH = "/portal/login"


def token_of(request: Request) -> str | None:
    """The portal session's access token, if its cookie is there."""
    return cookie_token(request, TOKEN_COOKIE)


def csrf_for(token: str) -> str:
    """The portal session's CSRF token (another salt than the dashboard's)."""
    return csrf_digest(b"zone-portal-csrf:", token)


def portal_path(path: str) -> bool:
    """The portal's own pages and form posts (never an API path)."""
    return path == "/portal" or path.startswith(PREFIX)


def to_login(request: Request, *, expired: bool) -> Response:
    """Send the browser to the portal's sign-in page (HTMX requests by `HX-Redirect`)."""
    return _to_login(
        request, expired=expired, login_path=LOGIN_PATH, cookie=TOKEN_COOKIE, home=HOME
    )


class PortalTokenMiddleware(CookieBearerMiddleware):
    """The portal session's token as the bearer token on portal paths."""

    def __init__(self, app: ASGIApp):
        super().__init__(app, cookie=TOKEN_COOKIE, applies=portal_path)
