"""OWASP API5:2023 Broken Function Level Authorization: admin and office functions."""

from __future__ import annotations

import uuid

import httpx

from tests.helpers import assert_problem, enterprise_body, new_uscc, token, wait_until


def test_admin_routes_refuse_other_scopes(api: httpx.Client, gateway_url: str) -> None:
    reader = token(gateway_url, scope="registry:read")
    for path in ("/v1/audit", "/v1/audit/verify", "/v1/clients"):
        response = httpx.get(f"{gateway_url}{path}", headers={"Authorization": f"Bearer {reader}"})
        assert response.status_code == 403, path


def test_enterprise_token_cannot_change_zones(gateway_url: str, api: httpx.Client) -> None:
    mine = new_uscc()
    api.post("/v1/enterprises", json=enterprise_body(mine)).raise_for_status()
    created = api.post(
        "/v1/clients",
        json={
            "client_id": f"ent2-{mine.lower()}",
            "name": "企业",
            "uscc": mine,
            "scopes": ["registry:read", "registry:write"],
        },
    ).json()
    ent = token(gateway_url, created["client_id"], created["client_secret"])
    with httpx.Client(base_url=gateway_url, headers={"Authorization": f"Bearer {ent}"}) as client:
        for response in (
            client.post("/v1/zones/molds-provincial/transitions", json={"to": "revoked"}),
            client.patch("/v1/zones/molds-provincial", json={"description": "x"}),
            client.put("/v1/zones/molds-provincial/tasks/survey", json={"done": False}),
            client.post(
                "/v1/zones",
                json={
                    "code": "ent-zone",
                    "name_zh": "x",
                    "name_en": "x",
                    "industry": "molds",
                    "level": "provincial",
                },
            ),
        ):
            assert_problem(response, 403, "forbidden")
        # but it may apply to a zone for itself
        assert (
            client.post("/v1/zones/molds-provincial/applications", json={"uscc": mine}).status_code
            == 201
        )
    assert api.get("/v1/zones/molds-provincial").json()["stage"] == "accepted"


# ── separated administrator roles (三权分立) and escalation through clients ─────────────────


def test_an_enterprise_bound_client_never_becomes_an_administrator(
    api: httpx.Client, gateway_url: str
) -> None:
    """The review's escalation: an enterprise client PATCHed to `admin` (200) then created an
    unbound admin client (201). Now the PATCH is a 422 naming `scopes`, and the bound token
    manages no client or user whatever it holds."""
    mine = new_uscc()
    created = api.post(
        "/v1/clients",
        json={
            "client_id": f"esc-{mine.lower()}",
            "name": "企业",
            "uscc": mine,
            "scopes": ["registry:read"],
        },
    )
    assert created.status_code == 201, created.text
    client_id = created.json()["client_id"]
    for role in ("admin", "system_admin", "security_admin", "audit_admin"):
        body = assert_problem(
            api.patch(f"/v1/clients/{client_id}", json={"scopes": ["registry:read", role]}),
            422,
            "validation",
        )
        assert body["errors"][0]["field"] == "scopes"
        assert_problem(
            api.post(
                "/v1/clients",
                json={
                    "client_id": f"esc2-{mine.lower()}",
                    "name": "企业",
                    "uscc": mine,
                    "scopes": [role],
                },
            ),
            422,
            "validation",
        )
    assert api.get(f"/v1/clients/{client_id}").json()["scopes"] == ["registry:read"]
    bound = token(gateway_url, client_id, created.json()["client_secret"])
    with httpx.Client(base_url=gateway_url, headers={"Authorization": f"Bearer {bound}"}) as ent:
        for response in (
            ent.post(
                "/v1/clients",
                json={"client_id": f"esc3-{mine.lower()}", "name": "x", "scopes": ["admin"]},
            ),
            ent.patch(f"/v1/clients/{client_id}", json={"scopes": ["admin"]}),
            ent.get("/v1/users"),
        ):
            assert_problem(response, 403, "forbidden")


def _role_client(api: httpx.Client, gateway_url: str, role: str) -> tuple[str, httpx.Client]:
    client_id = f"{role.replace('_', '-')}-{uuid.uuid4().hex[:8]}"
    created = api.post(
        "/v1/clients",
        json={"client_id": client_id, "name": role, "agency": "commerce", "scopes": [role]},
    )
    assert created.status_code == 201, created.text
    bearer = token(gateway_url, client_id, created.json()["client_secret"])
    return client_id, httpx.Client(
        base_url=gateway_url, headers={"Authorization": f"Bearer {bearer}"}, timeout=30
    )


def _plain_client(client_id: str) -> dict[str, object]:
    return {
        "client_id": client_id,
        "name": "plain",
        "agency": "ciq",  # a member agency: the gateway refuses one registry does not know
        "scopes": ["registry:read"],
    }


