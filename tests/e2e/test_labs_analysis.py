"""The public testing platform and the published quality analysis, through the gateway.

Labs with accreditation (CNAS/CMA, scope, validity) managed by the office; an enterprise's
test requests refused for a missing scope or an expired accreditation; a failed result
becoming a risk signal matched to its batch and an alert, a passed one not; each state
change an event; enterprises seeing only their own requests. Then a quarter's
figures for an industry from data the test creates (random checks, notifications, returns,
exports, CAPAs), published once, and read without a token.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest

from deploy.launcher import Stack
from kit.validation import CHINA
from services.inspection.analysis.quarters import Quarter
from tests.helpers import (
    assert_problem,
    client_for,
    enterprise_body,
    new_uscc,
    png,
    record_and_confirm,
    sql,
    stream_events,
    wait_until,
)

WRITE = ["inspection:read", "inspection:write"]
POLES = "EN ISO 20957-1"


def _cnas() -> str:
    return f"CNAS L{uuid.uuid4().int % 10**6:06d}"


def _lab(admin: httpx.Client, **extra: Any) -> dict[str, Any]:
    today = datetime.now(CHINA).date()
    body = {
        "name": f"宁海检测中心{uuid.uuid4().hex[:4]}",
        "cnas_number": _cnas(),
        "agency": "ciq",
        "scope": [
            {"hs_prefix": "9405", "standard": "GB 7000.1", "title": "灯具安全"},
            {"product": "运动杖", "standard": POLES},
        ],
        "valid_from": str(today - timedelta(days=365)),
        "valid_to": str(today + timedelta(days=365)),
        **extra,
    }
    created = admin.post("/v1/labs", json=body)
    assert created.status_code == 201, created.text
    return created.json()  # type: ignore[no-any-return]


def _enterprise(admin: httpx.Client, industry: str = "lighting") -> str:
    uscc = new_uscc()
    body = enterprise_body(uscc, industry=industry)
    admin.post("/v1/enterprises", json=body).raise_for_status()
    return uscc


def _batch(admin: httpx.Client, stack: Stack, uscc: str, **fields: Any) -> dict[str, Any]:
    """An export batch, once inspection's mirror has it (requests and signals name it)."""
    created = admin.post(
        "/v1/batches",
        json={"uscc": uscc, "number": f"NB-{uuid.uuid4().hex[:8].upper()}", **fields},
    )
    assert created.status_code == 201, created.text
    batch = created.json()
    wait_until(
        lambda: sql(
            stack, "inspection", "SELECT 1 FROM batches WHERE id = $1", uuid.UUID(batch["id"])
        ),
        what="inspection's mirror of the batch",
    )
    return batch  # type: ignore[no-any-return]


