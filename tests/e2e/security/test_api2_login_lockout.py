"""OWASP API2:2023 Broken Authentication, login-failure handling (等保 2.0 登录失败处理).

What counts: a wrong secret or password for an account (a client id or a user name), from
one source address (the connection's peer; no proxy is trusted here). Five in the window
lock that account from that address; twenty from all addresses lock it from everywhere.
Other addresses are reached from the loopback's other addresses (127.0.0.2 …). Expiry is
shown by moving a lock's end into the past, as the passing of 15 minutes would, not by
waiting for it.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.helpers import office_user, sql

PASSWORD = "a-long-lockout-password"
LOCKED_OUT = 5  # GATEWAY_LOGIN_MAX_FAILURES, the default


def _grant(gateway_url: str, form: dict[str, str], via: str = "127.0.0.1") -> httpx.Response:
    transport = httpx.HTTPTransport(local_address=via)
    with httpx.Client(base_url=gateway_url, transport=transport, timeout=30) as client:
        return client.post("/oauth/token", data=form)


def _client_form(client_id: str, secret: str) -> dict[str, str]:
    return {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}


def _password_form(username: str, password: str) -> dict[str, str]:
    return {"grant_type": "password", "username": username, "password": password}


def _answer(response: httpx.Response) -> tuple[int, dict[str, Any], str | None]:
    """What a caller can tell apart: status, body (but its request id), challenge."""
    body = {k: v for k, v in response.json().items() if k not in ("request_id", "instance")}
    return response.status_code, body, response.headers.get("www-authenticate")


def _new_client(admin: httpx.Client) -> tuple[str, str]:
    created = admin.post(
        "/v1/clients",
        json={
            "client_id": f"lock-{uuid.uuid4().hex[:10]}",
            "name": "lockout test",
            "scopes": ["registry:read"],
        },
    )
    assert created.status_code == 201, created.text
    return created.json()["client_id"], created.json()["client_secret"]


def _locks(admin: httpx.Client, account: str) -> list[tuple[str | None, int]]:
    items = admin.get("/v1/lockouts", params={"limit": 500}).json()["items"]
    return sorted(
        ((lock["source"], lock["failures"]) for lock in items if lock["account"] == account),
        key=str,
    )


def test_five_wrong_secrets_lock_the_client_from_that_address_only(
    stack: Any, gateway_url: str, admin: httpx.Client
) -> None:
    (client_id, secret), (other_id, other_secret) = _new_client(admin), _new_client(admin)
    wrong = [
        _grant(gateway_url, _client_form(client_id, f"wrong-secret-{i}")) for i in range(LOCKED_OUT)
    ]
    assert {r.status_code for r in wrong} == {401}
    assert wrong[0].json()["error"] == "invalid_client"

    right = _grant(gateway_url, _client_form(client_id, secret))
    assert _answer(right) == _answer(wrong[0]), "a locked account answers as a wrong secret"
    unknown = _grant(gateway_url, _client_form(f"{client_id}-nobody", "whatever-secret"))
    assert _answer(unknown) == _answer(wrong[0])
    # another account from the same address, the same account from another address
    assert _grant(gateway_url, _client_form(other_id, other_secret)).status_code == 200
    elsewhere = _grant(gateway_url, _client_form(client_id, secret), via="127.0.0.2")
    assert elsewhere.status_code == 200

    account = f"client:{client_id}"
    assert _locks(admin, account) == [("127.0.0.1", LOCKED_OUT)]
    audited = admin.get("/v1/audit", params={"outcome": "locked", "limit": 500}).json()["items"]
    assert [e["status"] for e in audited if e["object_key"] == account] == [401]

    # 15 minutes later (the lock's end moved into the past): the right secret works again
    sql(
        stack,
        "gateway",
        "UPDATE login_failures SET locked_until = now() - interval '1 second' WHERE account = $1",
        account,
    )
    assert _grant(gateway_url, _client_form(client_id, secret)).status_code == 200
    assert _locks(admin, account) == []


def test_failures_from_many_addresses_lock_the_account_everywhere(
    gateway_url: str, admin: httpx.Client
) -> None:
    client_id, secret = _new_client(admin)
    for host in range(2, 6):  # 4 addresses × 5 = GATEWAY_LOGIN_MAX_ACCOUNT_FAILURES (20)
        for i in range(LOCKED_OUT):
            answer = _grant(gateway_url, _client_form(client_id, f"no-{i}"), via=f"127.0.0.{host}")
            assert answer.status_code == 401
    assert _grant(gateway_url, _client_form(client_id, secret), via="127.0.0.9").status_code == 401
    assert (None, 20) in _locks(admin, f"client:{client_id}")


def _dashboard_sign_in(gateway_url: str, username: str, password: str) -> httpx.Response:
    with httpx.Client(base_url=gateway_url, follow_redirects=False, timeout=30) as browser:
        browser.get("/dashboard/login")
        return browser.post(
            "/dashboard/login",
            data={
                "username": username,
                "password": password,
                "csrf": browser.cookies["zone_dashboard_login"],
            },
        )


def test_an_administrator_unlocks_a_user_and_the_unlock_is_audited(
    gateway_url: str, admin: httpx.Client
) -> None:
    username = office_user(admin, PASSWORD)
    wrong = [
        _grant(gateway_url, _password_form(username, f"not-the-password-{i}"))
        for i in range(LOCKED_OUT)
    ]
    assert {r.status_code for r in wrong} == {400}  # RFC 6749 §5.2
    assert wrong[0].json()["error"] == "invalid_grant"
    assert _answer(_grant(gateway_url, _password_form(username, PASSWORD))) == _answer(wrong[0])
    page = _dashboard_sign_in(gateway_url, username, PASSWORD)
    assert page.status_code == 200 and "用户名或密码错误" in page.text  # the generic message

    account = f"user:{username}"
    assert admin.delete(f"/v1/lockouts/{account}").status_code == 204
    assert admin.delete(f"/v1/lockouts/{account}").status_code == 404  # no longer locked
    assert _grant(gateway_url, _password_form(username, PASSWORD)).status_code == 200
    assert _dashboard_sign_in(gateway_url, username, PASSWORD).status_code == 303

    audited = admin.get("/v1/audit", params={"method": "DELETE", "limit": 500}).json()["items"]
    unlocks = [e for e in audited if e["path"] == f"/v1/lockouts/{account}"]
    assert ("demo-admin", 204, account) in [
        (e["actor"], e["status"], e["object_key"]) for e in unlocks
    ]

    reader_id, reader_secret = _new_client(admin)  # not an administrator
    bearer = _grant(gateway_url, _client_form(reader_id, reader_secret)).json()["access_token"]
    with httpx.Client(
        base_url=gateway_url, headers={"Authorization": f"Bearer {bearer}"}, timeout=30
    ) as reader:
        assert reader.get("/v1/lockouts").status_code == 403
        assert reader.delete(f"/v1/lockouts/{account}").status_code == 403
