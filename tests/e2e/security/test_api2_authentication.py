"""OWASP API2:2023 Broken Authentication: every bad token is a 401, at the gateway and behind it."""

from __future__ import annotations

import base64
import json
import time
import uuid

import httpx
import jwt
import pytest

from gateway.auth.tokens import Signer, new_private_key_pem
from tests.helpers import as_gateway, assert_problem, gateway_key_pem


def _b64(data: dict) -> str:  # type: ignore[type-arg]
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.fixture(scope="module")
def platform_key(stack) -> str:  # type: ignore[no-untyped-def]
    """The gateway's own signing key."""
    return gateway_key_pem(stack)


def _claims(**overrides: object) -> dict:  # type: ignore[type-arg]
    now = int(time.time())
    return {
        "iss": "zone-gateway",
        "aud": "zone-platform",
        "sub": "demo-admin",
        "iat": now,
        "exp": now + 300,
        "scope": "admin registry:read",
        **overrides,
    }


def _forged_tokens(platform_key: str) -> dict[str, str]:
    signer = Signer(platform_key, issuer="zone-gateway", audience="zone-platform", ttl_s=300)
    kid = signer.kid
    key = signer._key  # the real key, to show that only the claims are wrong
    good = jwt.encode(_claims(), key, algorithm="EdDSA", headers={"kid": kid})
    header, payload, signature = good.split(".")
    other = Signer(
        new_private_key_pem(), issuer="zone-gateway", audience="zone-platform", ttl_s=300
    )
    return {
        "expired": jwt.encode(
            _claims(exp=int(time.time()) - 60), key, algorithm="EdDSA", headers={"kid": kid}
        ),
        # signed by the platform's real key, but valid for ten years: over the maximum lifetime
        "ten-year lifetime": jwt.encode(
            _claims(exp=int(time.time()) + 10 * 365 * 86400),
            key,
            algorithm="EdDSA",
            headers={"kid": kid},
        ),
        "wrong audience": jwt.encode(
            _claims(aud="elsewhere"), key, algorithm="EdDSA", headers={"kid": kid}
        ),
        "wrong issuer": jwt.encode(
            _claims(iss="someone"), key, algorithm="EdDSA", headers={"kid": kid}
        ),
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{payload}.",
        "HS256 with the public key": jwt.encode(
            _claims(),
            "not-the-platform-key-but-long-enough-for-hs256",
            algorithm="HS256",
            headers={"kid": kid},
        ),
        "another key": other.issue(subject="demo-admin", scopes=["admin"])[0],
        "tampered payload": f"{header}.{_b64(_claims(sub='root', scope='admin'))}.{signature}",
        "garbage": "not.a.token",
    }


def test_every_bad_token_is_401_at_the_gateway_and_the_service(stack, platform_key: str) -> None:  # type: ignore[no-untyped-def]
    # straight to the service with the gateway's assertion: the service checks tokens itself
    for base in (stack.url("gateway"), stack.url("registry")):
        direct = base != stack.url("gateway")

        def door(direct: bool = direct) -> dict[str, str]:
            return as_gateway(stack, "GET", "/v1/zones") if direct else {}

        assert httpx.get(f"{base}/v1/zones", headers=door()).status_code == 401, "no token"
        for name, token in _forged_tokens(platform_key).items():
            bearer = {"Authorization": f"Bearer {token}"}
            response = httpx.get(f"{base}/v1/zones", headers=bearer | door())
            assert response.status_code == 401, (base, name, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.headers.get("www-authenticate", "").startswith("Bearer")


def test_user_passwords_follow_the_policy(admin: httpx.Client) -> None:
    username = f"pw-{uuid.uuid4().hex[:8]}"
    body = {
        "username": username,
        "name": "密码策略",
        "kind": "office",
        "agency": "commerce",
        "scopes": ["registry:read"],
    }
    for password, reason in (
        ("elevenchars", "at least 12 characters"),
        (f"My-{username.upper()}-2017", "must not contain the user name"),
    ):
        refused = assert_problem(
            admin.post("/v1/users", json={**body, "password": password}), 422, "validation"
        )
        # a user body is a union tagged by `kind`: the schema's own check names the field
        # within it (`office.password`), the policy's by its name
        assert [e["field"].rsplit(".", 1)[-1] for e in refused["errors"]] == ["password"]
        assert reason in refused["errors"][0]["reason"], refused
    assert (
        admin.post("/v1/users", json={**body, "password": "a-good-passphrase"}).status_code == 201
    )
    changed = admin.patch(f"/v1/users/{username}", json={"password": f"{username}-again"})
    assert assert_problem(changed, 422, "validation")["errors"][0]["field"] == "password"
