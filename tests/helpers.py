"""Helpers shared by the test tiers."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import random
import re
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from deploy.launcher import APPS, Stack
from deploy.processes import free_port
from kit.messaging import connect
from kit.uscc import generate

if TYPE_CHECKING:
    from gateway.auth.tokens import Signer

_rng = random.Random()


def new_uscc() -> str:
    """A fresh valid USCC in Ninghai."""
    return generate(_rng)


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# Every temporary folder the tests made; conftest removes them after a passing run (a
# failing one keeps them: the services' logs are in them).
TEMP_DIRS: list[Path] = []


def temp_dir(prefix: str) -> Path:
    """A new temporary folder, removed after a passing run."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    TEMP_DIRS.append(path)
    return path


def make_stack(name: str) -> Stack:
    """A stack on free ports in a temporary folder (dev profile: demo-admin exists)."""
    gateway_port = free_port()
    while not all(_port_free(gateway_port + i) for i in range(1, len(APPS))):
        gateway_port = free_port()  # the services take the ports after the gateway's
    return Stack(
        data_dir=temp_dir(f"zone-{name}-"),
        gateway_port=gateway_port,
        pg_port=free_port(),
        nats_port=free_port(),
        profile="dev",
        # what falls overdue is announced within a second, not a minute
        env={"REGISTRY_OVERDUE_CHECK_S": "1", "INSPECTION_CAPA_CHECK_S": "1"},
    )


@contextlib.contextmanager
def running_stack(name: str, *, seed: bool) -> Iterator[Stack]:
    """A started stack, stopped on exit."""
    s = make_stack(name)
    try:
        s.start(seed=seed)
        yield s
    finally:
        s.stop()


def token(
    base_url: str,
    client_id: str = "demo-admin",
    secret: str = "demo-admin-secret",
    scope: str | None = None,
) -> str:
    """A bearer token from the gateway."""
    data = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    if scope:
        data["scope"] = scope
    response = httpx.post(f"{base_url}/oauth/token", data=data, timeout=10)
    response.raise_for_status()
    return str(response.json()["access_token"])


class FreshToken(httpx.Auth):
    """A bearer token from the gateway, fetched again once when an answer is 401: a module's
    stack can outlive a token's 15 minutes (the fault tests' does on a loaded machine)."""

    def __init__(self, base_url: str, **credentials: Any) -> None:
        self.base_url, self.credentials = base_url, credentials
        self.bearer = token(base_url, **credentials)

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers["Authorization"] = f"Bearer {self.bearer}"
        response = yield request
        if response.status_code == 401:
            self.bearer = token(self.base_url, **self.credentials)
            request.headers["Authorization"] = f"Bearer {self.bearer}"
            yield request


def client_for(
    api: httpx.Client, gateway_url: str, scopes: list[str], **fields: object
) -> httpx.Client:
    """A new OAuth client (made by the admin `api`: agency, uscc or inspector_id in
    `fields`) and an HTTP client on the gateway with its token."""
    created = api.post(
        "/v1/clients",
        json={
            "client_id": f"t-{uuid.uuid4().hex[:10]}",
            "name": "test client",
            "scopes": scopes,
            **fields,
        },
    )
    created.raise_for_status()
    bearer = token(gateway_url, created.json()["client_id"], created.json()["client_secret"])
    return httpx.Client(
        base_url=gateway_url, headers={"Authorization": f"Bearer {bearer}"}, timeout=30
    )


INSPECTOR_SCOPES = ["inspection:read", "inspection:write"]


def inspector_client(api: httpx.Client, gateway_url: str, inspector_id: str) -> httpx.Client:
    """An HTTP client on the gateway with a token of its own for one inspector."""
    return client_for(api, gateway_url, INSPECTOR_SCOPES, inspector_id=inspector_id)


