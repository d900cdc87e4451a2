"""The registry's public contract, through the gateway, on the real stack."""

from __future__ import annotations

import re

import httpx
import pytest

from deploy.seed import INDUSTRY_WORDS, NAME_WORDS
from tests.helpers import assert_problem, enterprise_body, new_uscc, token


def test_seeded_zones_are_served(api: httpx.Client) -> None:
    # the ten the seed made (other modules add zones of their own to the shared stack)
    zones = [
        z
        for z in api.get("/v1/zones", params={"limit": 500}).json()["items"]
        if re.fullmatch(r"[a-z_]+-(provincial|national)", z["code"])
    ]
    codes = {z["code"]: z for z in zones}
    assert len(zones) == 10
    assert codes["stationery-provincial"]["stage"] == "accepted"
    assert codes["stationery-national"]["level"] == "national"
    assert codes["auto_parts-national"]["phase"] == 3
    assert (
        codes["auto_parts-national"]["acceptance_authority"]["en"] == "National quality authority"
    )
    assert {z["industry"] for z in zones} == {
        "auto_parts",
        "stationery",
        "molds",
        "lighting",
        "hardware",
        "electronics",
        "furniture",
        "outdoor",
    }
    launching = [t for t in codes["molds-provincial"]["tasks"] if t["stage"] == "launching"]
    assert [t["task_code"] for t in launching] == ["survey", "apply_upward", "kickoff_meeting"]
    assert all(t["done_at"] for t in launching)


def test_seeded_agencies_and_enterprises(api: httpx.Client) -> None:
    agencies = {a["code"] for a in api.get("/v1/agencies").json()["items"]}
    assert {"commerce", "ciq", "market_supervision", "finance", "sci_tech", "econ_it"} <= agencies
    page = api.get("/v1/enterprises", params={"limit": 500}).json()
    assert len(page["items"]) >= 300
    assert all(e["uscc"][2:8] == "330226" for e in page["items"])
    # a seeded enterprise (by the seed's naming; other modules add enterprises of their own
    # to the shared stack, and their random USCCs may sort first)
    seeded = re.compile(
        f"^宁海({'|'.join(NAME_WORDS)})({'|'.join(INDUSTRY_WORDS.values())})(股份)?(\\d\\d)?有限公司$"
    )
    surveyed = next(e["uscc"] for e in page["items"] if seeded.match(e["name"]))
    surveys = api.get(f"/v1/enterprises/{surveyed}/surveys").json()["items"]
    assert [s["year"] for s in surveys] == [2019, 2018, 2017]


def test_public_zone_list_needs_no_token(gateway_url: str) -> None:
    codes: list[str] = []
    cursor = None
    while True:
        params = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        response = httpx.get(f"{gateway_url}/v1/public/zones", params=params)
        assert response.status_code == 200 and len(response.json()["items"]) <= 4
        codes += [z["code"] for z in response.json()["items"]]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    assert codes == sorted(codes) and len(codes) == len(set(codes)) >= 10
    assert {"stationery-national", "auto_parts-national"} <= set(codes)


def test_public_zones_show_no_notes_or_user_ids(api: httpx.Client, gateway_url: str) -> None:
    internal = api.get("/v1/zones", params={"limit": 100}).json()["items"]
    done = [t for z in internal for t in z["tasks"] if t["done_at"]]
    assert done and all(t["done_by"] for t in done)  # the internal view keeps who and why
    public = httpx.get(f"{gateway_url}/v1/public/zones", params={"limit": 100})
    assert public.status_code == 200, public.text
    zones = public.json()["items"]
    assert {z["code"] for z in zones} == {z["code"] for z in internal}
    for zone in zones:
        assert set(zone) == {
            "code", "name_zh", "name_en", "industry", "level", "stage", "phase", "plan_start",
            "plan_end", "description", "acceptance_authority", "tasks",
        }  # fmt: skip
        for task in zone["tasks"]:
            assert set(task) == {"stage", "task_code", "title_zh", "title_en", "done_at"}
    seen = {(t["task_code"], t["done_at"]) for z in zones for t in z["tasks"] if t["done_at"]}
    assert seen == {(t["task_code"], t["done_at"]) for t in done}
    for actor in {t["done_by"] for t in done}:
        assert f'"{actor}"' not in public.text


