"""The dashboard's sign-in state (rules in `gateway.webui.session`): its cookies, its CSRF
tokens and its sign-in page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from gateway.webui.session import LANG_COOKIE as LANG_COOKIE
from gateway.webui.session import CookieBearerMiddleware, cookie_token, csrf_digest
from gateway.webui.session import clear_cookie as clear_cookie
from gateway.webui.session import csrf_ok as csrf_ok
from gateway.webui.session import lang_of as lang_of
from gateway.webui.session import new_login_csrf as new_login_csrf
from gateway.webui.session import principal_of as principal_of
from gateway.webui.session import safe_next as safe_next
from gateway.webui.session import set_cookie as set_cookie
from gateway.webui.session import to_login as _to_login

TOKEN_COOKIE = "zone_dashboard"  # noqa: S105 - a cookie name
LOGIN_COOKIE = "zone_dashboard_login"
LOGIN_PATH = "/dashboard/login"


def token_of(request: Request) -> str | None:
    """The session's access token, if the cookie is there."""
    return cookie_token(request, TOKEN_COOKIE)


def csrf_for(token: str) -> str:
    """The session's CSRF token: a digest of the access token, so it needs no storage."""
    return csrf_digest(b"zone-dashboard-csrf:", token)


def to_login(request: Request, *, expired: bool) -> Response:
    """Send the browser to the dashboard's sign-in page (HTMX requests by `HX-Redirect`)."""
    return _to_login(request, expired=expired, login_path=LOGIN_PATH, cookie=TOKEN_COOKIE)


def dashboard_path(path: str) -> bool:
    """The dashboard's own pages and form posts (never an API path)."""
    return path == "/" or path.startswith("/dashboard/")


class DashboardTokenMiddleware(CookieBearerMiddleware):
    """The dashboard session's token as the bearer token on dashboard paths."""

    def __init__(self, app: ASGIApp):
        super().__init__(app, cookie=TOKEN_COOKIE, applies=dashboard_path)
