"""The gateway's audit log fails closed, on a small stack of its own (gateway and registry, one
worker each): a write is recorded before it is forwarded or refused with a 503; the log's
gap-free sequence and hash chain show a removed, changed or reordered row; a gateway killed
between forwarding and recording the outcome leaves the intent, so the write is not lost.
Its gateway allows /metrics to another network only, so it also shows loopback refused.

The gateway's database is taken away narrowly: `ALLOW_CONNECTIONS false` (which binds the
superuser too, unlike a revoked CONNECT) and its sessions terminated; the registry's
database stays up, so what the tests see is the audit, not a general outage."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

import httpx
import pytest

from deploy.launcher import Stack
from tests.helpers import (
    assert_problem,
    enterprise_body,
    make_stack,
    new_uscc,
    sql,
    token,
    wait_until,
)


@pytest.fixture(scope="module")
def audited() -> Iterator[Stack]:
    stack = make_stack("audit")
    stack.workers = 1  # one gateway process: a failpoint's kill -9 stops the whole gateway
    # metrics only for an address the tests never use: loopback is refused on this stack
    stack.env["GATEWAY_METRICS_ALLOW"] = '["192.0.2.0/24"]'
    try:
        stack.start_infrastructure()
        stack.migrate()
        stack.provision()
        stack.start_service("gateway")
        stack.start_service("registry")
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def client(audited: Stack) -> Iterator[httpx.Client]:
    bearer = token(audited.url("gateway"))
    with httpx.Client(
        base_url=audited.url("gateway"), timeout=30, headers={"Authorization": f"Bearer {bearer}"}
    ) as c:
        yield c


def _set_gateway_db(stack: Stack, *, available: bool) -> None:
    """Let connections into the gateway's database again, or refuse them and end its sessions."""
    flag = "true" if available else "false"
    sql(stack, "postgres", f"ALTER DATABASE gateway ALLOW_CONNECTIONS {flag}")
    if not available:
        sql(
            stack,
            "postgres",
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'gateway'",
        )


@contextlib.contextmanager
def gateway_db_down(stack: Stack) -> Iterator[None]:
    """The gateway's database refuses connections for the block (the registry's stays up)."""
    _set_gateway_db(stack, available=False)
    try:
        yield
    finally:
        _set_gateway_db(stack, available=True)


def _rows(stack: Stack) -> int:
    return int(sql(stack, "gateway", "SELECT count(*) FROM audit_log")[0][0])


def _registry_name(stack: Stack, uscc: str) -> str | None:
    rows = sql(stack, "registry", "SELECT name FROM enterprises WHERE uscc = $1", uscc)
    return rows[0][0] if rows else None


def test_writes_are_refused_while_the_audit_cannot_record_them(
    audited: Stack, client: httpx.Client
) -> None:
    uscc = new_uscc()
    assert client.post("/v1/enterprises", json=enterprise_body(uscc)).status_code == 201
    before, name = _rows(audited), _registry_name(audited, uscc)
    fresh = new_uscc()
    with gateway_db_down(audited):
        for n in range(5):
            patched = client.patch(f"/v1/enterprises/{uscc}", json={"name": f"改名{n}有限公司"})
            assert_problem(patched, 503, "service-unavailable")
            assert int(patched.headers["Retry-After"]) > 0
        created = client.post("/v1/enterprises", json=enterprise_body(fresh))
        assert_problem(created, 503, "service-unavailable")
        # reads change nothing and are not audited: they still work
        assert client.get(f"/v1/enterprises/{uscc}").json()["name"] == name
    # none of the refused writes reached the registry
    assert _registry_name(audited, uscc) == name
    assert _registry_name(audited, fresh) is None
    assert _rows(audited) == before

    # back again: writes are recorded (intent, then outcome) and the chain verifies
    wait_until(
        lambda: (
            client.patch(f"/v1/enterprises/{uscc}", json={"name": "恢复有限公司"}).status_code
            == 200
        ),
        what="writes to be accepted again",
    )
    assert _registry_name(audited, uscc) == "恢复有限公司"
    report = client.get("/v1/audit/verify").json()
    assert report["ok"] is True and report["first_broken"] is None
    assert report["checked"] == _rows(audited)