def test_zone_lifecycle(api: httpx.Client) -> None:
    code = f"test-{new_uscc()[-6:].lower()}"
    created = api.post(
        "/v1/zones",
        json={
            "code": code,
            "name_zh": "测试示范区",
            "name_en": "Test zone",
            "industry": "lighting",
            "level": "provincial",
            "phase": 2,
            "plan_start": "2018-03-01",
            "plan_end": "2019-02-28",
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["stage"] == "planned"
    assert created.json()["allowed_transitions"] == ["launching", "revoked"]

    moved = api.post(f"/v1/zones/{code}/transitions", json={"to": "launching", "reason": "启动"})
    assert moved.status_code == 201
    assert moved.json()["from_stage"] == "planned" and moved.json()["actor"] == "demo-admin"

    illegal = api.post(f"/v1/zones/{code}/transitions", json={"to": "accepted"})
    body = assert_problem(illegal, 409, "illegal-transition")
    assert body["allowed"] == ["implementing", "revoked"] and body["current"] == "launching"

    done = api.put(f"/v1/zones/{code}/tasks/survey", json={"done": True, "note": "摸底完成"})
    assert done.status_code == 200 and done.json()["done_by"] == "demo-admin"
    moved = api.post(f"/v1/zones/{code}/transitions", json={"to": "implementing"})
    assert moved.json()["open_tasks"] == ["apply_upward", "kickoff_meeting"]

    assert (
        api.post(f"/v1/zones/{code}/transitions", json={"to": "revoked", "reason": "x"}).status_code
        == 201
    )
    final = api.post(f"/v1/zones/{code}/transitions", json={"to": "launching"})
    assert assert_problem(final, 409, "illegal-transition")["allowed"] == []
    history = api.get(f"/v1/zones/{code}/transitions").json()["items"]
    assert [h["to_stage"] for h in history] == ["launching", "implementing", "revoked"]


def test_zone_bad_input(api: httpx.Client) -> None:
    assert_problem(api.get("/v1/zones/no-such-zone"), 404, "not-found")
    bad = api.post(
        "/v1/zones",
        json={
            "code": "Bad Code",
            "name_zh": "x",
            "name_en": "x",
            "industry": "toys",
            "level": "city",
        },
    )
    fields = {e["field"] for e in assert_problem(bad, 422, "validation")["errors"]}
    assert {"code", "industry", "level"} <= fields
    assert_problem(
        api.post(
            "/v1/zones",
            json={
                "code": "stationery-provincial",
                "name_zh": "x",
                "name_en": "x",
                "industry": "stationery",
                "level": "provincial",
            },
        ),
        409,
        "conflict",
    )
    assert_problem(
        api.post("/v1/zones/no-such-zone/transitions", json={"to": "launching"}), 404, "not-found"
    )
    assert_problem(
        api.post("/v1/zones", content=b"{not json", headers={"content-type": "application/json"}),
        422,
        "validation",
    )


@pytest.mark.parametrize(
    ("uscc", "reason"),
    [
        ("91330226MA2AH0KX8", "18 characters"),
        ("91330226MA2AH0KI8K", "not allowed"),
        ("91330226MA2AH0KO8K", "not allowed"),
        ("91330226MA2AH0KS8K", "not allowed"),
        ("91330226MA2AH0KV8K", "not allowed"),
        ("91330226MA2AH0KZ8K", "not allowed"),
        ("91330226MA2AH0KX8C", "check character"),
    ],
)
def test_invalid_uscc_is_422_naming_field_and_reason(
    api: httpx.Client, uscc: str, reason: str
) -> None:
    response = api.post("/v1/enterprises", json=enterprise_body(uscc))
    body = assert_problem(response, 422, "validation")
    assert body["errors"][0]["field"] == "uscc"
    assert reason in body["errors"][0]["reason"]


def test_enterprise_register_read_update(api: httpx.Client) -> None:
    uscc = new_uscc()
    created = api.post("/v1/enterprises", json=enterprise_body(f"  {uscc.lower()} "))
    assert created.status_code == 201, created.text
    assert created.json()["uscc"] == uscc and created.json()["hs_codes"] == ["940542"]
    etag = created.headers["etag"]

    assert_problem(api.post("/v1/enterprises", json=enterprise_body(uscc)), 409, "conflict")
    got = api.get(f"/v1/enterprises/{uscc}")
    assert got.status_code == 200 and got.headers["etag"] == etag

    stale = api.patch(
        f"/v1/enterprises/{uscc}", json={"employees": 130}, headers={"If-Match": '"999"'}
    )
    assert_problem(stale, 412, "precondition-failed")
    patched = api.patch(
        f"/v1/enterprises/{uscc}",
        json={"employees": 130, "export_markets": ["jp"]},
        headers={"If-Match": etag},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["employees"] == 130 and patched.json()["export_markets"] == ["JP"]
    assert patched.headers["etag"] != etag
    again = api.patch(
        f"/v1/enterprises/{uscc}", json={"employees": 140}, headers={"If-Match": etag}
    )
    assert_problem(again, 412, "precondition-failed")

    assert_problem(api.get(f"/v1/enterprises/{new_uscc()}"), 404, "not-found")
    bad = api.post(
        "/v1/enterprises",
        json=enterprise_body(
            new_uscc(), export_markets=["XX"], products=[{"hs_code": "12", "name": "x"}]
        ),
    )
    fields = {e["field"] for e in assert_problem(bad, 422, "validation")["errors"]}
    assert {"export_markets.0", "products.0.hs_code"} <= fields
    huge = api.post("/v1/enterprises", json=enterprise_body(new_uscc(), annual_export_usd=10**30))
    assert assert_problem(huge, 422, "validation")["errors"][0]["field"] == "annual_export_usd"
    nul = api.post("/v1/enterprises", json=enterprise_body(new_uscc(), address="跃龙\u0000街道"))
    assert_problem(nul, 422, "validation")


def test_enterprise_search_and_paging(api: httpx.Client) -> None:
    seen: list[str] = []
    cursor = None
    for _ in range(3):
        params = {"limit": 7, "industry": "molds"}
        if cursor:
            params["cursor"] = cursor
        page = api.get("/v1/enterprises", params=params).json()
        seen += [e["uscc"] for e in page["items"]]
        assert all(e["industry"] == "molds" for e in page["items"])
        cursor = page["next_cursor"]
    assert len(seen) == 21 and len(set(seen)) == 21 and seen == sorted(seen)
    in_zone = api.get("/v1/enterprises", params={"zone": "molds-provincial", "limit": 500}).json()
    assert in_zone["items"] and all("molds-provincial" in e["zones"] for e in in_zone["items"])
    named = api.get("/v1/enterprises", params={"q": "灯饰"}).json()["items"]
    assert named and all("灯饰" in e["name"] for e in named)
    assert_problem(api.get("/v1/enterprises", params={"cursor": "garbage!"}), 422, "validation")
    assert_problem(api.get("/v1/enterprises", params={"cursor": "Z2FyYmFnZQ"}), 400, "bad-request")
    assert_problem(api.get("/v1/enterprises", params={"q": "a\x00b"}), 422, "validation")
    assert_problem(api.get("/v1/enterprises", params={"limit": 0}), 422, "validation")


def test_membership_and_commitment_flow(api: httpx.Client) -> None:
    uscc = new_uscc()
    api.post("/v1/enterprises", json=enterprise_body(uscc)).raise_for_status()
    applied = api.post("/v1/zones/lighting-provincial/applications", json={"uscc": uscc})
    assert applied.status_code == 201 and applied.json()["status"] == "applied"
    mid = applied.json()["id"]
    dup = api.post("/v1/zones/lighting-provincial/applications", json={"uscc": uscc})
    assert assert_problem(dup, 409, "conflict")["membership_id"] == mid

    no_reason = api.post(f"/v1/memberships/{mid}/decision", json={"decision": "reject"})
    assert_problem(no_reason, 422, "validation")
    wrong = api.post(f"/v1/memberships/{mid}/decision", json={"decision": "suspend", "reason": "x"})
    assert set(assert_problem(wrong, 409, "illegal-transition")["allowed"]) == {
        "assess",
        "admit",
        "reject",
    }
    for decision in ("assess", "admit"):
        assert (
            api.post(f"/v1/memberships/{mid}/decision", json={"decision": decision}).status_code
            == 200
        )
    enterprise = api.get(f"/v1/enterprises/{uscc}").json()
    assert enterprise["zones"] == ["lighting-provincial"]

    signed = api.post(
        f"/v1/enterprises/{uscc}/commitments",
        json={
            "zone_code": "lighting-provincial",
            "signatory": "王伟",
            "signed_on": "2026-11-01",
            "text_version": "2017-v1",
            "text": "质量诚信承诺",
        },
    )
    assert signed.status_code == 201
    import hashlib

    assert signed.json()["text_sha256"] == hashlib.sha256("质量诚信承诺".encode()).hexdigest()
    cid = signed.json()["id"]
    breach = {"severity": "serious", "evidence": "宁商罚〔2026〕1号", "reason": "虚报"}
    breached = api.post(f"/v1/enterprises/{uscc}/commitments/{cid}/breach", json=breach)
    assert breached.status_code == 200 and breached.json()["status"] == "breached"
    assert_problem(
        api.post(f"/v1/enterprises/{uscc}/commitments/{cid}/breach", json=breach),
        409,
        "conflict",
    )

    removed = api.post(
        f"/v1/memberships/{mid}/decision", json={"decision": "remove", "reason": "违反承诺"}
    )
    assert removed.json()["status"] == "removed"
    detail = api.get(f"/v1/memberships/{mid}").json()
    assert [h["to_status"] for h in detail["history"]] == [
        "applied",
        "assessing",
        "admitted",
        "removed",
    ]
    # removal closes the membership: a new application is possible
    assert (
        api.post("/v1/zones/lighting-provincial/applications", json={"uscc": uscc}).status_code
        == 201
    )
    assert_problem(api.post("/v1/zones/nope/applications", json={"uscc": uscc}), 404, "not-found")
    assert_problem(
        api.post("/v1/zones/lighting-provincial/applications", json={"uscc": new_uscc()}),
        404,
        "not-found",
    )


def test_auth_errors(gateway_url: str, api: httpx.Client) -> None:
    no_token = httpx.get(f"{gateway_url}/v1/zones")
    assert_problem(no_token, 401, "unauthorized")
    bad_token = httpx.get(
        f"{gateway_url}/v1/zones", headers={"Authorization": "Bearer abc.def.ghi"}
    )
    assert_problem(bad_token, 401, "unauthorized")
    reader = token(gateway_url, scope="registry:read")
    forbidden = httpx.post(
        f"{gateway_url}/v1/enterprises",
        json=enterprise_body(new_uscc()),
        headers={"Authorization": f"Bearer {reader}"},
    )
    assert assert_problem(forbidden, 403, "forbidden")["required_scope"] == "registry:write"
    wrong_secret = httpx.post(
        f"{gateway_url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "demo-admin",
            "client_secret": "nope",
        },
    )
    # RFC 6749 §5.2 bodies, not problems (tests/e2e/test_oauth.py has the rest)
    assert wrong_secret.status_code == 401 and wrong_secret.json()["error"] == "invalid_client"
    bad_grant = httpx.post(f"{gateway_url}/oauth/token", data={"grant_type": "authorization_code"})
    assert bad_grant.status_code == 400 and bad_grant.json()["error"] == "unsupported_grant_type"


def test_enterprise_bound_client_sees_only_its_own(gateway_url: str, api: httpx.Client) -> None:
    mine, theirs = new_uscc(), new_uscc()
    for u in (mine, theirs):
        api.post("/v1/enterprises", json=enterprise_body(u)).raise_for_status()
    created = api.post(
        "/v1/clients",
        json={
            "client_id": f"ent-{mine.lower()}",
            "name": "企业用户",
            "scopes": ["registry:read", "registry:write"],
            "uscc": mine,
        },
    )
    assert created.status_code == 201 and created.json()["client_secret"]
    listed = api.get("/v1/clients", params={"limit": 500}).json()["items"]
    assert all("client_secret" not in c and "secret_hash" not in c for c in listed)
    ent = token(gateway_url, created.json()["client_id"], created.json()["client_secret"])
    with httpx.Client(base_url=gateway_url, headers={"Authorization": f"Bearer {ent}"}) as client:
        assert client.get(f"/v1/enterprises/{mine}").status_code == 200
        assert_problem(client.get(f"/v1/enterprises/{theirs}"), 403, "forbidden")
        assert [e["uscc"] for e in client.get("/v1/enterprises").json()["items"]] == [mine]
        assert_problem(client.get("/v1/clients"), 403, "forbidden")


def test_idempotency_key(api: httpx.Client) -> None:
    uscc = new_uscc()
    headers = {"Idempotency-Key": f"reg-{uscc}"}
    first = api.post("/v1/enterprises", json=enterprise_body(uscc), headers=headers)
    second = api.post("/v1/enterprises", json=enterprise_body(uscc), headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json() and second.headers.get("idempotent-replayed") == "true"
    different = api.post("/v1/enterprises", json=enterprise_body(new_uscc()), headers=headers)
    assert_problem(different, 422, "idempotency-mismatch")


def test_request_id_is_echoed_and_languages(api: httpx.Client) -> None:
    response = api.get(
        "/v1/zones/nope", headers={"X-Request-ID": "trace-me-123", "Accept-Language": "zh-CN"}
    )
    assert response.headers["x-request-id"] == "trace-me-123"
    assert response.json()["title"] == "资源不存在"
    assert (
        api.get("/v1/zones/nope", headers={"Accept-Language": "en"}).json()["title"] == "Not found"
    )


def test_documents_and_health(gateway_url: str, stack) -> None:  # type: ignore[no-untyped-def]
    doc = httpx.get(f"{gateway_url}/openapi.json").json()
    assert "/v1/enterprises/{uscc}" in doc["paths"] and "/oauth/token" in doc["paths"]
    assert doc["info"]["x-services"]["registry"] == "available"
    events = httpx.get(f"{gateway_url}/asyncapi.json").json()
    assert (
        events["asyncapi"].startswith("3.")
        and "registry_enterprise_registered_v1" in events["channels"]
    )
    assert httpx.get(f"{gateway_url}/livez").status_code == 200
    ready = httpx.get(f"{stack.url('registry')}/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "nats": "ok"}
    metrics = httpx.get(f"{stack.url('registry')}/metrics").text
    assert "http_requests_total" in metrics and "outbox_published_total" in metrics
    # Every worker's requests in every scrape, whichever worker answers it: the count only
    # grows (per-process counters made it jump back and forth between the workers' own).

    def requests_counted() -> float:
        text = httpx.get(f"{gateway_url}/metrics").text
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("http_requests_total{")
        )

    seen = []
    for _ in range(8):
        seen.append(requests_counted())
        assert httpx.get(f"{gateway_url}/openapi.json").status_code == 200  # counted between
    assert seen == sorted(seen) and seen[-1] > seen[0], seen
    unrouted = httpx.get(f"{gateway_url}/v1/programme")  # a path no service serves
    assert unrouted.status_code == 404


def test_patch_with_null_for_a_required_field_is_422(api: httpx.Client) -> None:
    uscc = new_uscc()
    api.post("/v1/enterprises", json=enterprise_body(uscc)).raise_for_status()
    for body in ({"name": None}, {"products": None}, {"export_markets": None}):
        assert (
            "cannot be null"
            in assert_problem(api.patch(f"/v1/enterprises/{uscc}", json=body), 422, "validation")[
                "detail"
            ]
        )
    assert api.patch(f"/v1/enterprises/{uscc}", json={"address": None}).status_code == 200
    assert_problem(
        api.patch("/v1/zones/molds-provincial", json={"name_zh": None}), 422, "validation"
    )


def test_concurrent_writes_never_500(api: httpx.Client, gateway_url: str, admin_token: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    uscc = new_uscc()
    etag = api.post("/v1/enterprises", json=enterprise_body(uscc)).headers["etag"]
    headers = {"Authorization": f"Bearer {admin_token}"}

    def patch(n: int, if_match: str | None) -> int:
        h = {**headers, **({"If-Match": if_match} if if_match else {})}
        return httpx.patch(
            f"{gateway_url}/v1/enterprises/{uscc}", json={"employees": n}, headers=h, timeout=30
        ).status_code

    with ThreadPoolExecutor(8) as pool:
        blind = list(pool.map(lambda n: patch(n, None), range(8)))
        guarded = list(pool.map(lambda n: patch(n, etag), range(8)))
    assert set(blind) == {200}, blind
    assert sorted(guarded).count(200) <= 1 and set(guarded) <= {200, 412}, guarded

    mid = api.post("/v1/zones/lighting-provincial/applications", json={"uscc": uscc}).json()["id"]

    def decide(decision: str) -> int:
        return httpx.post(
            f"{gateway_url}/v1/memberships/{mid}/decision",
            headers=headers,
            timeout=30,
            json={"decision": decision, "reason": "并发"},
        ).status_code

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(decide, ["admit", "reject", "admit", "reject"]))
    assert outcomes.count(200) == 1 and outcomes.count(409) == 3, outcomes
    history = api.get(f"/v1/memberships/{mid}").json()["history"]
    assert len(history) == 2


def test_odd_inputs_are_4xx(gateway_url: str, api: httpx.Client) -> None:
    enterprise_cursor = api.get("/v1/enterprises", params={"limit": 1}).json()["next_cursor"]
    assert_problem(
        api.get("/v1/memberships", params={"cursor": enterprise_cursor}), 400, "bad-request"
    )
    garbage = httpx.post(
        f"{gateway_url}/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic éé".encode()},
    )
    assert garbage.status_code == 401
    nul = httpx.post(
        f"{gateway_url}/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "a\x00b", "client_secret": "x"},
    )
    assert nul.status_code == 401
    sneaky = api.get("/v1/zones/..%2F..%2Fmetrics")
    assert sneaky.status_code == 404 and "http_requests_total" not in sneaky.text
    uscc = new_uscc()
    etag = api.post("/v1/enterprises", json=enterprise_body(uscc)).headers["etag"]
    weak = api.patch(
        f"/v1/enterprises/{uscc}", json={"employees": 1}, headers={"If-Match": f"W/{etag}"}
    )
    assert_problem(weak, 412, "precondition-failed")
    assert_problem(api.get("/v1/memberships/not-a-uuid"), 422, "validation")


def test_common_spellings_are_understood(api: httpx.Client) -> None:
    uscc = new_uscc()
    created = api.post(
        "/v1/enterprises",
        json={
            "uscc": uscc,
            "name": "宁海拼写测试有限公司",
            "industry": "hardware",
            "scale": {"employees": 80, "annual_export_usd": 2_000_000},
            "hs_codes": ["820559", "846729"],
            "products": [{"hs_code": "820559", "name": "手工具"}],
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["employees"] == 80 and body["annual_export_usd"] == 2_000_000
    assert body["hs_codes"] == ["820559", "846729"] and len(body["products"]) == 2
    mid = api.post("/v1/zones/hardware-provincial/applications", json={"uscc": uscc}).json()["id"]
    assert (
        api.post(f"/v1/memberships/{mid}/decision", json={"action": "admit"}).json()["status"]
        == "admitted"
    )
    code = f"spell-{uscc[-6:].lower()}"
    api.post(
        "/v1/zones",
        json={
            "code": code,
            "name_zh": "拼写",
            "name_en": "Spelling",
            "industry": "hardware",
            "level": "provincial",
        },
    ).raise_for_status()
    moved = api.post(f"/v1/zones/{code}/transitions", json={"target": "launching"})
    assert moved.status_code == 201 and moved.json()["to_stage"] == "launching"