def test_each_administrator_role_is_refused_outside_its_area(
    api: httpx.Client, gateway_url: str
) -> None:
    system_id, system = _role_client(api, gateway_url, "system_admin")
    security_id, security = _role_client(api, gateway_url, "security_admin")
    _, audit = _role_client(api, gateway_url, "audit_admin")
    suffix = uuid.uuid4().hex[:8]
    agency = {"code": f"ag_{suffix}", "name_zh": "测试局", "name_en": "Test bureau"}
    with system, security, audit:
        # system_admin: clients, users, agencies; not the audit, lockouts, limits or roles
        assert system.post("/v1/clients", json=_plain_client(f"plain-{suffix}")).status_code == 201
        assert system.post("/v1/agencies", json=agency).status_code == 201
        assert (
            system.patch(f"/v1/clients/plain-{suffix}", json={"name": "renamed"}).status_code == 200
        )
        for response in (
            system.get("/v1/audit"),
            system.get("/v1/audit/verify"),
            system.get("/v1/lockouts"),
            system.delete("/v1/lockouts/client:nobody"),
            system.patch(f"/v1/clients/plain-{suffix}", json={"rate_limit_per_s": 5}),
            system.patch(f"/v1/clients/plain-{suffix}", json={"scopes": ["audit_admin"]}),
            system.post(f"/v1/clients/{security_id}/secret"),
        ):
            body = assert_problem(response, 403, "forbidden")
            assert body["required_scope"] in ("audit_admin", "security_admin"), body
        # security_admin: roles, rate limits, lockouts; not agencies, plain accounts or audit
        assert security.get("/v1/lockouts").status_code == 200
        limited = security.patch(f"/v1/clients/plain-{suffix}", json={"rate_limit_per_s": 5})
        assert limited.status_code == 200 and limited.json()["rate_limit_per_s"] == 5
        for response in (
            security.post("/v1/agencies", json={**agency, "code": f"ah_{suffix}"}),
            security.post("/v1/clients", json=_plain_client(f"plain2-{suffix}")),
            security.get("/v1/audit"),
            security.get("/v1/audit/verify"),
        ):
            assert_problem(response, 403, "forbidden")
        # audit_admin: reads and verifies the audit log, changes nothing
        assert audit.get("/v1/audit/verify").json()["ok"] is True
        for response in (
            audit.post("/v1/clients", json=_plain_client(f"plain3-{suffix}")),
            audit.post(
                "/v1/users",
                json={
                    "username": f"u-{suffix}",
                    "password": "a-long-enough-password",
                    "name": "x",
                    "kind": "office",
                    "scopes": ["registry:read"],
                },
            ),
            audit.post("/v1/agencies", json={**agency, "code": f"ai_{suffix}"}),
            audit.post("/v1/enterprises", json=enterprise_body(new_uscc())),
            audit.get("/v1/clients"),
            audit.get("/v1/lockouts"),
        ):
            assert_problem(response, 403, "forbidden")
        # the other two administrators' actions are in the log the auditor reads
        for actor, method, path in (
            (system_id, "POST", "/v1/agencies"),
            (system_id, "PATCH", f"/v1/clients/plain-{suffix}"),
            (security_id, "PATCH", f"/v1/clients/plain-{suffix}"),
        ):
            rows = wait_until(
                lambda a=actor, m=method, p=path: [
                    r
                    for r in audit.get("/v1/audit", params={"actor": a, "phase": "outcome"}).json()[
                        "items"
                    ]
                    if r["method"] == m and r["path"] == p and r["outcome"] == "success"
                ],
                what=f"{actor}'s {method} {path} in the audit log",
            )
            assert rows


def test_demo_admin_still_does_everything_in_dev(api: httpx.Client) -> None:
    suffix = uuid.uuid4().hex[:8]
    assert api.get("/v1/audit/verify").status_code == 200
    assert api.get("/v1/lockouts").status_code == 200
    assert api.post("/v1/clients", json=_plain_client(f"demo-{suffix}")).status_code == 201
    agency = {"code": f"aj_{suffix}", "name_zh": "测试局", "name_en": "Test bureau"}
    assert api.post("/v1/agencies", json=agency).status_code == 201
    # and in dev may hand several roles to one office identity
    both = api.post(
        "/v1/clients",
        json={"client_id": f"two-{suffix}", "name": "x", "scopes": ["system_admin", "audit_admin"]},
    )
    assert both.status_code == 201, both.text


def test_security_admin_rotates_the_signing_key_and_old_tokens_keep_working(
    api: httpx.Client, gateway_url: str, admin_token: str
) -> None:
    import jwt

    _, system = _role_client(api, gateway_url, "system_admin")
    security_id, security = _role_client(api, gateway_url, "security_admin")
    with system, security:
        assert_problem(system.post("/v1/signing-keys", json={}), 403, "forbidden")
        assert_problem(system.get("/v1/signing-keys"), 403, "forbidden")
        old_kid = jwt.get_unverified_header(admin_token)["kid"]
        rotated = security.post("/v1/signing-keys", json={})
        assert rotated.status_code == 201, rotated.text
        new = rotated.json()
        assert new["state"] == "next" and new["created_by"] == security_id
        assert "private" not in rotated.text.lower()
        states = {k["kid"]: k["state"] for k in security.get("/v1/signing-keys").json()["items"]}
        assert states[new["kid"]] == "next" and states[old_kid] == "current"

        def published() -> set[str]:  # every gateway process publishes it before signing
            kids = set()
            for _ in range(6):
                keys = httpx.get(f"{gateway_url}/.well-known/jwks.json").json()["keys"]
                kids.add(frozenset(k["kid"] for k in keys))
            return {new["kid"], old_kid} if kids == {frozenset({new["kid"], old_kid})} else set()

        wait_until(published, what="the new key in every process's JWKS")

        def signed_with_new_key() -> str | None:
            bearer = token(gateway_url)
            return bearer if jwt.get_unverified_header(bearer)["kid"] == new["kid"] else None

        fresh = wait_until(
            signed_with_new_key, what="tokens signed with the new key", timeout=40, interval=1
        )
        # both keys' tokens pass the gateway and the services (which fetch the new key)
        for bearer in (admin_token, fresh):
            answer = httpx.get(
                f"{gateway_url}/v1/enterprises", headers={"Authorization": f"Bearer {bearer}"}
            )
            assert answer.status_code == 200, answer.text
        audited = api.get("/v1/audit", params={"actor": security_id, "phase": "outcome"})
        assert any(r["path"] == "/v1/signing-keys" for r in audited.json()["items"])
