"""Gateway guards: the hash-chained audit log, rate limits, security headers."""

from __future__ import annotations

import httpx

from tests.helpers import enterprise_body, new_uscc, sql, wait_until


def test_writes_and_denials_are_audited_and_the_chain_verifies(
    stack, api: httpx.Client, gateway_url: str
) -> None:  # type: ignore[no-untyped-def]
    uscc = new_uscc()
    created = api.post(
        "/v1/enterprises", json=enterprise_body(uscc), headers={"X-Request-ID": f"audit-{uscc}"}
    )
    assert created.status_code == 201
    denied = httpx.post(
        f"{gateway_url}/v1/enterprises",
        json=enterprise_body(new_uscc()),
        headers={"X-Request-ID": f"denied-{uscc}"},
    )
    assert denied.status_code == 401
    api.get(f"/v1/enterprises/{uscc}").raise_for_status()  # a read: not audited

    # a write: its intent before it was forwarded, its outcome after (newest first)
    outcome, intent = api.get("/v1/audit", params={"request_id": f"audit-{uscc}"}).json()["items"]
    ignored = {"at": None, "seq": None, "hash": None, "prev_hash": None}
    expected = {
        **ignored,
        "request_id": f"audit-{uscc}",
        "actor": "demo-admin",
        "agency": "commerce",
        "uscc": None,
        "inspector_id": None,
        "method": "POST",
        "path": "/v1/enterprises",
        "object_key": None,
    }
    assert intent | ignored == {
        **expected,
        "phase": "intent",
        "intent_seq": None,
        "status": None,
        "outcome": None,
    }
    assert outcome | ignored == {
        **expected,
        "phase": "outcome",
        "intent_seq": intent["seq"],
        "status": 201,
        "outcome": "success",
    }
    refused = api.get("/v1/audit", params={"request_id": f"denied-{uscc}"}).json()["items"]
    assert [(r["phase"], r["outcome"], r["status"], r["actor"]) for r in refused] == [
        ("outcome", "denied", 401, None),
        ("intent", None, None, None),
    ]
    reads = api.get(
        "/v1/audit", params={"method": "GET", "outcome": "success", "limit": 500}
    ).json()
    assert all(r["path"] != f"/v1/enterprises/{uscc}" for r in reads["items"])

    assert api.get("/v1/audit/verify").json()["ok"] is True


