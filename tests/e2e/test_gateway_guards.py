"""Gateway guards: the hash-chained audit log, rate limits, security headers."""

from __future__ import annotations

import contextlib

import httpx

from tests.helpers import as_gateway, enterprise_body, new_uscc, sql, wait_until


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

    # RFC 6749 §5.2: a wrong resource-owner password is a 400 invalid_grant
    assert _password_token(gateway_url, username, "wrong password!!").status_code == 400
    assert _password_token(gateway_url, "nobody-here", "correct horse battery").status_code == 400
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
    assert _password_token(gateway_url, username, "correct horse battery").status_code == 400


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


def _chunked(url: str, path: str, headers: dict[str, str], size: int) -> tuple[int, bytes]:
    """POST `size` bytes as a chunked body on a raw socket, reading the answer as soon as one
    comes (the server may answer and close before the body is all sent); status and body."""
    import select
    import socket
    from urllib.parse import urlsplit

    host, port = urlsplit(url).hostname, urlsplit(url).port
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    chunk = b"x" * 65536
    answer = b""
    with socket.create_connection((host, port), timeout=30) as s:
        s.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nTransfer-Encoding: chunked\r\n"
            f"Content-Type: application/json\r\n{head}\r\n".encode()
        )
        sent = 0
        try:
            while sent < size and not select.select([s], [], [], 0)[0]:
                s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            if sent >= size:
                s.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed while we were still sending
        with contextlib.suppress(OSError):
            while not _complete(answer) and (part := s.recv(65536)):
                answer += part
    status = int(answer.split(b" ", 2)[1])
    return status, answer.split(b"\r\n\r\n", 1)[1]


def _complete(answer: bytes) -> bool:
    """A whole HTTP answer: headers and as many body bytes as its Content-Length says."""
    head, found, body = answer.partition(b"\r\n\r\n")
    if not found:
        return False
    fields = dict(line.lower().split(b": ", 1) for line in head.split(b"\r\n")[1:])
    return len(body) >= int(fields.get(b"content-length", b"0"))


def _metric_total(gateway_url: str, status_prefix: str) -> float:
    text = httpx.get(f"{gateway_url}/metrics").text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("http_requests_total{")
        and 'service="gateway"' in line
        and f'status="{status_prefix}' in line
    )


def test_an_oversized_chunked_body_is_a_413_problem_through_the_gateway(
    stack, gateway_url: str, admin_token: str
) -> None:  # type: ignore[no-untyped-def]
    import json

    failures = _metric_total(gateway_url, "5")
    bearer = {"Authorization": f"Bearer {admin_token}"}
    for base in (gateway_url, stack.url("registry")):
        direct = as_gateway(stack, "POST", "/v1/enterprises") if base != gateway_url else {}
        status, body = _chunked(base, "/v1/enterprises", bearer | direct, 2 * 1024 * 1024)
        problem = json.loads(body)
        assert status == 413 and problem["type"] == "/problems/payload-too-large", (base, body)
    assert _metric_total(gateway_url, "5") == failures
    log = (stack.data_dir / "gateway.log").read_text()
    assert "_BodyTooLarge" not in log and "BodyTooLarge" not in log


def test_a_client_gone_mid_body_is_neither_a_500_nor_logged_as_one(
    stack, api: httpx.Client, gateway_url: str, admin_token: str
) -> None:  # type: ignore[no-untyped-def]
    import socket
    from urllib.parse import urlsplit

    failures = _metric_total(gateway_url, "5")
    log = stack.data_dir / "gateway.log"
    logged = log.stat().st_size
    rid = f"gone-{new_uscc()}"
    url = urlsplit(gateway_url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as s:
        s.sendall(
            f"POST /v1/enterprises HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Authorization: Bearer {admin_token}\r\nX-Request-ID: {rid}\r\n"
            "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
            '{"uscc": "'.encode()
        )
    # the gateway recorded the intent, then how it ended: the client went away (499)
    ended = wait_until(
        lambda: [
            r
            for r in api.get("/v1/audit", params={"request_id": rid}).json()["items"]
            if r["phase"] == "outcome"
        ],
        what="the write's outcome row",
    )
    assert (ended[0]["status"], ended[0]["outcome"]) == (499, "failed")
    # counted once the exception has left the audit (which records the outcome first)
    wait_until(lambda: _metric_total(gateway_url, "499") >= 1, what="the 499 to be counted")
    assert _metric_total(gateway_url, "5") == failures
    with log.open() as f:
        f.seek(logged)
        assert "unhandled error" not in f.read()


def test_redirects_do_not_reflect_the_host_header(api: httpx.Client) -> None:
    spoofed = {"Host": "evil.example", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "x.test"}
    # a gateway route and a service route reached with a trailing slash
    for path in ("/v1/clients/", "/v1/zones/"):
        moved = api.get(path, headers=spoofed, follow_redirects=False)
        assert moved.status_code == 307, (path, moved.text)
        assert moved.headers["location"] == path.rstrip("/"), moved.headers["location"]