def test_labs_are_the_offices_to_manage(admin: httpx.Client, gateway_url: str) -> None:
    seeded = admin.get("/v1/labs", params={"hs_code": "940542", "standard": "GB 7000.1-2015"})
    assert seeded.status_code == 200
    assert "CNAS L1234" in {lab["cnas_number"] for lab in seeded.json()["items"]}

    lab = _lab(admin, cnas_number=_cnas().replace(" ", ""), cma_number=None)
    assert lab["cnas_number"].startswith("CNAS L") and lab["valid_today"] is True
    got = admin.get(f"/v1/labs/{lab['id']}")
    assert got.json() == lab and got.headers["etag"] == '"1"'
    found = admin.get("/v1/labs", params={"hs_code": "950699", "standard": POLES, "limit": 500})
    assert lab["id"] not in {x["id"] for x in found.json()["items"]}  # a product by name only
    ids: set[str] = set()
    cursor: str | None = None
    while True:  # every page of the scope search (it pages by id after matching)
        found = admin.get(
            "/v1/labs",
            params={
                "hs_code": "940510",
                "standard": "GB 7000.1-2015",
                "limit": 1,
                **({"cursor": cursor} if cursor else {}),
            },
        ).json()
        assert len(found["items"]) <= 1 and not ids & {x["id"] for x in found["items"]}
        ids |= {x["id"] for x in found["items"]}
        if not (cursor := found["next_cursor"]):
            break
    assert lab["id"] in ids
    nothing = admin.get("/v1/labs", params={"standard": "ASTM F963-17"}).json()
    assert nothing == {"items": [], "next_cursor": None}

    # the same CNAS number twice is a conflict; a lab without any number is refused
    twin = admin.post(
        "/v1/labs",
        json={
            **{k: lab[k] for k in ("name", "scope", "valid_from", "valid_to")},
            "cnas_number": lab["cnas_number"],
        },
    )
    assert_problem(twin, 409, "conflict")
    bare = {k: lab[k] for k in ("name", "scope", "valid_from", "valid_to")}
    assert_problem(admin.post("/v1/labs", json=bare), 422, "validation")
    # the operating agency is a member agency registry announced (404 like registry's own
    # references); one registry adds later is known here within moments; a lab's operator is
    # not changed by PATCH
    stranger = {**bare, "cnas_number": _cnas(), "agency": "nosuch"}
    refused = assert_problem(admin.post("/v1/labs", json=stranger), 404, "not-found")
    assert "nosuch" in refused["detail"] and refused["resource"] == "agency"
    newcomer = f"lab_agency_{uuid.uuid4().hex[:6]}"
    added = admin.post(
        "/v1/agencies", json={"code": newcomer, "name_zh": "县检测中心", "name_en": "Test centre"}
    )
    assert added.status_code == 201, added.text

    def operated_by_newcomer() -> httpx.Response | None:
        answer = admin.post("/v1/labs", json={**bare, "cnas_number": _cnas(), "agency": newcomer})
        return answer if answer.status_code == 201 else None

    operated = wait_until(
        operated_by_newcomer, timeout=30, interval=0.5, what="the new agency known to inspection"
    )
    assert operated.json()["agency"] == newcomer
    moved = admin.patch(f"/v1/labs/{lab['id']}", json={"agency": "nosuch"})
    assert [e["field"] for e in assert_problem(moved, 422, "validation")["errors"]] == ["agency"]
    unnamed = {**bare, "cma_number": "201511009999", "scope": [{"standard": "GB 7000.1"}]}
    assert "hs_prefix or product" in str(
        assert_problem(admin.post("/v1/labs", json=unnamed), 422, "validation")
    )

    # renewal with If-Match; a stale ETag is refused
    stale = admin.patch(
        f"/v1/labs/{lab['id']}", json={"valid_to": "2031-12-31"}, headers={"If-Match": '"9"'}
    )
    assert_problem(stale, 412, "precondition-failed")
    renewed = admin.patch(
        f"/v1/labs/{lab['id']}", json={"valid_to": "2031-12-31"}, headers={"If-Match": '"1"'}
    )
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["valid_to"] == "2031-12-31" and renewed.json()["version"] == 2
    backwards = admin.patch(f"/v1/labs/{lab['id']}", json={"valid_to": "2000-01-01"})
    assert_problem(backwards, 422, "validation")
    assert_problem(
        admin.patch(f"/v1/labs/{uuid.uuid4()}", json={"active": False}), 404, "not-found"
    )

    # agencies and enterprises read labs, only the office registers them
    with client_for(admin, gateway_url, WRITE, agency="ciq") as ciq:
        assert ciq.get(f"/v1/labs/{lab['id']}").status_code == 200
        assert_problem(ciq.post("/v1/labs", json=bare), 403, "forbidden")
        assert_problem(ciq.patch(f"/v1/labs/{lab['id']}", json={"active": False}), 403, "forbidden")


