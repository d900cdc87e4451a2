"""The operator CLI's HTTP side: a token from the gateway, calls with it, and every failure
turned into one of the CLI's exit codes (so scripts can tell "not found" from "refused")."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

# Exit codes (documented in `zone --help` and the README).
OK = 0
USAGE = 1  # bad options or arguments
NOT_FOUND = 2  # 404
REFUSED = 3  # 401, 403: bad credentials, missing scope, not yours
INVALID = 4  # 400, 409, 412, 422: conflict or invalid input; a verification that fails
UNAVAILABLE = 5  # cannot connect, 429, 5xx
EXIT_CODES_HELP = (
    "Exit codes: 0 ok, 1 usage, 2 not found, 3 refused or forbidden, "
    "4 conflict, invalid input or a failed verification, 5 service unavailable."
)
DEFAULT_URL = "http://127.0.0.1:8000"
DEV_CLIENT = ("demo-admin", "demo-admin-secret")  # exists only in the dev profile


class CliError(Exception):
    """A failure the CLI reports on stderr and exits with `code`."""

    def __init__(self, code: int, message: str, problem: dict[str, Any] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.problem = problem or {}


def exit_code_for(status: int) -> int:
    """The CLI's exit code for an HTTP status."""
    if status == 404:
        return NOT_FOUND
    if status in (401, 403):
        return REFUSED
    if status == 429 or status >= 500:
        return UNAVAILABLE
    return INVALID


def _failure(response: httpx.Response) -> CliError:
    try:
        problem = response.json()
    except ValueError:
        problem = {}
    if not isinstance(problem, dict):
        problem = {}
    detail = problem.get("detail") or problem.get("error_description") or response.reason_phrase
    title = problem.get("title") or problem.get("error") or ""
    message = (
        f"{response.status_code} {title}: {detail}" if title else f"{response.status_code} {detail}"
    )
    return CliError(exit_code_for(response.status_code), message, problem)


def _json(response: httpx.Response) -> Any:
    """The body as JSON; anything else means the URL is not the platform's gateway."""
    try:
        return response.json()
    except ValueError:
        kind = response.headers.get("content-type", "no content type")
        raise CliError(
            UNAVAILABLE,
            f"{response.request.url} answered {response.status_code} with {kind}, not JSON; "
            "is --url (or $ZONE_URL) the platform's gateway?",
        ) from None


@dataclass
class Settings:
    """Where the gateway is and whose credentials to use."""

    url: str
    client_id: str
    client_secret: str
    url_given: bool = True  # by --url or $ZONE_URL, not the default

    @classmethod
    def resolve(cls, url: str | None, client_id: str | None, secret: str | None) -> Settings:
        """Options first, then ZONE_URL / ZONE_CLIENT_ID / ZONE_CLIENT_SECRET, then the dev
        profile's demo-admin."""
        client = client_id or os.environ.get("ZONE_CLIENT_ID") or DEV_CLIENT[0]
        default_secret = DEV_CLIENT[1] if client == DEV_CLIENT[0] else ""
        given = url or os.environ.get("ZONE_URL")
        return cls(
            url=(given or DEFAULT_URL).rstrip("/"),
            url_given=bool(given),
            client_id=client,
            client_secret=secret or os.environ.get("ZONE_CLIENT_SECRET") or default_secret,
        )


class Api:
    """A gateway client that fetches its token on first use."""

    def __init__(self, settings: Settings, *, timeout: float = 60):
        self.settings = settings
        self.http = httpx.Client(base_url=settings.url, timeout=timeout)
        self._token: str | None = None

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def token(self, scope: str | None = None) -> dict[str, Any]:
        """A client-credentials token response (access_token, expires_in, scope)."""
        data = {
            "grant_type": "client_credentials",
            "client_id": self.settings.client_id,
            "client_secret": self.settings.client_secret,
        }
        if scope:
            data["scope"] = scope
        body: dict[str, Any] = _json(
            self._send("POST", "/oauth/token", data=data, authorised=False)
        )
        return body

    def _bearer(self) -> dict[str, str]:
        if self._token is None:
            self._token = str(self.token()["access_token"])
        return {"Authorization": f"Bearer {self._token}"}

    def _send(
        self, method: str, path: str, *, authorised: bool = True, **kw: Any
    ) -> httpx.Response:
        extra = kw.pop("headers", {})
        for attempt in range(2):
            headers = {**extra, **(self._bearer() if authorised else {})}
            try:
                response = self.http.request(method, path, headers=headers, **kw)
            except httpx.TransportError as exc:
                raise CliError(
                    UNAVAILABLE, f"cannot reach the gateway at {self.settings.url}: {exc}"
                ) from exc
            if response.status_code == 401 and authorised and attempt == 0:
                self._token = None  # expired during long work: a fresh token, once
                continue
            break
        if response.status_code >= 400:
            raise _failure(response)
        return response

    def get(self, path: str, **kw: Any) -> Any:
        """GET → JSON."""
        return _json(self._send("GET", path, **kw))

    def post(self, path: str, body: Any = None) -> Any:
        """POST JSON → JSON."""
        return _json(self._send("POST", path, json=body))

    def upload(self, path: str, file: tuple[str, bytes, str], fields: dict[str, str]) -> Any:
        """POST a multipart form (one `file` and text fields) → JSON."""
        return _json(self._send("POST", path, files={"file": file}, data=fields))

    @contextmanager
    def download(self, path: str) -> Iterator[httpx.Response]:
        """A streamed GET (the caller reads `iter_bytes`); failures as CliError."""
        try:
            for attempt in range(2):
                with self.http.stream("GET", path, headers=self._bearer()) as response:
                    if response.status_code == 401 and attempt == 0:
                        self._token = None  # expired: a fresh token, once
                        continue
                    if response.status_code >= 400:
                        response.read()
                        raise _failure(response)
                    yield response
                    return
        except httpx.TransportError as exc:
            raise CliError(
                UNAVAILABLE, f"cannot reach the gateway at {self.settings.url}: {exc}"
            ) from exc
