"""What a server-rendered front end (the office dashboard, the enterprise portal) does the
same way: its assets, its page context and rendering, the signed-in check and the CSRF check
of form posts, and the sign-in/out routes (the password grant through the gateway's own token
endpoint, the token in the front end's own cookie). Each front end makes one `Site` with its
names, its templates and whom it admits, and keeps only its pages in its router."""

from __future__ import annotations

import contextlib
import hashlib
import mimetypes
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from gateway.audit.middleware import AUDIT_ACTOR, AUDIT_AGENCY
from gateway.webui.api import Api, LoginRequired, Part
from gateway.webui.session import (
    LANG_COOKIE,
    clear_cookie,
    csrf_ok,
    lang_of,
    new_login_csrf,
    principal_of,
    safe_next,
    set_cookie,
)
from gateway.webui.words import Words
from kit.auth import Principal
from kit.problems import NotFound
from kit.vocabulary import china_time

PAGE_HEADERS = {"Cache-Control": "no-store"}
ASSET_HEADERS = {"Cache-Control": "public, max-age=31536000, immutable"}

SignedIn = tuple[Api, dict[str, Any]]
Builder = Callable[[Api, dict[str, Any]], Awaitable[dict[str, Any]]]


class CsrfRefused(Exception):
    """A signed-in form post without its session's CSRF token."""

    def __init__(self, context: dict[str, Any]):
        super().__init__()
        self.context = context


def assets(folder: Path) -> tuple[dict[str, Path], dict[str, str]]:
    """Every file under `folder` by its URL path (anything else is 404: no path walking),
    and its content hash for cache busting (assets are cached a year, renamed by query)."""
    files = {p.relative_to(folder).as_posix(): p for p in folder.rglob("*") if p.is_file()}
    versions = {n: hashlib.sha256(p.read_bytes()).hexdigest()[:12] for n, p in files.items()}
    return files, versions