def test_each_write_has_an_intent_before_and_an_outcome_after(client: httpx.Client) -> None:
    uscc = new_uscc()
    rid = f"audit-pair-{uscc}"
    created = client.post(
        "/v1/enterprises", json=enterprise_body(uscc), headers={"X-Request-ID": rid}
    )
    assert created.status_code == 201
    rows = client.get("/v1/audit", params={"request_id": rid}).json()["items"]
    outcome, intent = rows  # newest first
    assert (intent["phase"], intent["status"], intent["outcome"]) == ("intent", None, None)
    assert (outcome["phase"], outcome["status"], outcome["outcome"]) == ("outcome", 201, "success")
    assert outcome["intent_seq"] == intent["seq"] < outcome["seq"]
    assert intent["actor"] == outcome["actor"] == "demo-admin"
    assert intent["path"] == outcome["path"] == "/v1/enterprises"


def test_a_login_row_names_who_signed_in_or_tried_to(client: httpx.Client, audited: Stack) -> None:
    base = audited.url("gateway")
    rid, bad = f"audit-login-{new_uscc()}", f"audit-login-bad-{new_uscc()}"
    data = {"grant_type": "client_credentials", "client_id": "demo-admin"}
    ok = httpx.post(
        f"{base}/oauth/token",
        data=data | {"client_secret": "demo-admin-secret"},
        headers={"X-Request-ID": rid},
        timeout=10,
    )
    assert ok.status_code == 200
    wrong = httpx.post(
        f"{base}/oauth/token",
        data={"grant_type": "password", "username": "nobody", "password": "wrong-password"},
        headers={"X-Request-ID": bad},
        timeout=10,
    )
    assert wrong.status_code == 400
    rows = client.get("/v1/audit", params={"request_id": rid}).json()["items"]
    assert [(r["phase"], r["actor"]) for r in rows] == [
        ("outcome", "demo-admin"),  # known once the secret is checked
        ("intent", None),  # before that, nobody can be named
    ]
    (outcome, _) = client.get("/v1/audit", params={"request_id": bad}).json()["items"]
    assert (outcome["actor"], outcome["outcome"]) == ("user:nobody", "failed")
    # a name longer than the actor column is cut to it, never keeps the row out of the trail
    long_rid, name = f"audit-login-long-{new_uscc()}", "x" * 150
    long = httpx.post(
        f"{base}/oauth/token",
        data={"grant_type": "password", "username": name, "password": "wrong-password"},
        headers={"X-Request-ID": long_rid},
        timeout=10,
    )
    assert long.status_code == 400
    (outcome, _) = client.get("/v1/audit", params={"request_id": long_rid}).json()["items"]
    assert (outcome["actor"], outcome["outcome"]) == (f"user:{name}"[:100], "failed")


def _audit_row(stack: Stack, seq: int) -> tuple:  # type: ignore[type-arg]
    return sql(stack, "gateway", "SELECT * FROM audit_log WHERE seq = $1", seq)[0]