def test_audit_log_is_append_only_and_tampering_is_detected(stack, api: httpx.Client) -> None:  # type: ignore[no-untyped-def]
    api.post("/v1/enterprises", json=enterprise_body(new_uscc())).raise_for_status()
    seq = api.get("/v1/audit", params={"limit": 1}).json()["items"][0]["seq"]
    try:
        sql(stack, "gateway", "UPDATE audit_log SET status = 200 WHERE seq = $1", seq)
        raise AssertionError("an UPDATE of the audit log must be refused")
    except Exception as exc:  # asyncpg.RaiseError from the append-only trigger
        assert "append-only" in str(exc)
    # A superuser can switch the guard off; the chain still shows the edit.
    sql(stack, "gateway", "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    try:
        sql(stack, "gateway", "UPDATE audit_log SET actor = 'someone-else' WHERE seq = $1", seq)
        report = api.get("/v1/audit/verify").json()
        assert report["ok"] is False and report["first_broken"]["seq"] == seq
        assert "hash" in report["first_broken"]["reason"]
    finally:
        sql(stack, "gateway", "UPDATE audit_log SET actor = 'demo-admin' WHERE seq = $1", seq)
        sql(stack, "gateway", "ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
    assert api.get("/v1/audit/verify").json()["ok"] is True


def test_trace_context_flows_from_request_to_event(stack, api: httpx.Client) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers import stream_events, wait_until

    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    uscc = new_uscc()
    api.post(
        "/v1/enterprises",
        json=enterprise_body(uscc),
        headers={"traceparent": f"00-{trace}-00f067aa0ba902b7-01"},
    ).raise_for_status()
    events = wait_until(
        lambda: [
            e
            for e in stream_events(stack, "registry.enterprise.registered")
            if e["subject"] == uscc
        ],
        what="event",
    )
    assert events[0]["traceparent"].split("-")[1] == trace
    assert events[0]["traceparent"] != f"00-{trace}-00f067aa0ba902b7-01"  # a child span


def test_gateway_readiness_reports_each_upstream(gateway_url: str) -> None:
    ready = httpx.get(f"{gateway_url}/readyz").json()
    assert ready["checks"] == {"database": "ok"}
    assert ready["dependencies"] == {
        "registry": "ok",
        "credit": "ok",
        "inspection": "ok",
        "notify": "ok",
    }


def test_profile_degrades_per_part(api: httpx.Client, gateway_url: str) -> None:
    uscc = new_uscc()
    api.post("/v1/enterprises", json=enterprise_body(uscc)).raise_for_status()
    mid = api.post("/v1/zones/lighting-provincial/applications", json={"uscc": uscc}).json()["id"]
    profile = api.get(f"/v1/enterprises/{uscc.lower()}/profile")
    assert profile.status_code == 200
    body = profile.json()
    assert body["uscc"] == uscc and body["status"] in ("partial", "complete")
    assert body["parts"]["enterprise"]["data"]["uscc"] == uscc
    assert [m["id"] for m in body["parts"]["memberships"]["data"]["items"]] == [mid]
    assert body["parts"]["open_tasks"] == {
        "status": "ok",
        "data": {"items": [], "next_cursor": None},
    }
    assert body["parts"]["open_alerts"] == {
        "status": "ok",
        "data": {"items": [], "next_cursor": None},
    }
    credit = wait_until(
        lambda: (lambda p: p if p["status"] == "ok" else None)(
            api.get(f"/v1/enterprises/{uscc}/profile").json()["parts"]["credit"]
        ),
        what="credit part",
    )
    assert credit["data"]["level"] == "B" and credit["data"]["score"] == 100
    assert api.get(f"/v1/enterprises/{new_uscc()}/profile").status_code == 404
    assert httpx.get(f"{gateway_url}/v1/enterprises/{uscc}/profile").status_code == 401


def _password_token(gateway_url: str, username: str, password: str) -> httpx.Response:
    return httpx.post(
        f"{gateway_url}/oauth/token",
        data={"grant_type": "password", "username": username, "password": password},
    )


def test_users_log_in_with_passwords_and_stay_in_their_lane(
    api: httpx.Client, gateway_url: str
) -> None:
    mine, theirs = new_uscc(), new_uscc()
    for u in (mine, theirs):
        api.post("/v1/enterprises", json=enterprise_body(u)).raise_for_status()
    username = f"staff-{mine.lower()}"
    created = api.post(
        "/v1/users",
        json={
            "username": username,
            "password": "correct horse battery",
            "name": "王伟",
            "kind": "enterprise",
            "uscc": mine,
            "scopes": ["registry:read", "registry:write"],
        },
    )
    assert created.status_code == 201 and "password" not in created.json()
    assert "password_hash" not in str(api.get("/v1/users", params={"limit": 500}).json())

    assert _password_token(gateway_url, username, "wrong password!!").status_code == 401
    assert _password_token(gateway_url, "nobody-here", "correct horse battery").status_code == 401
    issued = _password_token(gateway_url, username, "correct horse battery")
    assert issued.status_code == 200
    bearer = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    assert httpx.get(f"{gateway_url}/v1/enterprises/{mine}", headers=bearer).status_code == 200
    assert httpx.get(f"{gateway_url}/v1/enterprises/{theirs}", headers=bearer).status_code == 403
    assert httpx.get(f"{gateway_url}/v1/users", headers=bearer).status_code == 403

    bad = api.post(
        "/v1/users",
        json={
            "username": f"x-{mine.lower()}",
            "password": "short",
            "name": "x",
            "kind": "enterprise",
            "scopes": ["admin"],
        },
    )
    assert bad.status_code == 422
    locked = api.patch(f"/v1/users/{username}", json={"active": False})
    assert locked.status_code == 200
    assert _password_token(gateway_url, username, "correct horse battery").status_code == 401


def test_concurrent_writes_keep_one_unbroken_chain(
    api: httpx.Client, gateway_url: str, admin_token: str
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    tag = new_uscc()[-8:]

    def register(n: int) -> int:
        return httpx.post(
            f"{gateway_url}/v1/enterprises",
            json=enterprise_body(new_uscc()),
            timeout=30,
            headers={"Authorization": f"Bearer {admin_token}", "X-Request-ID": f"chain-{tag}-{n}"},
        ).status_code

    with ThreadPoolExecutor(16) as pool:
        assert set(pool.map(register, range(40))) == {201}
    for n in (0, 17, 39):
        rows = api.get("/v1/audit", params={"request_id": f"chain-{tag}-{n}"}).json()["items"]
        assert [(r["phase"], r["status"]) for r in rows] == [("outcome", 201), ("intent", None)]
    report = api.get("/v1/audit/verify").json()
    assert report["ok"] is True and report["checked"] >= 80
