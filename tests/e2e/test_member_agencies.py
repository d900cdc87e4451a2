"""Sources are member agencies (#17): a gateway client or user carries only an agency registry
knows (422 naming `agency`), credit takes no fact from an agency registry never announced,
inspection no campaign or inspector of one (404 naming it). An agency added to registry is
usable at once by the gateway, and by credit once its announcement arrives."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx

from tests.helpers import assert_problem, client_for, enterprise_body, new_uscc, wait_until

GHOST = "ghost_bureau"


def _ghost() -> str:
    return f"{GHOST}_{uuid.uuid4().hex[:6]}"


def test_a_client_or_user_names_only_a_member_agency(admin: httpx.Client) -> None:
    ghost = _ghost()
    client = admin.post(
        "/v1/clients",
        json={
            "client_id": f"t-{uuid.uuid4().hex[:10]}",
            "name": "ghost system",
            "agency": ghost,
            "scopes": ["credit:write"],
        },
    )
    problem = assert_problem(client, 422, "validation")
    assert [e["field"] for e in problem["errors"]] == ["agency"] and ghost in problem["detail"]

    user = admin.post(
        "/v1/users",
        json={
            "username": f"ghost-{uuid.uuid4().hex[:8]}",
            "password": "a long enough passphrase 2026!",
            "name": "幽灵 用户",
            "kind": "office",
            "agency": ghost,
            "scopes": ["registry:read"],
        },
    )
    assert [e["field"] for e in assert_problem(user, 422, "validation")["errors"]] == ["agency"]

    # a seeded member agency is fine
    made = admin.post(
        "/v1/clients",
        json={
            "client_id": f"t-{uuid.uuid4().hex[:10]}",
            "name": "customs system",
            "agency": "ciq",
            "scopes": ["credit:read"],
        },
    )
    assert made.status_code == 201, made.text


def test_credit_and_inspection_refuse_an_unknown_agency(admin: httpx.Client) -> None:
    uscc = new_uscc()
    admin.post("/v1/enterprises", json=enterprise_body(uscc)).raise_for_status()
    wait_until(
        lambda: admin.get(f"/v1/credit/enterprises/{uscc}").status_code == 200, what="announced"
    )
    ghost = _ghost()
    fact = admin.post(
        "/v1/credit/facts",
        json={
            "uscc": uscc,
            "kind": "penalty",
            "severity": "serious",
            "amount": 200000,
            "occurred_at": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
            "source_agency": ghost,
        },
    )
    assert assert_problem(fact, 404, "not-found")["key"] == ghost
    assert admin.get(f"/v1/credit/enterprises/{uscc}").json()["level"] == "B"

    inspector = admin.post(
        "/v1/inspectors",
        json={"agency": ghost, "badge_number": f"G-{uuid.uuid4().hex[:8]}", "name": "幽灵"},
    )
    assert assert_problem(inspector, 404, "not-found")["key"] == ghost
    campaign = admin.post(
        "/v1/campaigns",
        json={
            "title": "幽灵抽查",
            "agencies": ["market_supervision", ghost],
            "zones": ["lighting-provincial"],
            "checklist_id": str(uuid.uuid4()),
            "window_start": "2026-12-01",
            "window_end": "2026-12-31",
        },
    )
    assert assert_problem(campaign, 404, "not-found")["key"] == ghost


def test_an_agency_registry_adds_is_a_source_once_announced(
    admin: httpx.Client, gateway_url: str
) -> None:
    code = f"new_{uuid.uuid4().hex[:8]}"
    added = admin.post(
        "/v1/agencies",
        json={"code": code, "name_zh": "县新成员局", "name_en": "New member bureau"},
    )
    assert added.status_code == 201, added.text
    uscc = new_uscc()
    admin.post("/v1/enterprises", json=enterprise_body(uscc)).raise_for_status()
    # the gateway asks registry: known at once
    with client_for(admin, gateway_url, ["credit:read", "credit:write"], agency=code) as bureau:

        def submitted() -> bool:
            answer = bureau.post(
                "/v1/credit/facts",
                json={
                    "uscc": uscc,
                    "kind": "training",
                    "severity": "general",
                    "occurred_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
                    "client_key": f"k-{code}",
                },
            )
            return answer.status_code in (200, 201)

        # credit knows it when registry's announcement (and the enterprise's) has arrived
        wait_until(submitted, what="credit to learn the new agency")
    facts = admin.get("/v1/credit/facts", params={"uscc": uscc}).json()["items"]
    assert [f["source_agency"] for f in facts] == [code]