def test_test_requests_from_scope_to_risk_signal_and_credit(
    admin: httpx.Client, gateway_url: str, stack: Stack
) -> None:
    maker = _enterprise(admin)
    other = _enterprise(admin)
    tag = uuid.uuid4().hex[:6].upper()
    batch = _batch(
        admin,
        stack,
        maker,
        product="LED 吸顶灯",
        hs_code="940542",
        destination="US",
        declaration_no=f"3101{tag}02",
        ship_date=str(date.today() - timedelta(days=2)),
        export_value_usd=500_000,
    )
    lab = _lab(admin)
    today = datetime.now(CHINA).date()
    expired = _lab(
        admin,
        valid_from=str(today - timedelta(days=800)),
        valid_to=str(today - timedelta(days=1)),
    )
    assert expired["valid_today"] is False
    mine = client_for(admin, gateway_url, WRITE, uscc=maker)
    theirs = client_for(admin, gateway_url, WRITE, uscc=other)
    ciq = client_for(admin, gateway_url, WRITE, agency="ciq")
    samr = client_for(admin, gateway_url, WRITE, agency="market_supervision")
    with mine, theirs, ciq, samr:
        body = {"lab_id": lab["id"], "batch_id": batch["id"], "standard": "GB 7000.1-2015"}

        # not accredited for the product and standard: 422 naming the missing scope
        refused = mine.post("/v1/test-requests", json={**body, "standard": "EN 60598-1:2015"})
        problem = assert_problem(refused, 422, "validation")
        assert problem["errors"][0]["field"] == "standard"
        assert "EN 60598-1:2015" in problem["detail"] and "HS 940542" in problem["detail"]
        assert problem["missing_scope"] == {
            "hs_code": "940542",
            "product": "LED 吸顶灯",
            "standard": "EN 60598-1:2015",
        }
        lapsed = mine.post("/v1/test-requests", json={**body, "lab_id": expired["id"]})
        assert "expired on" in assert_problem(lapsed, 422, "validation")["detail"]
        mismatch = mine.post("/v1/test-requests", json={**body, "hs_code": "950699"})
        assert assert_problem(mismatch, 422, "validation")["errors"][0]["field"] == "hs_code"
        unknown = mine.post("/v1/test-requests", json={**body, "batch_id": str(uuid.uuid4())})
        assert_problem(unknown, 404, "not-found")
        assert_problem(theirs.post("/v1/test-requests", json=body), 403, "forbidden")
        # an agency does not request tests in an enterprise's name (the office may)
        assert_problem(samr.post("/v1/test-requests", json=body), 403, "forbidden")
        assert_problem(ciq.post("/v1/test-requests", json=body), 403, "forbidden")

        created = mine.post("/v1/test-requests", json=body)
        assert created.status_code == 201, created.text
        failing = created.json()
        assert failing["status"] == "requested" and failing["uscc"] == maker
        assert failing["batch_number"] == batch["number"] and failing["hs_code"] == "940542"
        assert created.headers["location"] == f"/v1/test-requests/{failing['id']}"

        # an enterprise sees only its own requests
        assert_problem(theirs.get(f"/v1/test-requests/{failing['id']}"), 403, "forbidden")
        assert theirs.get("/v1/test-requests").json()["items"] == []
        assert [r["id"] for r in mine.get("/v1/test-requests").json()["items"]] == [failing["id"]]
        listed = admin.get("/v1/test-requests", params={"uscc": maker}).json()["items"]
        assert [r["id"] for r in listed] == [failing["id"]]

        # only the lab's operating agency (or the office) moves it on
        path = f"/v1/test-requests/{failing['id']}"
        assert_problem(mine.post(f"{path}/accept"), 403, "forbidden")
        assert_problem(samr.post(f"{path}/accept"), 403, "forbidden")
        report = {
            "outcome": "fail",
            "report_number": f"WT{tag}-01",
            "values": [
                {"item": "标记 marking", "value": "齐全", "outcome": "pass"},
                {
                    "item": "耐压试验 electric strength",
                    "value": "击穿 breakdown at 1.1 kV",
                    "limit": "1.5 kV 1 min",
                    "outcome": "fail",
                },
            ],
            "risk_level": "high",
        }
        assert_problem(ciq.post(f"{path}/result", json=report), 409, "illegal-transition")
        accepted = ciq.post(f"{path}/accept")
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["status"] == "accepted" and accepted.json()["accepted_at"]
        assert_problem(ciq.post(f"{path}/accept"), 409, "illegal-transition")
        inconsistent = {**report, "outcome": "pass"}
        assert_problem(ciq.post(f"{path}/result", json=inconsistent), 422, "validation")

        tested = ciq.post(f"{path}/result", json=report)
        assert tested.status_code == 200, tested.text
        result = tested.json()
        assert result["status"] == "tested" and result["outcome"] == "fail"
        assert result["report_number"] == f"WT{tag}-01" and len(result["values"]) == 2
        assert result["signal_id"] and result["alert_id"]
        assert_problem(ciq.post(f"{path}/result", json=report), 409, "illegal-transition")

        # the failed result is a risk signal matched exactly to the batch, with an alert
        signal = admin.get(f"/v1/risk/signals/{result['signal_id']}").json()
        assert signal["status"] == "matched" and signal["uscc"] == maker
        assert signal["batch_id"] == batch["id"] and signal["match_confidence"] == 1.0
        assert signal["match_method"] in ("declaration_no", "batch_number")
        assert signal["source_agency"] == "ciq" and f"WT{tag}-01" in signal["reference"]
        assert "击穿" in signal["facts"]["description"]
        alert = admin.get(f"/v1/risk/alerts/{result['alert_id']}").json()
        assert alert["batch_id"] == batch["id"] and alert["batch_number"] == batch["number"]
        assert alert["uscc"] == maker and alert["status"] == "open" and alert["task_id"]
        assert alert["agency"] == "ciq"
        # as severe as the result (serious: it blocks honours as an open serious alert)
        assert signal["kind"] == "lab_test" and alert["severity"] == "serious"
        assert result["alert_id"] in [a["id"] for a in mine.get("/v1/risk/alerts").json()["items"]]

        # a second request passes: no signal; a third is rejected by the lab
        passing = mine.post("/v1/test-requests", json=body).json()
        ciq.post(f"/v1/test-requests/{passing['id']}/accept").raise_for_status()
        passed = ciq.post(
            f"/v1/test-requests/{passing['id']}/result",
            json={
                "outcome": "pass",
                "report_number": f"WT{tag}-02",
                "values": [{"item": "耐压试验", "value": "无击穿", "outcome": "pass"}],
            },
        )
        assert passed.status_code == 200, passed.text
        assert passed.json()["outcome"] == "pass" and passed.json()["signal_id"] is None
        reused = mine.post("/v1/test-requests", json=body).json()
        ciq.post(f"/v1/test-requests/{reused['id']}/accept").raise_for_status()
        same_report = ciq.post(
            f"/v1/test-requests/{reused['id']}/result",
            json={**report, "report_number": f"WT{tag}-02"},
        )
        assert_problem(same_report, 409, "conflict")
        rejected = ciq.post(
            f"/v1/test-requests/{reused['id']}/reject", json={"reason": "样品数量不足"}
        )
        assert rejected.status_code == 200, rejected.text
        assert (
            rejected.json()["status"] == "rejected" and rejected.json()["reason"] == "样品数量不足"
        )
        assert_problem(
            ciq.post(f"/v1/test-requests/{reused['id']}/accept"), 409, "illegal-transition"
        )
        statuses = mine.get("/v1/test-requests", params={"status": "tested"}).json()["items"]
        assert {r["id"] for r in statuses} == {failing["id"], passing["id"]}

    # every state change went out as an event; a completed one carries the outcome
    events = stream_events(stack, "inspection.test.>", stream="INSPECTION")
    mine_events = [e for e in events if e["data"]["uscc"] == maker]
    assert [e["type"] for e in mine_events if e["data"]["request_id"] == failing["id"]] == [
        "inspection.test.requested.v1",
        "inspection.test.accepted.v1",
        "inspection.test.completed.v1",
    ]
    completed = [e for e in mine_events if e["type"] == "inspection.test.completed.v1"]
    assert {
        (e["data"]["outcome"], e["data"]["severity"], e["data"]["signal_id"]) for e in completed
    } == {("fail", "serious", result["signal_id"]), ("pass", "general", None)}
    assert any(e["type"] == "inspection.test.rejected.v1" for e in mine_events)

    # credit turns each completed test into one fact: lab_test_pass / lab_test_fail
    def lab_facts() -> set[tuple[str, str]] | None:
        items = admin.get("/v1/credit/facts", params={"uscc": maker, "limit": 100}).json()["items"]
        found = {(f["kind"], f["severity"]) for f in items if f["kind"].startswith("lab_test")}
        return found if len(found) == 2 else None

    assert wait_until(lab_facts, timeout=30, what="lab test facts in credit") == {
        ("lab_test_fail", "serious"),
        ("lab_test_pass", "general"),
    }


