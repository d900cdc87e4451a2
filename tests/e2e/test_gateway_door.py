"""The gateway is the only door: a service answers a request only with the gateway's signed
assertion for that very request (REQUIRE_GATEWAY, on in every launcher stack as in
`make run`), whatever token it carries; probes and Prometheus still reach it."""

from __future__ import annotations

import httpx

from deploy.launcher import Stack
from kit.gateway_assertion import HEADER, REFUSAL
from tests.helpers import (
    as_gateway,
    assert_problem,
    enterprise_body,
    gateway_signer,
    new_uscc,
    sql,
)


def _audited(stack: Stack, uscc: str) -> int:
    return int(
        sql(
            stack,
            "gateway",
            "SELECT count(*) FROM audit_log WHERE method = 'PATCH' AND path = $1",
            f"/v1/enterprises/{uscc}",
        )[0][0]
    )


def _refused(response: httpx.Response) -> None:
    problem = assert_problem(response, 401, "unauthorized")
    assert problem["detail"] == REFUSAL, problem
    assert response.headers["www-authenticate"].startswith("GatewayAssertion")


def test_a_write_straight_to_a_service_port_is_refused_and_through_the_gateway_is_not(
    stack: Stack, api: httpx.Client, admin_token: str
) -> None:
    uscc = new_uscc()
    api.post("/v1/enterprises", json=enterprise_body(uscc)).raise_for_status()
    bearer = {"Authorization": f"Bearer {admin_token}"}
    registry = stack.url("registry")
    direct = httpx.patch(f"{registry}/v1/enterprises/{uscc}", json={"employees": 7}, headers=bearer)
    _refused(direct)
    assert api.get(f"/v1/enterprises/{uscc}").json()["employees"] != 7
    assert _audited(stack, uscc) == 0

    through = api.patch(f"/v1/enterprises/{uscc}", json={"employees": 8})
    assert through.status_code == 200, through.text
    assert through.json()["employees"] == 8
    assert _audited(stack, uscc) >= 1
    # reads too, and on every service
    for name, path in (
        ("registry", "/v1/zones"),
        ("credit", f"/v1/credit/enterprises/{uscc}"),
        ("inspection", "/v1/tasks"),
        ("notify", "/v1/subscriptions"),
    ):
        _refused(httpx.get(f"{stack.url(name)}{path}", headers=bearer))


def test_forged_expired_replayed_and_misdirected_assertions_are_refused(
    stack: Stack, admin_token: str
) -> None:
    bearer = {"Authorization": f"Bearer {admin_token}"}
    registry = stack.url("registry")
    uscc = new_uscc()
    target = f"/v1/enterprises/{uscc}"
    # signed for GET /x, used for PATCH /y
    for_a_read = as_gateway(stack, "GET", "/v1/zones")
    _refused(httpx.patch(f"{registry}{target}", json={}, headers=bearer | for_a_read))
    # the request id it names is not this request's
    other_id = as_gateway(stack, "GET", "/v1/zones") | {"X-Request-ID": "someone-else"}
    _refused(httpx.get(f"{registry}/v1/zones", headers=bearer | other_id))
    # another query than the one signed
    signed = as_gateway(stack, "GET", "/v1/zones?limit=1")
    _refused(httpx.get(f"{registry}/v1/zones?limit=100", headers=bearer | signed))
    # the caller's token where the assertion goes
    _refused(httpx.get(f"{registry}/v1/zones", headers=bearer | {HEADER: admin_token}))
    # forged: the right shape, another key
    from gateway.auth.tokens import Signer, new_private_key_pem

    real = as_gateway(stack, "GET", "/v1/zones")
    kid = gateway_signer(stack).kid
    forger = Signer(new_private_key_pem(), issuer="zone-gateway", audience="", ttl_s=0)
    forger.kid = kid  # claims the platform's key id
    forged = forger.assertion(method="GET", target="/v1/zones", request_id=real["X-Request-ID"])
    _refused(httpx.get(f"{registry}/v1/zones", headers=bearer | real | {HEADER: forged}))
    # a good one works once per process; the service's own checks still apply after it
    ok = httpx.get(f"{registry}/v1/zones", headers=bearer | real)
    assert ok.status_code == 200, ok.text
    anonymous = httpx.get(f"{registry}/v1/zones", headers=as_gateway(stack, "GET", "/v1/zones"))
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")  # the token's refusal


def test_a_callers_own_assertion_header_is_not_passed_on(
    stack: Stack, api: httpx.Client, admin_token: str
) -> None:
    planted = as_gateway(stack, "GET", "/v1/zones")
    # the gateway replaces it with its own for this request: still a 200
    assert api.get("/v1/zones", headers=planted).status_code == 200


def test_probes_and_metrics_still_reach_services_directly(stack: Stack) -> None:
    for name in ("registry", "credit", "inspection", "notify"):
        base = stack.url(name)
        assert httpx.get(f"{base}/livez").status_code == 200, name
        assert httpx.get(f"{base}/readyz").status_code == 200, name
        assert httpx.get(f"{base}/metrics").status_code == 200, name