def record_and_confirm(
    api: httpx.Client,
    gateway_url: str,
    task: dict,  # type: ignore[type-arg]
    result: dict,  # type: ignore[type-arg]
    photos: tuple[bytes, ...] = (),
) -> dict:  # type: ignore[type-arg]
    """A task's result recorded by its first inspector (with `photos`, which they upload to
    /v1/evidence first and cite) and confirmed by each of the others with their own token:
    the task as it is then, final."""
    recorder, *others = task["inspector_ids"]
    with inspector_client(api, gateway_url, recorder) as officer:
        evidence = []
        for n, photo in enumerate(photos):
            uploaded = officer.post("/v1/evidence", files={"file": (f"p{n}.png", photo)})
            assert uploaded.status_code in (200, 201), uploaded.text
            evidence.append({"sha256": uploaded.json()["sha256"], "name": f"p{n}.png"})
        if evidence:
            result = {**result, "evidence": evidence}
        answer = officer.post(f"/v1/tasks/{task['id']}/result", json=result)
    assert answer.status_code == 200, answer.text
    for inspector_id in others:
        with inspector_client(api, gateway_url, inspector_id) as officer:
            answer = officer.post(f"/v1/tasks/{task['id']}/confirm")
        assert answer.status_code == 200, answer.text
    final = answer.json()
    assert final["status"] == "completed", final
    return final  # type: ignore[no-any-return]


def office_user(api: httpx.Client, password: str) -> str:
    """A new office user with every scope, made through the API (as the office would)."""
    from kit.auth import ALL_SCOPES

    username = f"office-{uuid.uuid4().hex[:8]}"
    created = api.post(
        "/v1/users",
        json={
            "username": username,
            "password": password,
            "name": "示范区办公室 测试",
            "kind": "office",
            "agency": "commerce",
            "scopes": sorted(ALL_SCOPES),
        },
    )
    assert created.status_code == 201, created.text
    return username


