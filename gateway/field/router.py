"""The inspector's field app (现场检查): an installable, offline-first web app at `/field/`.

The gateway serves only its shell (a page, a script, a style sheet, the service worker, the
manifest and icons); everything the app shows comes from the API with the inspector's own
token (`/oauth/token`, password grant): `/v1/sync` to download tasks, checklists and
enterprises into IndexedDB, `/v1/evidence` for photos, `/v1/sync` again to push results
recorded offline. Nothing here is in the API document.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from kit.problems import NotFound
from kit.vocabulary import INSPECTIONS

STATIC = Path(__file__).parent / "static"
FILES = {p.name: p for p in STATIC.iterdir() if p.is_file()}
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".webmanifest": "application/manifest+json",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
# The names of the codes the app shows, zh-CN and English, from the platform's vocabulary.
WORDS = json.dumps(
    {
        "outcomes": {c: INSPECTIONS[c] for c in ("pass", "fail", "not_applicable")},
        "verdicts": {c: INSPECTIONS[c] for c in ("pass", "minor", "fail")},
    },
    ensure_ascii=False,
).encode()
# The service worker's cache is named after the shell's content: a changed file is a new
# cache, and the worker drops the old one when it takes over.
SHELL_VERSION = hashlib.sha256(
    b"".join(FILES[n].read_bytes() for n in sorted(FILES) if n != "sw.js") + WORDS
).hexdigest()[:12]
# Scripts, styles and connections from this origin only; photos shown from blob: URLs.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; worker-src 'self'; manifest-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

router = APIRouter(include_in_schema=False)


@router.get("/field")
async def field_root() -> Response:
    """The app lives under `/field/` (the service worker's scope)."""
    return RedirectResponse("/field/", status_code=308)


@router.get("/field/")
async def field_page() -> Response:
    """The shell page."""
    return _file("index.html")


@router.get("/field/words.json")
async def field_words() -> Response:
    """The names of the codes the app shows (kit.vocabulary), kept offline with the shell."""
    return Response(WORDS, media_type="application/json", headers={"Cache-Control": "no-cache"})


@router.get("/field/{name}")
async def field_asset(name: str) -> Response:
    """The shell's other files; revalidated each time online (the worker keeps them offline)."""
    return _file(name)


def _file(name: str) -> Response:
    path = FILES.get(name)
    if path is None:
        raise NotFound("asset", name)
    content = path.read_bytes()
    headers = {"Cache-Control": "no-cache", "Content-Security-Policy": CSP}
    if name == "sw.js":
        content = content.replace(b"__SHELL_VERSION__", SHELL_VERSION.encode())
        headers["Service-Worker-Allowed"] = "/field/"
    return Response(
        content, media_type=TYPES.get(path.suffix, "application/octet-stream"), headers=headers
    )
