"""OWASP API5:2023 Broken Function Level Authorization: admin and office functions."""

from __future__ import annotations

import httpx

from tests.helpers import assert_problem, enterprise_body, new_uscc, token


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