def test_report_numbers_once_per_lab_in_any_case_and_moves_honour_if_match(
    admin: httpx.Client, gateway_url: str, stack: Stack
) -> None:
    maker = _enterprise(admin)
    batch = _batch(admin, stack, maker, product="LED 筒灯", hs_code="940542")
    lab, other_lab = _lab(admin), _lab(admin)
    tag = uuid.uuid4().hex[:6]
    report = {
        "outcome": "pass",
        "report_number": f"WT-{tag}",
        "values": [{"item": "耐压试验", "value": "无击穿", "outcome": "pass"}],
    }
    with client_for(admin, gateway_url, WRITE, uscc=maker) as mine:
        first, second, third, elsewhere = (
            mine.post(
                "/v1/test-requests",
                json={"lab_id": lab_id, "batch_id": batch["id"], "standard": "GB 7000.1-2015"},
            ).json()
            for lab_id in (lab["id"], lab["id"], lab["id"], other_lab["id"])
        )

    # the moves honour If-Match as PATCH does: a stale one is a 412 and changes nothing
    path = f"/v1/test-requests/{first['id']}"
    assert admin.get(path).headers["etag"] == '"1"'
    stale = assert_problem(
        admin.post(f"{path}/accept", headers={"If-Match": '"9"'}), 412, "precondition-failed"
    )
    assert stale["current_etag"] == '"1"'
    assert admin.get(path).json()["status"] == "requested"
    accepted = admin.post(f"{path}/accept", headers={"If-Match": '"1"'})
    assert accepted.status_code == 200, accepted.text
    assert accepted.headers["etag"] == '"2"' and accepted.json()["version"] == 2
    late = admin.post(f"{path}/reject", json={"reason": "样品不足"}, headers={"If-Match": '"1"'})
    assert assert_problem(late, 412, "precondition-failed")["current_etag"] == '"2"'
    stale_result = admin.post(f"{path}/result", json=report, headers={"If-Match": '"1"'})
    assert_problem(stale_result, 412, "precondition-failed")
    assert admin.get(path).json()["status"] == "accepted"
    tested = admin.post(f"{path}/result", json=report, headers={"If-Match": '"2"'})
    assert tested.status_code == 200, tested.text
    assert tested.headers["etag"] == '"3"' and tested.json()["status"] == "tested"
    third_path = f"/v1/test-requests/{third['id']}"
    rejected = admin.post(
        f"{third_path}/reject", json={"reason": "样品不足"}, headers={"If-Match": '"1"'}
    )
    assert rejected.status_code == 200 and rejected.headers["etag"] == '"2"', rejected.text

    # the same report number of the same lab in another case (or with spaces) is taken; the
    # problem names the request holding it, and request_id stays the correlation id
    admin.post(f"/v1/test-requests/{second['id']}/accept").raise_for_status()
    for number in (f"wt-{tag.upper()}", f"  WT-{tag}  "):
        taken = admin.post(
            f"/v1/test-requests/{second['id']}/result", json={**report, "report_number": number}
        )
        problem = assert_problem(taken, 409, "conflict")
        assert problem["existing_test_request_id"] == first["id"]
        assert problem["request_id"] == taken.headers["x-request-id"] != first["id"]
    assert admin.get(f"/v1/test-requests/{second['id']}").json()["status"] == "accepted"
    # another lab's report may carry the number
    admin.post(f"/v1/test-requests/{elsewhere['id']}/accept").raise_for_status()
    theirs = admin.post(
        f"/v1/test-requests/{elsewhere['id']}/result",
        json={**report, "report_number": f"wt-{tag}"},
    )
    assert theirs.status_code == 200, theirs.text

    # the database holds the rule too, whatever writes to it
    with pytest.raises(Exception, match="uq_test_requests_lab_id_report_number_ci"):
        sql(
            stack,
            "inspection",
            "UPDATE test_requests SET report_number = $1 WHERE id = $2",
            f"Wt-{tag}",
            uuid.UUID(second["id"]),
        )


