"""OWASP API1:2023 Broken Object Level Authorization: an enterprise token sees only its own."""

from __future__ import annotations

import httpx

from tests.helpers import enterprise_body, new_uscc, token


def test_enterprise_token_reaches_only_its_own_objects(api: httpx.Client, gateway_url: str) -> None:
    mine, theirs = new_uscc(), new_uscc()
    for u in (mine, theirs):
        api.post("/v1/enterprises", json=enterprise_body(u)).raise_for_status()
    their_membership = api.post(
        "/v1/zones/molds-provincial/applications", json={"uscc": theirs}
    ).json()
    created = api.post(
        "/v1/clients",
        json={
            "client_id": f"bola-{mine.lower()}",
            "name": "企业",
            "uscc": mine,
            "scopes": ["registry:read", "registry:write"],
        },
    ).json()
    ent = token(gateway_url, created["client_id"], created["client_secret"])
    with httpx.Client(base_url=gateway_url, headers={"Authorization": f"Bearer {ent}"}) as c:
        assert c.get(f"/v1/enterprises/{mine}").status_code == 200
        for response in (
            c.get(f"/v1/enterprises/{theirs}"),
            c.patch(f"/v1/enterprises/{theirs}", json={"employees": 1}),
            c.get(f"/v1/enterprises/{theirs}/surveys"),
            c.get(f"/v1/enterprises/{theirs}/commitments"),
            c.get(f"/v1/enterprises/{theirs}/profile"),
            c.get(f"/v1/memberships/{their_membership['id']}"),
            c.post("/v1/zones/molds-provincial/applications", json={"uscc": theirs}),
        ):
            assert response.status_code in (403, 404), response.request.url
        # nothing of theirs leaks through lists
        assert [e["uscc"] for e in c.get("/v1/enterprises").json()["items"]] == [mine]
        assert all(
            m["uscc"] == mine
            for m in c.get("/v1/memberships", params={"uscc": theirs}).json()["items"]
        )
        zone_members = c.get("/v1/zones/molds-provincial/applications").json()["items"]
        assert all(m["uscc"] == mine for m in zone_members)
        # an unknown USCC answers like a foreign one: existence does not leak
        assert c.get(f"/v1/enterprises/{new_uscc()}/surveys").status_code == 403
