"""HTTP as caches, crawlers and browsers expect it, through the gateway: HEAD, validators
and 304, compression for clients that accept it, Allow on a 405."""

from __future__ import annotations

import gzip

import httpx


def test_head_304_and_gzip_on_the_api_document_a_list_and_a_dashboard_page(
    gateway_url: str, admin_token: str
) -> None:
    bearer = {"Authorization": f"Bearer {admin_token}"}
    sizes = {}
    for path, headers in (
        ("/openapi.json", {}),
        ("/v1/enterprises?limit=50", bearer),
        ("/dashboard/login", {}),
    ):
        url = f"{gateway_url}{path}"
        plain = httpx.get(url, headers={**headers, "Accept-Encoding": "identity"}, timeout=30)
        assert plain.status_code == 200, (path, plain.text[:200])
        assert "content-encoding" not in plain.headers
        head = httpx.head(url, headers={**headers, "Accept-Encoding": "identity"}, timeout=30)
        assert head.status_code == 200 and head.content == b"", path
        assert head.headers["content-length"] == plain.headers["content-length"], path
        with httpx.Client(timeout=30) as client:  # raw bytes: httpx would decompress
            request = client.build_request(
                "GET", url, headers={**headers, "Accept-Encoding": "gzip"}
            )
            zipped = client.send(request, stream=True)
            raw = b"".join(zipped.iter_raw())
        assert zipped.headers["content-encoding"] == "gzip", path
        assert (
            gzip.decompress(raw) == plain.content or path == "/dashboard/login"
        )  # a fresh CSRF token
        assert "Accept-Encoding" in zipped.headers["vary"]
        sizes[path] = (len(plain.content), len(raw))
        etag = plain.headers.get("etag")
        if path != "/dashboard/login":  # the login page carries a new CSRF token each time
            assert etag, path
            again = httpx.get(url, headers={**headers, "If-None-Match": etag}, timeout=30)
            assert again.status_code == 304 and again.content == b"", path
    print("\nsizes (identity → gzip):", sizes)
    assert all(after < before for before, after in sizes.values()), sizes
    assert sizes["/openapi.json"][1] < sizes["/openapi.json"][0] / 5, sizes


def test_a_405_through_the_gateway_lists_every_method(gateway_url: str, admin_token: str) -> None:
    refused = httpx.request(
        "PUT",
        f"{gateway_url}/v1/zones",
        headers={"Authorization": f"Bearer {admin_token}"},
        json={},
    )
    assert refused.status_code == 405
    assert refused.headers["allow"] == "GET, HEAD, POST"
