"""OWASP API8:2023 Security Misconfiguration: headers, errors, CORS."""

from __future__ import annotations

import httpx


def test_security_headers_and_no_stack_traces(gateway_url: str, api: httpx.Client) -> None:
    response = api.get("/v1/zones/none-such")
    for header, value in (
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
    ):
        assert response.headers[header] == value
    assert "Traceback" not in response.text and 'File "' not in response.text
    assert httpx.post(f"{gateway_url}/v1/public/zones", json={}).status_code == 405


def test_cors_is_closed_to_unknown_origins(gateway_url: str) -> None:
    preflight = httpx.options(
        f"{gateway_url}/v1/zones",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in preflight.headers
