"""Evidence files through the gateway (on the session's stack, PostgreSQL backend; the S3
backend runs the same service tests against a moto server in
tests/integration/inspection/test_evidence.py): uploaded as the raw body or as a form's
part, streamed both ways, served only as an attachment, refused by type, size and owner."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import httpx
import pytest

from tests.helpers import assert_problem, client_for, new_uscc, png

WRITE = ["inspection:read", "inspection:write"]
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def firm(admin: httpx.Client, gateway_url: str) -> Iterator[httpx.Client]:
    with client_for(admin, gateway_url, WRITE, uscc=new_uscc()) as client:
        yield client


@pytest.fixture(scope="module")
def rival(admin: httpx.Client, gateway_url: str) -> Iterator[httpx.Client]:
    with client_for(admin, gateway_url, WRITE, uscc=new_uscc()) as client:
        yield client


def test_a_png_round_trips_byte_for_byte_as_an_attachment(
    firm: httpx.Client, admin: httpx.Client
) -> None:
    photo = png(700, 700, seed=30)  # about 1.4 MiB: over the ordinary 1 MiB body limit
    sha256 = hashlib.sha256(photo).hexdigest()
    uploaded = firm.post(
        "/v1/evidence",
        content=photo,
        params={"name": "车间.png"},
        headers={"Content-Type": "application/octet-stream"},
    )
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json() == {
        "sha256": sha256,
        "media_type": "image/png",
        "size": len(photo),
        "created_at": uploaded.json()["created_at"],
        "url": f"/v1/evidence/{sha256}",
    }
    assert uploaded.headers["location"] == f"/v1/evidence/{sha256}"
    for reader in (firm, admin):
        got = reader.get(f"/v1/evidence/{sha256}")
        assert got.status_code == 200 and got.content == photo
        assert got.headers["content-type"] == "image/png"
        assert got.headers["content-disposition"] == f'attachment; filename="{sha256}.png"'
        assert got.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in got.headers["content-security-policy"]
        assert got.headers["etag"] == f'"{sha256}"'
    again = firm.get(f"/v1/evidence/{sha256}", headers={"If-None-Match": f'"{sha256}"'})
    assert again.status_code == 304


def test_the_same_file_twice_is_stored_once(firm: httpx.Client, rival: httpx.Client) -> None:
    photo = png(40, 40, seed=31)
    first = firm.post("/v1/evidence", files={"file": ("a.png", photo, "image/png")})
    second = rival.post("/v1/evidence", files={"file": ("b.png", photo, "image/png")})
    assert (first.status_code, second.status_code) == (201, 200), second.text
    assert first.json() == second.json()
    # the second uploader has the bytes already: theirs to fetch too
    assert rival.get(first.json()["url"]).content == photo


def test_html_or_a_program_named_jpg_is_415(firm: httpx.Client) -> None:
    for payload in (
        b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>",
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 100,
    ):
        as_form = firm.post("/v1/evidence", files={"file": ("photo.jpg", payload, "image/jpeg")})
        body = assert_problem(as_form, 415, "unsupported-media-type")
        assert "image/jpeg" in body["accepted"]
        raw = firm.post("/v1/evidence", content=payload, headers={"Content-Type": "image/jpeg"})
        assert_problem(raw, 415, "unsupported-media-type")
        sha256 = hashlib.sha256(payload).hexdigest()
        assert_problem(firm.get(f"/v1/evidence/{sha256}"), 404, "not-found")


def test_twenty_mib_and_one_byte_is_413(firm: httpx.Client) -> None:
    head = png(8, 8, seed=32)
    body = head + b"\x00" * (20 * MiB + 1 - len(head))
    refused = firm.post("/v1/evidence", content=body, headers={"Content-Type": "image/png"})
    assert assert_problem(refused, 413, "payload-too-large")["limit_bytes"] == 20 * MiB
    assert_problem(firm.get(f"/v1/evidence/{hashlib.sha256(body).hexdigest()}"), 404, "not-found")


def test_another_enterprises_evidence_is_403(
    firm: httpx.Client, rival: httpx.Client, gateway_url: str
) -> None:
    uploaded = firm.post(
        "/v1/evidence", content=png(24, 24, seed=33), headers={"Content-Type": "image/png"}
    )
    assert uploaded.status_code == 201, uploaded.text
    assert_problem(rival.get(uploaded.json()["url"]), 403, "forbidden")
    assert httpx.get(f"{gateway_url}{uploaded.json()['url']}").status_code == 401
    assert_problem(firm.get(f"/v1/evidence/{'0' * 64}"), 404, "not-found")
    assert firm.get("/v1/evidence/not-a-hash").status_code in (404, 422)


def test_a_body_past_the_gateways_limit_is_413_while_it_streams(firm: httpx.Client) -> None:
    """The gateway streams an upload on to the service as it arrives; a body running past the
    gateway's own limit (32 MiB) is cut there and answered 413, chunked or not."""

    def chunks() -> Iterator[bytes]:
        yield png(8, 8, seed=34)
        for _ in range(33):
            yield b"\x00" * MiB

    refused = firm.post("/v1/evidence", content=chunks(), headers={"Content-Type": "image/png"})
    assert refused.status_code == 413, refused.text