def wait_until(predicate, *, timeout: float = 20, interval: float = 0.1, what: str = "condition"):  # type: ignore[no-untyped-def]
    """Poll until `predicate()` is truthy; returns its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def metric(stack: Stack, process: str, name: str, **labels: str) -> float:
    """One sample of a process's Prometheus exposition, summed (0 when absent: every series
    the alert rules read exists from the start, so check a value, not a name)."""
    text = httpx.get(f"{stack.url(process)}/metrics", timeout=10).text
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.compile(rf"^{re.escape(name)}\{{{re.escape(wanted)}\}} (\S+)$", re.M)
    return sum(float(v) for v in pattern.findall(text))


def enterprise_body(uscc: str, **extra: object) -> dict[str, object]:
    """A valid enterprise registration."""
    body: dict[str, object] = {
        "uscc": uscc,
        "name": f"宁海测试企业{uscc[-4:]}有限公司",
        "industry": "lighting",
        "address": "浙江省宁波市宁海县跃龙街道",
        "legal_representative": "王伟",
        "employees": 120,
        "annual_export_usd": 5_000_000,
        "products": [{"hs_code": "940542", "name": "LED 灯具"}],
        "export_markets": ["US", "DE"],
    }
    body.update(extra)
    return body


def sql(stack: Stack, database: str, query: str, *args: object) -> list[tuple]:  # type: ignore[type-arg]
    """Run one query against a service database (from a sync test)."""
    import asyncio

    import asyncpg

    from kit.outbox import asyncpg_dsn

    async def run() -> list[tuple]:  # type: ignore[type-arg]
        conn = await asyncpg.connect(asyncpg_dsn(stack.db_url(database)))
        try:
            return [tuple(r) for r in await conn.fetch(query, *args)]
        finally:
            await conn.close()

    return asyncio.run(run())


def stream_events(stack: Stack, subject: str, stream: str = "REGISTRY") -> list[dict]:  # type: ignore[type-arg]
    """Every event on `subject` in `stream` when called, oldest first (an ephemeral consumer;
    it stops at the stream's last message then, so a running load cannot keep it reading).
    Bytes that are no JSON object (a poison test's) come as `raw` with no event fields, so
    filters on `subject` or `type` pass over them."""
    import asyncio
    import json

    async def run() -> list[dict]:  # type: ignore[type-arg]
        nc = await connect(stack.nats_client_url, stack.nats_identity("observer"))
        try:
            js = nc.jetstream()
            last = (await js.stream_info(stream)).state.last_seq
            sub = await js.pull_subscribe(subject, stream=stream)
            out: list[dict] = []  # type: ignore[type-arg]
            while True:
                try:
                    msgs = await sub.fetch(500, timeout=1)
                except TimeoutError:  # nats-py raises its own or asyncio's
                    return out
                for m in msgs:
                    if m.metadata.sequence.stream > last:
                        return out
                    try:
                        body = json.loads(m.data)
                    except ValueError:
                        body = None
                    if not isinstance(body, dict):
                        body = {"raw": m.data.decode(errors="replace")}
                    out.append(
                        {"subject": None, "type": None, "headers": dict(m.headers or {}), **body}
                    )
                    await m.ack()
        finally:
            await nc.close()

    return asyncio.run(run())


def publish_raw(
    stack: Stack, subject: str, payload: bytes, msg_id: str | None = None, *, as_: str = ""
) -> None:
    """Publish bytes to JetStream as another service would: by default as the service whose
    subject it is (its NATS identity), else as `as_`."""
    import asyncio

    async def run() -> None:
        identity = stack.nats_identity(as_ or subject.split(".", 1)[0])
        nc = await connect(stack.nats_client_url, identity)
        try:
            headers = {"Nats-Msg-Id": msg_id} if msg_id else None
            await nc.jetstream().publish(subject, payload, headers=headers)
        finally:
            await nc.close()

    asyncio.run(run())


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict:  # type: ignore[type-arg]
    """The response is an RFC 9457 problem of this status and type, with a detail."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["type"] == f"/problems/{slug}" and body["detail"]
    return body  # type: ignore[no-any-return]


def gateway_key_pem(stack: Stack) -> str:
    """The stack's current gateway signing key, decrypted with the stack's keys (the gateway
    keeps its keys encrypted in its database)."""
    from kit.crypto import dev_keyring

    (pem,) = sql(
        stack,
        "gateway",
        "SELECT private_pem FROM signing_keys WHERE active_from <= now() "
        "AND (retired_at IS NULL OR retired_at > now()) ORDER BY active_from DESC LIMIT 1",
    )[0]
    keyring = stack.pii_keys.keyring() if stack.pii_keys is not None else dev_keyring()
    return keyring.decrypt(str(pem), context="gateway.signing_keys.private_pem")


def gateway_signer(stack: Stack) -> Signer:
    """A signer with the stack's current gateway key."""
    from gateway.auth.tokens import Signer

    return Signer(gateway_key_pem(stack), issuer="zone-gateway", audience="", ttl_s=0)


def as_gateway(stack: Stack, method: str, target: str) -> dict[str, str]:
    """Headers that carry the gateway's assertion for one request straight to a service
    (`target`: path and query exactly as sent), signed with the stack's own key: for tests
    of what a service does itself."""
    from kit.gateway_assertion import HEADER

    signer = gateway_signer(stack)
    request_id = f"test-{uuid.uuid4().hex}"
    assertion = signer.assertion(method=method, target=target, request_id=request_id)
    return {"X-Request-ID": request_id, HEADER: assertion}


def xlsx(rows: list[list[object]]) -> bytes:
    """An .xlsx workbook of `rows` (the first is the heading row), as a spreadsheet saves it."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def gb18030_csv(rows: list[list[object]]) -> bytes:
    """A CSV of `rows` in GB 18030, as Excel saves it on a Chinese Windows."""
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return text.getvalue().encode("gb18030")


def png(width: int = 64, height: int = 64, seed: int = 0) -> bytes:
    """A valid PNG of random RGB pixels (incompressible: about width × height × 3 bytes)."""
    import random
    import struct
    import zlib

    noise = random.Random(seed)
    rows = b"".join(b"\x00" + noise.randbytes(width * 3) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 1))
        + chunk(b"IEND", b"")
    )


# The browser tests' Chromium (Debian's package; each module skips without it) and where
# they leave their screenshots.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"


# The portal's pages an enterprise user opens from its menu (the browser tests and the bench)
PORTAL_PAGES = [
    "/portal/",
    "/portal/credit",
    "/portal/zones",
    "/portal/commitments",
    "/portal/capas",
    "/portal/batches",
    "/portal/tests",
    "/portal/inbox",
    "/portal/webhooks",
]


def playwright_or_skip() -> Any:
    """Playwright's sync API for a browser test module, or the module skipped where
    Chromium or Playwright is not installed. Call at module level."""
    import pytest

    if not CHROMIUM.exists():
        pytest.skip("Chromium not installed: apt-get install chromium", allow_module_level=True)
    return pytest.importorskip("playwright.sync_api", reason="playwright not installed")


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """Debian's headless Chromium under Playwright, closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


def screenshot(tab: Any, name: str) -> None:
    """A full-page screenshot to test-artifacts/screenshots/<name>.png."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


# The accessibility engine, from npm into a cache outside the repository (as the AsyncAPI
# parser is); the browser modules inject it into pages opened with `bypass_csp=True`.
AXE = "axe-core@4.14.1"
NPM_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "zone-platform" / "npm"


def axe_script() -> str:
    """axe-core's script, installed once with Debian's npm; the caller skips without npm."""
    folder = NPM_CACHE / AXE
    script = folder / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(folder), AXE],
            check=True,
            timeout=600,
        )
    return script.read_text()


def grave_violations(tab: Any, script: str) -> list[dict[str, Any]]:
    """axe-core run on the page as it stands: its serious and critical violations (each
    with the nodes it names). Asserts that axe did run its rules."""
    tab.add_script_tag(content=script)
    outcome = tab.evaluate(
        "async () => { const r = await axe.run(document); return {passes: r.passes.length,"
        " violations: r.violations.map(v => ({id: v.id, impact: v.impact,"
        " nodes: v.nodes.map(n => n.target)}))}; }"
    )
    assert outcome["passes"] > 10, tab.url  # axe did run its rules here
    return [v for v in outcome["violations"] if v["impact"] in ("serious", "critical")]


# The code scan (#23): rendered text must name what it shows, never print a code. What is an
# address or an identifier, not words: paths and URLs, `user:…`/`client:…` actors.
_NOT_WORDS = re.compile(r"https?://\S+|(?<!\S)/\S+|\b[\w.-]+:[\w.@:-]+")


def codes_shown(text: str, codes: set[str], zones: set[str], *, chinese: bool) -> set[str]:
    """The known codes a page's text shows (hrefs, paths and actor ids are not text): in
    either language any zone code or code with a `_`; on a Chinese page (or the Chinese part
    of a bilingual one) also any lowercase code as a word of its own."""
    text = _NOT_WORDS.sub(" ", text)
    shown = {c for c in zones | {c for c in codes if "_" in c} if c in text}
    if chinese:
        words = set(re.findall(r"(?<![A-Za-z0-9_./-])[a-z][a-z_]+(?![A-Za-z0-9_-])", text))
        shown |= words & codes
    return shown


def known_codes(api: httpx.Client) -> tuple[set[str], set[str]]:
    """Every code of kit's vocabulary, and every zone's code (zones are data, not kit's)."""
    from kit import vocabulary

    codes = {c for table in vocabulary.VOCABULARIES.values() for c in table}
    zones = {z["code"] for z in api.get("/v1/zones", params={"limit": 500}).json()["items"]}
    return codes, zones


# a page's text without its English parts (`lang="en"`): the Chinese a bilingual page shows
CHINESE_TEXT_JS = """(selector) => {
  const copy = document.querySelector(selector).cloneNode(true);
  copy.querySelectorAll('[lang="en"], [lang^="en-"]').forEach((e) => e.remove());
  return copy.innerText || copy.textContent;
}"""
