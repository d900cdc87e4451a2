"""Problems a Chinese user can act on (#23, parts 2 and 3), through the gateway.

Each kind of bad input, sent with `Accept-Language: zh-CN` (as a browser sends it), answers
a problem whose `detail` and every `errors[].reason` are Chinese, with `Content-Language:
zh-CN`; the same request in English reads as it always did. Malformed is 422, absent is 404:
a malformed USCC or zone code in a path is a 422 saying why, a well-formed unknown one a 404;
a filter naming a value its closed vocabulary lacks (a zone the registry does not hold, a
level, a status, an industry) is a 422 listing what is allowed, not an empty page."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest

from deploy.launcher import Stack
from gateway.auth.tokens import Signer
from tests.helpers import (
    assert_problem,
    enterprise_body,
    gateway_key_pem,
    new_uscc,
    wait_until,
)

CJK = re.compile(r"[\u4e00-\u9fff]")
ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}
EN = {"Accept-Language": "en"}
SEEDED_ZONE = "lighting-provincial"


def _wrong_check(uscc: str) -> str:
    """`uscc` with another, wrong check character."""
    return uscc[:17] + ("0" if uscc[17] != "0" else "1")


def chinese(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    """A problem in Chinese: the detail and every reason hold Chinese, not English alone."""
    body = assert_problem(response, status, slug)
    assert response.headers["content-language"] == "zh-CN"
    assert CJK.search(body["title"]) and CJK.search(body["detail"]), body
    for error in body.get("errors", []):
        assert CJK.search(error["reason"]), body
        assert "reason_zh" not in error
    return body


def english(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    """The same problem in English: no Chinese in the detail or the reasons."""
    body = assert_problem(response, status, slug)
    assert response.headers["content-language"] == "en"
    assert not CJK.search(body["detail"]), body
    for error in body.get("errors", []):
        assert not CJK.search(error["reason"]) and "reason_zh" not in error, body
    return body


@pytest.fixture(scope="module")
def anon(gateway_url: str) -> Iterator[httpx.Client]:
    """A client without a token."""
    with httpx.Client(base_url=gateway_url, timeout=30) as client:
        yield client


def _both(send: Any, status: int, slug: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return chinese(send(ZH), status, slug), english(send(EN), status, slug)


# --- part 2: each kind of bad input, in Chinese and in English ------------------------


def test_a_missing_field(admin: httpx.Client) -> None:
    body = {k: v for k, v in enterprise_body(new_uscc()).items() if k != "name"}
    zh, en = _both(lambda h: admin.post("/v1/enterprises", json=body, headers=h), 422, "validation")
    assert zh["errors"] == [{"field": "name", "reason": "名称为必填项", "type": "missing"}]
    assert en["errors"] == [{"field": "name", "reason": "Field required", "type": "missing"}]


def test_a_wrong_type(admin: httpx.Client) -> None:
    body = enterprise_body(new_uscc(), employees="many")
    zh, en = _both(lambda h: admin.post("/v1/enterprises", json=body, headers=h), 422, "validation")
    assert zh["errors"][0]["reason"] == "从业人数必须是整数"
    assert en["errors"][0]["reason"].startswith("Input should be a valid integer")


def test_a_value_out_of_range(admin: httpx.Client) -> None:
    zh, en = _both(
        lambda h: admin.get("/v1/enterprises", params={"limit": 501}, headers=h), 422, "validation"
    )
    assert zh["detail"] == "每页条数必须小于或等于 500"
    assert en["errors"][0]["reason"] == "Input should be less than or equal to 500"


def test_a_bad_enum_lists_what_is_allowed(admin: httpx.Client) -> None:
    zh, en = _both(
        lambda h: admin.get("/v1/enterprises", params={"industry": "toys"}, headers=h),
        422,
        "validation",
    )
    assert zh["errors"][0]["reason"].startswith("行业的取值无效，可选值：")
    assert "'lighting'" in zh["errors"][0]["reason"]
    assert en["errors"][0]["reason"].startswith("Input should be")


def test_a_wrong_uscc_check_character_in_a_body(admin: httpx.Client) -> None:
    uscc = new_uscc()
    body = enterprise_body(_wrong_check(uscc))
    zh, en = _both(lambda h: admin.post("/v1/enterprises", json=body, headers=h), 422, "validation")
    assert zh["errors"][0]["reason"] == (
        f"统一社会信用代码无效：校验码错误：第 18 位应为 {uscc[17]}，实际为 {_wrong_check(uscc)[17]}"
    )
    assert "check character is wrong" in en["errors"][0]["reason"]


def test_an_expired_or_invalid_token(anon: httpx.Client, stack: Stack) -> None:
    signer = Signer(gateway_key_pem(stack), issuer="zone-gateway", audience="", ttl_s=0)
    now = int(time.time())
    claims = {"iss": "zone-gateway", "aud": "zone-platform", "sub": "demo-admin"}
    expired = jwt.encode(
        {**claims, "iat": now - 600, "exp": now - 60, "scope": "registry:read"},
        signer._key,
        algorithm="EdDSA",
        headers={"kid": signer.kid},
    )
    for bearer, zh_text, en_text in [
        (expired, "访问令牌已过期", "token has expired"),
        ("not-a-jwt", "不是格式正确的 JWT", "not a well-formed JWT"),
    ]:
        auth = {"Authorization": f"Bearer {bearer}"}
        zh, en = _both(
            lambda h, auth=auth: anon.get("/v1/enterprises", headers={**auth, **h}),
            401,
            "unauthorized",
        )
        assert zh_text in zh["detail"] and en_text in en["detail"]
    zh, en = _both(lambda h: anon.get("/v1/enterprises", headers=h), 401, "unauthorized")
    assert zh["detail"].startswith("需要请求头") and en["detail"].startswith("an 'Authorization")


def test_an_unknown_path(admin: httpx.Client) -> None:
    zh, en = _both(lambda h: admin.get("/v1/no-such-thing", headers=h), 404, "not-found")
    assert zh["detail"] == "路径不存在：/v1/no-such-thing"
    assert en["detail"] == "no such path: /v1/no-such-thing"


def test_a_method_not_allowed(admin: httpx.Client) -> None:
    zh, en = _both(lambda h: admin.delete("/v1/enterprises", headers=h), 405, "method-not-allowed")
    assert zh["detail"].startswith("此处不支持 DELETE 方法；可用：")
    assert en["detail"].startswith("DELETE is not allowed here")


def test_a_body_over_the_limit(admin: httpx.Client) -> None:
    big = b'{"name": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    zh, en = _both(
        lambda h: admin.post(
            "/v1/enterprises", content=big, headers={"Content-Type": "application/json", **h}
        ),
        413,
        "payload-too-large",
    )
    assert zh["detail"].startswith("请求体超过")
    assert en["detail"].startswith("request body exceeds")


def test_a_domain_problem_in_both_languages(admin: httpx.Client) -> None:
    uscc = new_uscc()
    zh, en = _both(lambda h: admin.get(f"/v1/enterprises/{uscc}", headers=h), 404, "not-found")
    assert zh["detail"] == f"企业“{uscc}”不存在"
    assert en["detail"] == f"enterprise '{uscc}' does not exist"


def test_a_rule_past_the_schema_names_its_field_in_chinese(admin: httpx.Client) -> None:
    """`kit.problems.invalid()`: the Chinese detail names the field by its label
    (kit.problem_text.FIELD_LABELS), the English by its name, as before."""
    body = {
        "code": "lighting-phase-nine",
        "name_zh": "出口灯具质量安全示范区（第九阶段）",
        "name_en": "Lighting zone (phase nine)",
        "industry": "lighting",
        "level": "provincial",
        "phase": 9,  # the work plan has three
    }
    zh, en = _both(lambda h: admin.post("/v1/zones", json=body, headers=h), 422, "validation")
    assert zh["detail"].startswith("阶段：应为工作方案中的阶段之一") and "phase" not in zh["detail"]
    assert en["detail"].startswith("phase: ")
    assert zh["errors"][0]["field"] == en["errors"][0]["field"] == "phase"


# --- part 3: malformed is 422, absent is 404 -----------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/v1/enterprises/{bad}",
        "/v1/enterprises/{bad}/surveys",
        "/v1/enterprises/{bad}/commitments",
        "/v1/credit/enterprises/{bad}",
        "/v1/credit/enterprises/{bad}/history",
        "/v1/enterprises/{bad}/profile",  # the gateway's own composite
    ],
)
def test_a_malformed_uscc_in_a_path_is_a_422_saying_why(admin: httpx.Client, path: str) -> None:
    uscc = new_uscc()
    for bad, why in [("12345", "应为 18 位"), (_wrong_check(uscc), "校验码错误")]:
        body = chinese(admin.get(path.format(bad=bad), headers=ZH), 422, "validation")
        assert body["errors"][0]["field"] == "path.uscc" and why in body["errors"][0]["reason"]
    # lower case is the same code, not a typo
    assert admin.get(path.format(bad=uscc.lower())).status_code in (200, 404)


def test_a_well_formed_unknown_uscc_in_a_path_is_a_404(admin: httpx.Client) -> None:
    uscc = new_uscc()
    assert_problem(admin.get(f"/v1/enterprises/{uscc}"), 404, "not-found")
    known = new_uscc()
    admin.post("/v1/enterprises", json=enterprise_body(known)).raise_for_status()
    assert admin.get(f"/v1/enterprises/{known.lower()}").json()["uscc"] == known


def test_zone_codes_in_paths(admin: httpx.Client) -> None:
    body = chinese(admin.get("/v1/zones/Toys Zone!", headers=ZH), 422, "validation")
    assert body["errors"][0]["field"] == "path.code"
    english(admin.get("/v1/zones/Toys Zone!", headers=EN), 422, "validation")
    body = chinese(admin.get("/v1/zones/toys-provincial", headers=ZH), 404, "not-found")
    assert body["detail"] == "示范区“toys-provincial”不存在"
    assert admin.get(f"/v1/zones/{SEEDED_ZONE}").status_code == 200
    assert_problem(admin.get("/v1/zones/Bad!/applications"), 422, "validation")


@pytest.mark.parametrize(
    "path",
    [
        "/v1/enterprises",
        "/v1/memberships",
        "/v1/standards",
        "/v1/trainings",
        "/v1/awards",
        # inspection's, against the zones registry announced
        "/v1/directory",
        "/v1/risk/alerts",
        "/v1/risk/kpis",
    ],
)
def test_an_unknown_zone_in_a_filter_is_a_422_listing_the_zones(
    admin: httpx.Client, path: str
) -> None:
    wait_until(  # the seed's zones reach inspection as events
        lambda: admin.get(path, params={"zone": SEEDED_ZONE}).status_code == 200,
        timeout=60,
        what=f"{path} to know {SEEDED_ZONE}",
    )
    zh = chinese(admin.get(path, params={"zone": "toys-provincial"}, headers=ZH), 422, "validation")
    (error,) = zh["errors"]
    assert error["field"] == "query.zone" and error["type"] == "unknown_value"
    assert SEEDED_ZONE in error["allowed"] and "toys-provincial" not in error["allowed"]
    assert error["reason"].startswith("没有此示范区“toys-provincial”；可选值：")
    assert zh["detail"].startswith("示范区：没有此示范区")  # the field by its label, not `zone`
    en = english(admin.get(path, params={"zone": "toys-provincial"}, headers=EN), 422, "validation")
    assert en["errors"][0]["reason"].startswith("no such zone 'toys-provincial'; allowed: ")
    assert admin.get(path, params={"zone": SEEDED_ZONE}).status_code == 200
    assert_problem(admin.get(path, params={"zone": "Bad Zone"}), 422, "validation")


def test_a_zone_just_planned_is_known_to_inspection_s_filters(admin: httpx.Client) -> None:
    code = f"toys-{new_uscc()[-8:].lower()}"
    assert_problem(admin.get("/v1/risk/alerts", params={"zone": code}), 422, "validation")
    planned = admin.post(
        "/v1/zones",
        json={
            "code": code,
            "name_zh": "玩具出口质量安全示范区",
            "name_en": "Toys export quality zone",
            "industry": "stationery",
            "level": "provincial",
        },
    )
    assert planned.status_code == 201, planned.text
    wait_until(  # announced as registry.zone.registered, before any enterprise joins
        lambda: admin.get("/v1/risk/alerts", params={"zone": code}).status_code == 200,
        timeout=60,
        what="inspection to learn the zone",
    )
    assert admin.get("/v1/directory", params={"zone": code}).json()["items"] == []


@pytest.mark.parametrize(
    ("path", "name", "value", "allowed"),
    [
        ("/v1/enterprises", "level", "E", "'A'、'B'、'C'、'D'"),
        ("/v1/directory", "level", "E", "'A'、'B'、'C'、'D'"),
        ("/v1/tasks", "status", "done", "'open'、'completed'、'cancelled'"),
        ("/v1/capas", "status", "done", "'open'、'responded'、'closed'"),
        ("/v1/credit/repairs", "status", "done", "'pending'、'approved'、'rejected'"),
        ("/v1/enterprises", "industry", "toys", "'lighting'"),
    ],
)
def test_an_unknown_closed_vocabulary_value_is_a_422_listing_the_allowed(
    admin: httpx.Client, path: str, name: str, value: str, allowed: str
) -> None:
    body = chinese(admin.get(path, params={name: value}, headers=ZH), 422, "validation")
    (error,) = body["errors"]
    assert error["field"] == f"query.{name}" and allowed in error["reason"]


# --- checks: the merged API document describes every name field ------------------------


def test_the_merged_api_document_describes_every_name_field(admin: httpx.Client) -> None:
    """Every `*_name` and `*_name_zh|en` property of every schema in the gateway's merged
    OpenAPI document (a code's name from kit.vocabulary beside the code, a contact's name)
    says what it is, so a client knows which to show."""
    schemas = admin.get("/openapi.json").json()["components"]["schemas"]
    pattern = re.compile(r"._name(_zh|_en)?$")
    named, undescribed = [], []
    for schema, body in schemas.items():
        for prop, spec in (body.get("properties") or {}).items():
            if pattern.search(prop):
                named.append(f"{schema}.{prop}")
                if not spec.get("description"):
                    undescribed.append(f"{schema}.{prop}")
    assert any(n.endswith(".level_name_zh") for n in named), named
    assert any(n.endswith(".industry_name_en") for n in named), named
    assert undescribed == []