def _preview(admin: httpx.Client, quarter: Quarter, industry: str) -> dict[str, Any]:
    answer = admin.get(f"/v1/analysis/quarters/{quarter}", params={"industry": industry})
    assert answer.status_code == 200, answer.text
    (item,) = answer.json()["items"]
    return item  # type: ignore[no-any-return]


def test_quarterly_analysis_from_live_data_published_once_and_public(
    admin: httpx.Client, gateway_url: str, stack: Stack
) -> None:
    industry = "outdoor"
    now = Quarter.of(datetime.now(CHINA))
    last = now.previous()
    day = last.first_day + timedelta(days=20)  # in the previous quarter, in China time
    noon = datetime.combine(day, datetime.min.time().replace(hour=12), CHINA).isoformat()
    before = _preview(admin, now, industry)

    # two enterprises of the industry in a zone of their own, so a campaign draws exactly them
    tag = uuid.uuid4().hex[:6]
    zone = f"outdoor-t{tag}"
    admin.post(
        "/v1/zones",
        json={
            "code": zone,
            "name_zh": f"测试户外用品示范区{tag}",
            "name_en": f"Test outdoor zone {tag}",
            "industry": industry,
            "level": "provincial",
        },
    ).raise_for_status()
    firms = [_enterprise(admin, industry) for _ in range(2)]
    for uscc in firms:  # admitted from the start of last quarter, recorded now
        mid = admin.post(f"/v1/zones/{zone}/applications", json={"uscc": uscc}).json()["id"]
        admin.post(
            f"/v1/memberships/{mid}/decision",
            json={"decision": "admit", "effective_on": str(last.first_day)},
        ).raise_for_status()
    wait_until(
        lambda: len(admin.get("/v1/directory", params={"zone": zone}).json()["items"]) == 2,
        what="the zone's members in the directory",
    )

    # last quarter: exports, a foreign notification and a return
    exported = _batch(
        admin,
        stack,
        firms[0],
        product="碳纤维运动杖",
        hs_code="950699",
        destination="DE",
        ship_date=str(day),
        export_value_usd=3_000_000,
    )
    returned = _batch(
        admin,
        stack,
        firms[1],
        hs_code="950699",
        destination="US",
        declaration_no=f"3102{tag.upper()}9",
        ship_date=str(day),
        export_value_usd=1_000_000,
    )
    signals = [
        {
            "kind": "foreign_notification",
            "reference": f"A12/{tag}/26",
            "notifying_country": "DE",
            "risk_level": "medium",
            "batch_number": exported["number"],
            "notified_at": noon,
        },
        {
            "kind": "return",
            "declaration_no": returned["declaration_no"],
            "reason": "锁紧机构失效",
            "notified_at": noon,
        },
    ]
    for signal in signals:
        recorded = admin.post("/v1/risk/signals", json=signal)
        assert recorded.status_code == 201, recorded.text
        assert recorded.json()["status"] == "matched", recorded.text

    # random checks made last quarter: one pass, one fail (its CAPA opens and closes now)
    checklist = admin.post(
        "/v1/checklists",
        json={
            "code": f"outdoor-{tag}",
            "industry": industry,
            "title": "运动杖出口监督抽查",
            "items": [
                {
                    "code": "POLE-01",
                    "title": "锁紧机构",
                    "legal_basis": "EN ISO 20957-1",
                    "criterion": "可靠",
                },
            ],
        },
    ).json()
    for n in range(2):
        admin.post(
            "/v1/inspectors",
            json={
                "agency": "market_supervision",
                "badge_number": f"3303{uuid.uuid4().int % 10**10:010d}",
                "name": f"抽查员{n}",
            },
        ).raise_for_status()
    today = date.today()
    campaign = admin.post(
        "/v1/campaigns",
        json={
            "title": f"户外用品双随机抽查{tag}",
            "agencies": ["market_supervision"],
            "zones": [zone],
            "industries": [industry],
            "checklist_id": checklist["id"],
            "ratios": {"A": 1.0, "B": 1.0, "C": 1.0, "D": 1.0},
            "window_start": str(today),
            "window_end": str(today + timedelta(days=30)),
        },
    )
    assert campaign.status_code == 201, campaign.text
    drawn = admin.post(f"/v1/campaigns/{campaign.json()['id']}/draw")
    assert drawn.status_code == 200 and drawn.json()["tasks"] == 2, drawn.text
    tasks = admin.get("/v1/tasks", params={"campaign_id": campaign.json()["id"]}).json()["items"]
    assert {t["uscc"] for t in tasks} == set(firms)
    for task in tasks:
        verdict = "pass" if task["uscc"] == firms[0] else "fail"
        record_and_confirm(
            admin,
            gateway_url,
            task,
            {
                "findings": [{"item": "POLE-01", "outcome": verdict}],
                "verdict": verdict,
                "checked_at": noon,
            },
            photos=(png(16, 16, seed=len(tag)),),
        )
    capa = admin.get("/v1/capas", params={"uscc": firms[1]}).json()["items"][0]
    admin.post(
        f"/v1/capas/{capa['id']}/response",
        json={"root_cause": "弹簧批次不良", "actions": "更换供应商"},
    ).raise_for_status()
    closed = admin.post(f"/v1/capas/{capa['id']}/verification", json={"effective": True})
    assert closed.status_code == 200 and closed.json()["status"] == "closed", closed.text

    # credit has scored both firms' facts and inspection's directory holds the level
    for uscc in firms:
        wait_until(
            lambda u=uscc: (
                len(admin.get("/v1/credit/facts", params={"uscc": u}).json()["items"]) >= 2
            ),
            timeout=30,
            what="the firms' credit facts",
        )
        level = admin.get(f"/v1/credit/enterprises/{uscc}").json()["level"]
        wait_until(
            lambda u=uscc, lv=level: (
                {
                    e["uscc"]: e["level"]
                    for e in admin.get("/v1/directory", params={"zone": zone}).json()["items"]
                }[u]
                == lv
            ),
            timeout=30,
            what="the directory's level",
        )

    # last quarter's figures are exactly what the test made (no other data for the industry)
    figures = _preview(admin, last, industry)
    assert figures["quarter"] == str(last) and figures["first_day"] == str(last.first_day)
    assert figures["industry_name_zh"] == "户外休闲用品（运动杖）"
    assert figures["exports_usd"] == 4_000_000
    assert (figures["notifications"], figures["returns"]) == (1, 1)
    assert figures["notifications_per_100m_usd"] == 25.0 and figures["returns_per_100m_usd"] == 25.0
    assert (figures["spot_checks"], figures["spot_checks_passed"]) == (2, 1)
    assert figures["spot_check_pass_rate"] == 0.5
    assert (figures["capas"], figures["capa_closure_rate"]) == (0, None)  # opened this quarter
    # as of the quarter: its members (the industry's zone members then, the firms included
    # by their effective date), their levels at its end; the stack was seeded this quarter,
    # so credit had announced no level by then
    levels = figures["credit_levels"]
    directory = admin.get("/v1/directory", params={"industry": industry, "limit": 500}).json()
    members = [e for e in directory["items"] if e["zones"]]
    assert set(firms) <= {e["uscc"] for e in members}
    assert figures["enterprises"] == len(members) < len(directory["items"])
    assert levels == {"A": 0, "B": 0, "C": 0, "D": 0, "unrated": figures["enterprises"]}
    today = {lv: sum(e["level"] == lv for e in members) for lv in "ABCD"}
    assert {k: v for k, v in _preview(admin, now, industry)["credit_levels"].items() if v} == {
        k: v for k, v in today.items() if v
    }
    # this quarter: the CAPA opened and closed; two more enterprises
    current = _preview(admin, now, industry)
    assert current["capas"] == before["capas"] + 1
    assert current["capas_closed"] == before["capas_closed"] + 1
    assert current["capa_closure_rate"] == round(current["capas_closed"] / current["capas"], 4)
    assert current["enterprises"] == before["enterprises"] + 2
    every = admin.get(f"/v1/analysis/quarters/{last}").json()
    assert [i["industry"] for i in every["items"]][:2] == ["auto_parts", "stationery"]
    assert len(every["items"]) == 8 and every["ended"] is True and every["published"] == []

    # publication: not while the quarter runs, once when over, only by the office
    release_body = {"quarter": str(last), "industry": industry, "note": "户外用品出口质量总体稳定"}
    with client_for(admin, gateway_url, WRITE, agency="commerce") as agency:
        assert agency.get(f"/v1/analysis/quarters/{last}").status_code == 200
        assert_problem(agency.post("/v1/analysis/releases", json=release_body), 403, "forbidden")
    # a quarter before the programme (2015Q1) has no figures to preview or publish
    for early in ("2000Q1", "2014Q4"):
        ancient = admin.post("/v1/analysis/releases", json={**release_body, "quarter": early})
        assert [e["field"] for e in assert_problem(ancient, 422, "validation")["errors"]] == [
            "quarter"
        ]
        previewed = admin.get(f"/v1/analysis/quarters/{early}", params={"industry": industry})
        assert assert_problem(previewed, 422, "validation")["errors"][0]["field"] in (
            "quarter",
            "path.quarter",  # the path's pattern states the bound, so the schema says it too
        )
    assert admin.get("/v1/analysis/quarters/2015Q1").status_code == 200
    running = admin.post("/v1/analysis/releases", json={**release_body, "quarter": str(now)})
    assert "runs until" in assert_problem(running, 409, "conflict")["detail"]
    published = admin.post("/v1/analysis/releases", json=release_body)
    assert published.status_code == 201, published.text
    release = published.json()
    frozen = {k: v for k, v in release["figures"].items() if k != "computed_at"}
    assert frozen == {k: v for k, v in figures.items() if k != "computed_at"}
    assert release["note"] == release_body["note"] and release["published_by"]
    twice = assert_problem(admin.post("/v1/analysis/releases", json=release_body), 409, "conflict")
    assert twice["release_id"] == release["id"]
    assert admin.get(f"/v1/analysis/quarters/{last}").json()["published"] == [industry]

    # anyone reads it, without a token
    public = httpx.get(f"{gateway_url}/v1/public/analysis", params={"industry": industry}).json()
    assert [r["id"] for r in public["items"]] == [release["id"]]
    assert "published_by" not in public["items"][0]
    assert public["items"][0]["figures"]["spot_check_pass_rate"] == 0.5
    by_quarter = httpx.get(f"{gateway_url}/v1/public/analysis/{last}")
    assert by_quarter.status_code == 200
    assert [(r["industry"], r["id"]) for r in by_quarter.json()["items"]] == [
        (industry, release["id"])
    ]
    assert_problem(httpx.get(f"{gateway_url}/v1/public/analysis/2001Q1"), 404, "not-found")
    assert httpx.get(f"{gateway_url}/v1/public/analysis/2026Q7").status_code == 422
    assert_problem(httpx.get(f"{gateway_url}/v1/analysis/quarters/{last}"), 401, "unauthorized")
    announced = stream_events(stack, "inspection.analysis.published", stream="INSPECTION")
    assert [e["data"]["release_id"] for e in announced] == [release["id"]]
    assert announced[0]["data"]["figures"]["exports_usd"] == 4_000_000


