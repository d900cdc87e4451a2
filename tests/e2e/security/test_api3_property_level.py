"""OWASP API3:2023 Broken Object Property Level Authorization: server-owned fields are refused."""

from __future__ import annotations

import httpx

from tests.helpers import enterprise_body, new_uscc


def test_server_owned_fields_are_refused(api: httpx.Client) -> None:
    uscc = new_uscc()
    level = api.post("/v1/enterprises", json=enterprise_body(uscc, credit_level="A"))
    assert level.status_code == 422 and "credit_level cannot be set" in level.json()["detail"]
    api.post("/v1/enterprises", json=enterprise_body(uscc)).raise_for_status()
    for body in ({"credit_level": "A"}, {"version": 99}, {"zones": ["molds-provincial"]}):
        assert api.patch(f"/v1/enterprises/{uscc}", json=body).status_code == 422, body
    assert api.get(f"/v1/enterprises/{uscc}").json()["credit_level"] in (None, "B")  # credit's
    assert api.patch("/v1/zones/molds-provincial", json={"stage": "revoked"}).status_code == 422
    assert (
        api.post(
            "/v1/zones/molds-provincial/applications", json={"uscc": uscc, "status": "admitted"}
        ).status_code
        == 422
    )
    # secrets are never readable, even by an admin
    clients = api.get("/v1/clients", params={"limit": 500}).json()["items"]
    assert all("secret_hash" not in c and "client_secret" not in c for c in clients)