@contextlib.contextmanager
def tampering(stack: Stack) -> Iterator[None]:
    """The append-only trigger off for the block (as a superuser could), on again after."""
    sql(stack, "gateway", "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    try:
        yield
    finally:
        sql(stack, "gateway", "ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")


def _three_writes(client: httpx.Client) -> list[int]:
    """Three registrations; the seq of each one's outcome row (oldest first)."""
    seqs = []
    for _ in range(3):
        rid = f"tamper-{new_uscc()}"
        client.post(
            "/v1/enterprises", json=enterprise_body(new_uscc()), headers={"X-Request-ID": rid}
        ).raise_for_status()
        rows = client.get("/v1/audit", params={"request_id": rid}).json()["items"]
        seqs.append(next(r["seq"] for r in rows if r["phase"] == "outcome"))
    return seqs


def _swap(stack: Stack, a: int, b: int) -> None:
    """Rows `a` and `b` trade places (through negative numbers: the key is checked per row)."""
    sql(stack, "gateway", "UPDATE audit_log SET seq = -seq WHERE seq IN ($1, $2)", a, b)
    sql(
        stack,
        "gateway",
        "UPDATE audit_log SET seq = CASE WHEN seq = -$1::bigint THEN $2::bigint ELSE $1 END"
        " WHERE seq IN (-$1::bigint, -$2::bigint)",
        a,
        b,
    )


def _reinsert(stack: Stack, rows: list[tuple]) -> None:  # type: ignore[type-arg]
    for row in rows:
        values = ", ".join(f"${n + 1}" for n in range(len(row)))
        # only numbered placeholders go into the text; the row's values are parameters
        sql(stack, "gateway", f"INSERT INTO audit_log VALUES ({values})", *row)  # noqa: S608


def test_verify_finds_a_removed_a_changed_and_a_reordered_row(
    audited: Stack, client: httpx.Client
) -> None:
    first, middle, last = _three_writes(client)
    assert client.get("/v1/audit/verify").json()["ok"] is True

    def broken() -> dict:  # type: ignore[type-arg]
        report = client.get("/v1/audit/verify").json()
        assert report["ok"] is False, report
        return report["first_broken"]  # type: ignore[no-any-return]

    with tampering(audited):
        # removed: the sequence has a gap where the row was
        kept = [_audit_row(audited, middle)]
        sql(audited, "gateway", "DELETE FROM audit_log WHERE seq = $1", middle)
        try:
            assert broken() | {"reason": None} == {"seq": middle, "kind": "missing", "reason": None}
        finally:
            _reinsert(audited, kept)
        assert client.get("/v1/audit/verify").json()["ok"] is True

        # changed: the row's hash no longer matches its content
        sql(audited, "gateway", "UPDATE audit_log SET status = 200 WHERE seq = $1", middle)
        try:
            report = broken()
            assert (report["seq"], report["kind"]) == (middle, "altered")
            assert "hash" in report["reason"]
        finally:
            sql(audited, "gateway", "UPDATE audit_log SET status = 201 WHERE seq = $1", middle)
        assert client.get("/v1/audit/verify").json()["ok"] is True

        # reordered: two rows trade places, each with its own content and hash
        _swap(audited, first, middle)
        try:
            report = broken()
            assert (report["seq"], report["kind"]) == (first, "reordered")
        finally:
            _swap(audited, first, middle)
        assert client.get("/v1/audit/verify").json()["ok"] is True

        # the latest write removed whole (intent and outcome): the gateway that wrote it
        # knows the log went further
        tail = [_audit_row(audited, seq) for seq in (last - 1, last)]
        sql(audited, "gateway", "DELETE FROM audit_log WHERE seq >= $1", last - 1)
        try:
            report = broken()
            assert (report["seq"], report["kind"]) == (last, "truncated")
        finally:
            _reinsert(audited, tail)
    assert client.get("/v1/audit/verify").json()["ok"] is True


def test_a_gateway_killed_after_forwarding_leaves_the_intent(
    audited: Stack, client: httpx.Client
) -> None:
    uscc = new_uscc()
    client.post("/v1/enterprises", json=enterprise_body(uscc)).raise_for_status()
    rid = f"killed-{uscc}"
    audited.stop_service("gateway")
    audited.start_service("gateway", env={"ZONE_FAILPOINTS": "audit.after_forward"})
    proc = audited.procs["gateway"]
    with pytest.raises(httpx.TransportError):  # the gateway dies before it answers
        httpx.patch(
            f"{audited.url('gateway')}/v1/enterprises/{uscc}",
            json={"name": "无人应答有限公司"},
            headers={**client.headers, "X-Request-ID": rid},
        )
    wait_until(lambda: proc.poll() is not None, what="the gateway to reach the failpoint")
    assert proc.returncode == -signal.SIGKILL
    audited.start_service("gateway")

    # the registry applied the write; the audit log holds its intent, with no outcome
    assert _registry_name(audited, uscc) == "无人应答有限公司"
    rows = client.get("/v1/audit", params={"request_id": rid}).json()["items"]
    assert [(r["phase"], r["method"], r["status"]) for r in rows] == [("intent", "PATCH", None)]
    report = client.get("/v1/audit/verify").json()
    assert report["ok"] is True and report["unfinished"] >= 1


def test_metrics_are_served_only_to_allowed_addresses(audited: Stack) -> None:
    refused = httpx.get(f"{audited.url('gateway')}/metrics")
    assert_problem(refused, 403, "forbidden")
    assert "http_requests_total" not in refused.text
