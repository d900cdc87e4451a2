"""OAuth 2 as standard clients expect it: RFC 8414 metadata, RFC 7009 revocation, RFC 7662
introspection, RFC 6749 §5.2 errors, RFC 6750 insufficient_scope, and tokens of a revoked
token or a disabled client or user refused within 5 s at the gateway and at the services."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable

import httpx
import jwt

from deploy.launcher import Stack
from gateway.auth.tokens import Signer, new_private_key_pem
from tests.helpers import as_gateway, enterprise_body, gateway_key_pem, new_uscc, token

WITHIN_S = 5.0
PASSWORD = "a-long-oauth-test-password"


def _client(admin: httpx.Client, scopes: list[str]) -> tuple[str, str]:
    created = admin.post(
        "/v1/clients",
        json={"client_id": f"oa-{uuid.uuid4().hex[:10]}", "name": "oauth test", "scopes": scopes},
    )
    assert created.status_code == 201, created.text
    return created.json()["client_id"], created.json()["client_secret"]


def _basic(client_id: str, secret: str) -> dict[str, str]:
    pair = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


def _bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def _oauth_error(response: httpx.Response, status: int, error: str) -> None:
    """An RFC 6749 §5.2 error: application/json with `error` and `error_description`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error"] == error and body["error_description"], body
    assert response.headers["cache-control"] == "no-store"
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Basic")


def _refused_within(what: str, answer: Callable[[], httpx.Response], since: float) -> float:
    """Seconds from `since` until `answer()` is a 401; fails past WITHIN_S."""
    while True:
        status = answer().status_code
        elapsed = time.monotonic() - since
        if status == 401:
            return elapsed
        assert status == 200, f"{what}: {status}"
        assert elapsed < WITHIN_S, f"{what} still honoured after {elapsed:.1f} s"
        time.sleep(0.1)


def _everywhere(
    stack: Stack, gateway_url: str, bearer: str
) -> dict[str, Callable[[], httpx.Response]]:
    """A request the token is good for at the gateway itself (its own route), through the
    gateway to a service, and straight to two services (with the gateway's assertion)."""
    headers = _bearer(bearer)

    def direct(service: str, path: str) -> Callable[[], httpx.Response]:
        url = f"{stack.url(service)}{path}"
        return lambda: httpx.get(url, headers=headers | as_gateway(stack, "GET", path))

    return {
        "gateway": lambda: httpx.get(f"{gateway_url}/v1/clients", headers=headers),
        "via gateway": lambda: httpx.get(f"{gateway_url}/v1/zones", headers=headers),
        "registry": direct("registry", "/v1/zones"),
        "credit": direct("credit", "/v1/credit/model"),
    }