@dataclass
class Site:
    """One front end's names and rules.

    `session_context` says what a verified session adds to the page context (the portal's
    USCC), or None when this front end does not open for that principal; `admits` is the
    sign-in's check, refused with `refused_key`'s words (a 403 on the sign-in page)."""

    templates: Jinja2Templates
    words: Callable[[str], dict[str, Words]]
    static_dir: Path
    static_prefix: str  # "/static/"
    login_path: str
    logout_path: str
    home: str
    token_cookie: str
    login_cookie: str
    token_of: Callable[[Request], str | None]
    csrf_for: Callable[[str], str]
    to_login: Callable[..., Response]
    admits: Callable[[Principal], bool]
    refused_key: str
    session_context: Callable[[Principal], dict[str, Any] | None] = lambda _: {}
    base_extra: dict[str, Any] = field(default_factory=dict)
    login_required: type[LoginRequired] = LoginRequired
    csrf_refused: type[CsrfRefused] = CsrfRefused
    target_prefix: str = "/"  # where the sign-in may send the browser on

    def __post_init__(self) -> None:
        self.files, self.versions = assets(self.static_dir)
        self.templates.env.globals["static"] = self.static_url
        # people read China time (Asia/Shanghai); the API's ISO 8601 times carry their offset
        self.templates.env.filters["china_time"] = china_time

    def static_url(self, name: str) -> str:
        """An asset's URL with its content hash (so it can be cached for a year)."""
        return f"{self.static_prefix}{name}?v={self.versions.get(name, '0')}"

    # -- pages -----------------------------------------------------------------------------

    def base_context(self, request: Request, token: str | None, user: str | None) -> dict[str, Any]:
        """What every page of this front end gets: language, words, user, CSRF token."""
        lang = lang_of(request)
        return {
            "lang": lang,
            "t": self.words(lang),
            "user": user,
            **self.base_extra,
            "csrf": self.csrf_for(token) if token else "",
            "path": request.url.path,
        }

    def render(
        self, request: Request, name: str, context: dict[str, Any], status_code: int = 200
    ) -> HTMLResponse:
        """A template, never cached; `?lang=` (the switch) is remembered in a cookie."""
        response = self.templates.TemplateResponse(
            request, name, context, status_code=status_code, headers=PAGE_HEADERS
        )
        if "lang" in request.query_params:
            set_cookie(response, request, LANG_COOKIE, context["lang"], 365 * 24 * 3600)
        return response

    async def on_login_required(self, request: Request, exc: Exception) -> Response:
        """No session, or a token refused mid-page: to the sign-in page and back."""
        assert isinstance(exc, LoginRequired)
        return self.to_login(request, expired=exc.expired)

    async def on_csrf_refused(self, request: Request, exc: Exception) -> Response:
        """A form post without its CSRF token changes nothing: an error page."""
        assert isinstance(exc, CsrfRefused)
        exc.context["message"] = exc.context["t"]["ui"]["csrf_failed"]
        return self.render(request, "error.html", exc.context, 403)

    async def signed_in(self, request: Request) -> SignedIn:
        """The signed-in user's API and page context; `login_required` without a valid
        session this front end opens for."""
        token = self.token_of(request)
        principal = await principal_of(request, token)
        extra = None if principal is None else self.session_context(principal)
        if principal is None or extra is None:
            raise self.login_required(expired=token is not None)
        context = self.base_context(request, token, principal.subject.removeprefix("user:"))
        context.update(extra)
        return Api(request, token, context["lang"]), context

    def signed_in_first(self) -> type[APIRoute]:
        """A route class for form posts that carry files: the session is checked before the
        body is read (FastAPI parses a form before any dependency runs), so nobody without
        one makes the gateway spool a multipart body. The CSRF token, a form field, is then
        checked by `form_session` as on every form post."""
        site = self

        class SignedInFirst(APIRoute):
            def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
                handler = super().get_route_handler()

                async def signed_in_then(request: Request) -> Response:
                    await site.signed_in(request)
                    return await handler(request)

                return signed_in_then

        return SignedInFirst

    async def form_session(
        self, request: Request, csrf: Annotated[str, Form(max_length=200)] = ""
    ) -> SignedIn:
        """For a form post: `signed_in`, and the session's CSRF token in the form or header."""
        api, context = await self.signed_in(request)
        if not csrf_ok(context["csrf"], request, csrf):
            raise self.csrf_refused(context)
        return api, context

    async def page(self, request: Request, name: str, build: Builder) -> Response:
        """Sign-in check, fetch, render. Checked here rather than by a dependency, so a
        malformed query is a 422 whether or not the user is signed in."""
        api, context = await self.signed_in(request)
        context.update(await build(api, context))
        status = context.pop("status_code", 200)
        return self.render(request, name, context, status)

    # -- routes: assets, sign in and out ---------------------------------------------------

    def add_routes(self, router: APIRouter) -> None:
        """The asset route and the sign-in form, its post and the sign-out post."""
        router.add_api_route(f"{self.static_prefix}{{name:path}}", self.asset, methods=["GET"])
        router.add_api_route(self.login_path, self.login_form, methods=["GET"])
        router.add_api_route(self.login_path, self.login, methods=["POST"])
        router.add_api_route(self.logout_path, self.logout, methods=["POST"])

    async def asset(self, name: str) -> Response:
        """Vendored and own assets, cached a year (their URLs carry a content hash)."""
        path = self.files.get(name)
        if path is None:
            raise NotFound("asset", name)
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if path.suffix == ".md" or path.name.startswith(("LICENSE", "NOTICE")):
            media_type = "text/plain; charset=utf-8"
        return FileResponse(path, media_type=media_type, headers=ASSET_HEADERS)

    async def login_form(
        self,
        request: Request,
        next: str | None = None,
        expired: str | None = None,
        bye: str | None = None,
    ) -> Response:
        """The sign-in form, with a fresh double-submit CSRF cookie."""
        context = self.base_context(request, None, None)
        value = request.cookies.get(self.login_cookie) or new_login_csrf()
        t = context["t"]["ui"]
        notice = t["session_expired"] if expired else t["logged_out"] if bye else None
        context.update(login_csrf=value, next=safe_next(next, self.home), notice=notice, error=None)
        response = self.render(request, "login.html", context)
        set_cookie(response, request, self.login_cookie, value, 3600)
        return response

    async def login(
        self,
        request: Request,
        username: Annotated[str, Form(max_length=100)] = "",
        password: Annotated[str, Form(max_length=200)] = "",
        csrf: Annotated[str, Form(max_length=200)] = "",
        next: Annotated[str, Form(max_length=2000)] = "",
    ) -> Response:
        """The password grant through the gateway's own token endpoint; the token goes in
        this front end's cookie when `admits` takes its holder."""
        context = self.base_context(request, None, None)
        t = context["t"]["ui"]
        expected = request.cookies.get(self.login_cookie)
        target = safe_next(next or self.home, self.home)
        if not target.startswith(self.target_prefix):
            target = self.home
        context.update(login_csrf=expected or new_login_csrf(), next=target, notice=None)
        if not csrf_ok(expected, request, csrf):
            context["error"] = t["csrf_failed"]
            response = self.render(request, "login.html", context, 403)
            set_cookie(response, request, self.login_cookie, context["login_csrf"], 3600)
            return response
        api = Api(request, None, context["lang"])
        if username:  # the sign-in's audit row names who signed in (or tried to)
            setattr(request.state, AUDIT_ACTOR, f"user:{username}")
        try:
            answer = await api.call(
                "POST",
                "gateway",
                "/oauth/token",
                form={"grant_type": "password", "username": username, "password": password},
            )
        except LoginRequired:
            answer = Part("forbidden", http_status=401)
        token = answer.data["access_token"] if answer.ok else None
        principal = await principal_of(request, token)
        if principal is not None:
            setattr(request.state, AUDIT_ACTOR, principal.subject)
            setattr(request.state, AUDIT_AGENCY, principal.agency)
        if principal is None:
            status = answer.http_status
            context["error"] = (
                t["login_failed"] if status in (400, 401) or answer.ok else t["login_unavailable"]
            )
            return self.render(request, "login.html", context, 200)
        if not self.admits(principal):
            context["error"] = t[self.refused_key]
            return self.render(request, "login.html", context, 403)
        redirect = RedirectResponse(target, status_code=303)
        set_cookie(
            redirect,
            request,
            self.token_cookie,
            str(token),
            int(answer.data.get("expires_in") or 900),
        )
        clear_cookie(redirect, request, self.login_cookie)
        return redirect

    async def logout(
        self, request: Request, csrf: Annotated[str, Form(max_length=200)] = ""
    ) -> Response:
        """Forget the token (it expires on its own within minutes). Signed out already is
        fine; a signed-in post needs its CSRF token."""
        with contextlib.suppress(LoginRequired):
            await self.form_session(request, csrf)
        response = RedirectResponse(f"{self.login_path}?bye=1", status_code=303)
        clear_cookie(response, request, self.token_cookie)
        return response