def test_seeded_zone_kpis_of_a_surveyed_year_come_from_the_surveys(admin: httpx.Client) -> None:
    # the seed's zone members were admitted at their zone's plan start and surveyed for
    # 2017-2019, without export batches: those years' KPIs are the surveys'
    zone = "stationery-national"
    members: list[str] = []
    cursor = None
    while True:
        params = {"zone": zone, "limit": 100, **({"cursor": cursor} if cursor else {})}
        page = admin.get("/v1/enterprises", params=params).json()
        members += [e["uscc"] for e in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    surveys = [
        s
        for uscc in members
        for s in admin.get(f"/v1/enterprises/{uscc}/surveys").json()["items"]
        if s["year"] == 2018
    ]
    assert members and surveys
    wait_until(
        lambda: admin.get("/v1/risk/kpis", params={"year": 2018, "zone": zone}).json()["items"],
        what="the seeded zone's 2018 KPIs",
    )
    (kpi,) = admin.get("/v1/risk/kpis", params={"year": 2018, "zone": zone}).json()["items"]
    assert kpi["source"] == "surveys" and kpi["enterprises"] == len({s["uscc"] for s in surveys})
    assert kpi["exports_usd"] == sum(s["annual_export_usd"] for s in surveys) > 0
    assert kpi["returns"] == sum(s["quality"]["returns"] for s in surveys)
    assert kpi["notifications"] == sum(s["quality"]["foreign_notifications"] for s in surveys)
    # before the zone set out (plan start 2017-03-01) it had no members
    assert admin.get("/v1/risk/kpis", params={"year": 2016, "zone": zone}).json()["items"] == []
