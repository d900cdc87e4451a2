"""Evidence files are judged by their first bytes: the accepted kinds by their magic numbers,
anything else (a page, a script, a program, an archive) refused whatever it is called; the
evidence path takes any body with the larger limit, other paths keep theirs."""

from __future__ import annotations

import pytest

from services.inspection.evidence.sniff import ACCEPTED, HEAD_BYTES, media_type
from tests.helpers import png


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01", "image/jpeg"),
        (b"\xff\xd8\xff\xe1\x00\x18Exif\x00\x00", "image/jpeg"),
        (png(2, 2), "image/png"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "image/heic"),
        (b"\x00\x00\x00\x18ftypheix\x00\x00\x00\x00", "image/heic"),
        (b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00", "image/heif"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "application/pdf"),
    ],
)
def test_each_accepted_kind_is_known_by_its_bytes(head: bytes, expected: str) -> None:
    assert media_type(head[:HEAD_BYTES]) == expected
    assert expected in ACCEPTED


@pytest.mark.parametrize(
    "head",
    [
        b"<!DOCTYPE html><html>",
        b"<html><script>alert(1)</script>",
        b"<?xml version='1.0'?><svg",  # SVG can carry script
        b"MZ\x90\x00\x03\x00\x00\x00",
        b"\x7fELF\x02\x01\x01\x00",
        b"#!/bin/sh\nrm -rf /",
        b"PK\x03\x04\x14\x00\x06\x00",
        b"GIF89a\x01\x00\x01\x00",
        b"RIFF\x24\x00\x00\x00WAVEfmt ",  # RIFF, but audio
        b"\x00\x00\x00\x18ftypmp42\x00\x00",  # ISO-BMFF, but a video
        b"\xff\xd8",  # a JPEG's start, too short to be one
        b"",
    ],
)
def test_anything_else_is_refused_whatever_its_name(head: bytes) -> None:
    assert media_type(head[:HEAD_BYTES]) is None


async def test_only_declared_upload_routes_take_large_bodies_of_their_media() -> None:
    import httpx
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from kit.observability import RequestContextMiddleware, UploadRoute

    async def read(request: Request) -> JSONResponse:
        return JSONResponse({"bytes": len(await request.body())})

    app = Starlette(
        routes=[Route(p, read, methods=["POST"]) for p in ("/v1/evidence", "/v1/imports", "/x")]
    )
    app.add_middleware(
        RequestContextMiddleware,
        service="test",
        max_body_bytes=1024,
        max_bulk_body_bytes=8192,
        upload_routes=[UploadRoute("/v1/evidence", media=None), UploadRoute("/v1/imports")],
    )
    photo = {"content": b"\x89PNG" + b"x" * 4000, "headers": {"content-type": "image/png"}}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://service"
    ) as client:
        assert (await client.post("/v1/evidence", **photo)).status_code == 200  # type: ignore[arg-type]
        assert (await client.post("/v1/imports", **photo)).status_code == 413  # type: ignore[arg-type]
        assert (await client.post("/x", **photo)).status_code == 413  # type: ignore[arg-type]
        huge = {"content": b"x" * 9000, "headers": {"content-type": "image/png"}}
        assert (await client.post("/v1/evidence", **huge)).status_code == 413  # type: ignore[arg-type]