def test_the_metadata_document_names_every_endpoint(gateway_url: str) -> None:
    response = httpx.get(f"{gateway_url}/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    meta = response.json()
    assert meta["issuer"] and meta["token_endpoint"] == f"{gateway_url}/oauth/token"
    assert meta["jwks_uri"] == f"{gateway_url}/.well-known/jwks.json"
    assert meta["revocation_endpoint"] == f"{gateway_url}/oauth/revoke"
    assert meta["introspection_endpoint"] == f"{gateway_url}/oauth/introspect"
    assert meta["grant_types_supported"] == ["client_credentials", "password"]
    assert {"registry:read", "security_admin"} <= set(meta["scopes_supported"])
    for kind in ("token_endpoint", "revocation_endpoint", "introspection_endpoint"):
        methods = meta[f"{kind}_auth_methods_supported"]
        assert methods == ["client_secret_basic", "client_secret_post"]
    # each endpoint named is there, and answers as its RFC says
    assert httpx.get(meta["jwks_uri"]).json()["keys"]
    _oauth_error(httpx.post(meta["token_endpoint"], data={}), 400, "invalid_request")
    _oauth_error(
        httpx.post(meta["revocation_endpoint"], data={"token": "x"}), 401, "invalid_client"
    )
    _oauth_error(httpx.post(meta["introspection_endpoint"], data={}), 401, "invalid_client")
    document = httpx.get(f"{gateway_url}/openapi.json").json()
    scheme = document["components"]["securitySchemes"]["oauth2"]
    assert "/.well-known/oauth-authorization-server" in scheme["description"]
    assert "/oauth/introspect" in document["paths"] and "/oauth/revoke" in document["paths"]


def test_token_endpoint_errors_are_rfc6749_bodies(gateway_url: str, admin: httpx.Client) -> None:
    url = f"{gateway_url}/oauth/token"
    client_id, secret = _client(admin, ["registry:read"])
    grant = {"grant_type": "client_credentials"}
    _oauth_error(httpx.post(url, data={}), 400, "invalid_request")
    _oauth_error(httpx.post(url, json=grant), 400, "invalid_request")  # not a form
    _oauth_error(
        httpx.post(url, data={"grant_type": "authorization_code"}), 400, "unsupported_grant_type"
    )
    _oauth_error(httpx.post(url, data=grant), 401, "invalid_client")
    wrong = grant | {"client_id": client_id, "client_secret": "not-it"}
    _oauth_error(httpx.post(url, data=wrong), 401, "invalid_client")
    _oauth_error(
        httpx.post(url, data=grant, headers=_basic(client_id, "not-it")), 401, "invalid_client"
    )
    too_much = grant | {"scope": "registry:write"}
    _oauth_error(
        httpx.post(url, data=too_much, headers=_basic(client_id, secret)), 400, "invalid_scope"
    )
    password = {"grant_type": "password", "username": "nobody-at-all", "password": "whatever-it-is"}
    _oauth_error(httpx.post(url, data=password), 400, "invalid_grant")
    _oauth_error(httpx.post(url, data={"grant_type": "password"}), 400, "invalid_request")
    ok = httpx.post(url, data=grant, headers=_basic(client_id, secret))
    assert ok.status_code == 200 and ok.json()["token_type"] == "Bearer"
    assert ok.headers["cache-control"] == "no-store"


def test_a_missing_scope_is_challenged_with_insufficient_scope(
    gateway_url: str, admin: httpx.Client
) -> None:
    reader = token(gateway_url, *_client(admin, ["registry:read"]))
    at_service = httpx.post(
        f"{gateway_url}/v1/enterprises", json=enterprise_body(new_uscc()), headers=_bearer(reader)
    )
    assert at_service.status_code == 403
    assert at_service.headers["www-authenticate"] == (
        'Bearer error="insufficient_scope", scope="registry:write"'
    )
    at_gateway = httpx.get(f"{gateway_url}/v1/lockouts", headers=_bearer(reader))
    assert at_gateway.status_code == 403
    assert at_gateway.headers["www-authenticate"] == (
        'Bearer error="insufficient_scope", scope="security_admin"'
    )


def test_introspection_tells_active_from_revoked_expired_and_foreign(
    stack: Stack, gateway_url: str, admin: httpx.Client
) -> None:
    url = f"{gateway_url}/oauth/introspect"
    resource_server = _client(admin, ["registry:read"])
    holder_id, holder_secret = _client(admin, ["registry:read", "credit:read"])
    live = token(gateway_url, holder_id, holder_secret)

    by_basic = httpx.post(url, data={"token": live}, headers=_basic(*resource_server))
    assert by_basic.status_code == 200, by_basic.text
    answer = by_basic.json()
    assert answer["active"] is True and answer["client_id"] == holder_id
    assert answer["scope"] == "credit:read registry:read" and answer["token_type"] == "Bearer"
    assert answer["exp"] > time.time() and answer["iss"] == "zone-gateway" and answer["jti"]
    post = {"client_id": resource_server[0], "client_secret": resource_server[1]}
    assert httpx.post(url, data=post | {"token": live}).json()["active"] is True

    pem = gateway_key_pem(stack)
    expired = Signer(pem, issuer="zone-gateway", audience="zone-platform", ttl_s=-120)
    other_issuer = Signer(pem, issuer="elsewhere", audience="zone-platform", ttl_s=60)
    other_key = Signer(
        new_private_key_pem(), issuer="zone-gateway", audience="zone-platform", ttl_s=60
    )
    unsigned = jwt.encode(
        {"sub": holder_id, "iss": "zone-gateway", "aud": "zone-platform"}, key="", algorithm="none"
    )
    inactive = {
        "expired": expired.issue(subject=holder_id, scopes=["registry:read"])[0],
        "other issuer": other_issuer.issue(subject=holder_id, scopes=["registry:read"])[0],
        "other key": other_key.issue(subject=holder_id, scopes=["registry:read"])[0],
        "unsigned": unsigned,
        "garbage": "not.a.token",
    }
    for what, bad in inactive.items():
        answer = httpx.post(url, data=post | {"token": bad})
        assert answer.status_code == 200 and answer.json() == {"active": False}, what

    revoke = f"{gateway_url}/oauth/revoke"
    assert (
        httpx.post(
            revoke, data={"token": live}, headers=_basic(holder_id, holder_secret)
        ).status_code
        == 200
    )
    assert httpx.post(url, data=post | {"token": live}).json() == {"active": False}

    _oauth_error(httpx.post(url, data=post), 400, "invalid_request")
    _oauth_error(
        httpx.post(url, data={"token": live} | {"client_id": holder_id, "client_secret": "no"}),
        401,
        "invalid_client",
    )


def test_a_revoked_token_is_refused_everywhere_within_5_s(
    stack: Stack, gateway_url: str, admin: httpx.Client
) -> None:
    client_id, secret = _client(admin, ["system_admin"])
    bearer, other = token(gateway_url, client_id, secret), token(gateway_url, client_id, secret)
    places = _everywhere(stack, gateway_url, bearer)
    for where, answer in places.items():
        assert answer().status_code == 200, where  # honoured, and cached by each verifier

    stranger = _client(admin, ["registry:read"])
    refused = httpx.post(
        f"{gateway_url}/oauth/revoke", data={"token": bearer}, headers=_basic(*stranger)
    )
    _oauth_error(refused, 400, "unauthorized_client")
    _oauth_error(
        httpx.post(f"{gateway_url}/oauth/revoke", data={}, headers=_basic(client_id, secret)),
        400,
        "invalid_request",
    )
    nothing = httpx.post(
        f"{gateway_url}/oauth/revoke", data={"token": "garbage"}, headers=_basic(client_id, secret)
    )
    assert nothing.status_code == 200  # RFC 7009 §2.2: an invalid token is no error

    revoked = httpx.post(
        f"{gateway_url}/oauth/revoke",
        data={
            "token": bearer,
            "token_type_hint": "access_token",
            "client_id": client_id,
            "client_secret": secret,
        },
    )
    assert revoked.status_code == 200, revoked.text
    since = time.monotonic()
    for where, answer in places.items():
        _refused_within(where, answer, since)
    for where, answer in _everywhere(stack, gateway_url, other).items():
        assert answer().status_code == 200, f"{where}: the client's other token stands"


def test_a_disabled_clients_and_users_tokens_are_refused_within_5_s(
    stack: Stack, gateway_url: str, admin: httpx.Client
) -> None:
    client_id, secret = _client(admin, ["system_admin"])
    bearer = token(gateway_url, client_id, secret)
    places = _everywhere(stack, gateway_url, bearer)
    for where, answer in places.items():
        assert answer().status_code == 200, where
    assert admin.patch(f"/v1/clients/{client_id}", json={"active": False}).status_code == 200
    since = time.monotonic()
    for where, answer in places.items():
        _refused_within(where, answer, since)
    resource_server = _client(admin, ["registry:read"])
    introspected = httpx.post(
        f"{gateway_url}/oauth/introspect", data={"token": bearer}, headers=_basic(*resource_server)
    )
    assert introspected.json() == {"active": False}

    username = f"oa-user-{uuid.uuid4().hex[:8]}"
    created = admin.post(
        "/v1/users",
        json={
            "username": username,
            "password": PASSWORD,
            "name": "王伟",
            "kind": "office",
            "agency": "commerce",
            "scopes": ["registry:read"],
        },
    )
    assert created.status_code == 201, created.text
    issued = httpx.post(
        f"{gateway_url}/oauth/token",
        data={"grant_type": "password", "username": username, "password": PASSWORD},
    )
    user_bearer = _bearer(issued.json()["access_token"])
    zones = f"{gateway_url}/v1/zones"
    assert httpx.get(zones, headers=user_bearer).status_code == 200
    assert admin.patch(f"/v1/users/{username}", json={"active": False}).status_code == 200
    since = time.monotonic()
    _refused_within(
        "a deactivated user's token", lambda: httpx.get(zones, headers=user_bearer), since
    )
