"""Batches, lineage and risk early warning through the gateway: a batch made from three
supplier lots in five steps, a foreign notification naming its batch number, and within
seconds an alert carrying the trace to the failing step, a targeted task, a credit fact and
a lower score, and the other enterprises that received the same supplier lot. Then the bad
input of the issue: unknown lots in bulk, quantities, future dates, countries, another
enterprise's batch, a malformed row in a notification file."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from tests.helpers import (
    assert_problem,
    client_for,
    enterprise_body,
    inspector_client,
    new_uscc,
    wait_until,
)

ZONE = "lighting-provincial"
NDJSON = {"Content-Type": "application/x-ndjson"}


def _at(hours_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours_ago)).isoformat()


def _lines(*items: dict) -> str:  # type: ignore[type-arg]
    import json

    return "\n".join(json.dumps(i) for i in items) + "\n"


def _register(admin: httpx.Client, *, admit: bool) -> str:
    uscc = new_uscc()
    admin.post("/v1/enterprises", json=enterprise_body(uscc)).raise_for_status()
    if admit:
        mid = admin.post(f"/v1/zones/{ZONE}/applications", json={"uscc": uscc}).json()["id"]
        admin.post(f"/v1/memberships/{mid}/decision", json={"decision": "admit"}).raise_for_status()
    return uscc


def _lot(admin: httpx.Client, uscc: str, number: str, **fields: object) -> dict:  # type: ignore[type-arg]
    created = admin.post("/v1/batches", json={"uscc": uscc, "number": number, **fields})
    assert created.status_code == 201, created.text
    return created.json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def inspectors(admin: httpx.Client) -> list[str]:
    ids = []
    for n in range(3):
        created = admin.post(
            "/v1/inspectors",
            json={
                "agency": "ciq",
                "badge_number": f"3309{uuid.uuid4().int % 10**10:010d}",
                "name": f"口岸检查员{n}",
                "unit": f"检验{n}科",
            },
        )
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    return ids


def test_notification_to_alert_with_trace_task_fact_and_affected(
    admin: httpx.Client, gateway_url: str, inspectors: list[str]
) -> None:
    maker = _register(admin, admit=True)
    neighbour = _register(admin, admit=True)
    supplier = new_uscc()
    tag = uuid.uuid4().hex[:6].upper()
    resin, wire, driver = f"RESIN-{tag}", f"WIRE-{tag}", f"DRV-{tag}"
    for number in (resin, wire, driver):
        _lot(admin, maker, number, kind="supplier", supplier_uscc=supplier, product=number)
    # the neighbour received the same resin lot from the same supplier
    _lot(admin, neighbour, resin, kind="supplier", supplier_uscc=supplier)
    _lot(admin, maker, f"HSG-{tag}", kind="intermediate", product="灯壳")
    batch = _lot(
        admin,
        maker,
        f"NB-{tag}",
        product="LED 吸顶灯",
        hs_code="940542",
        quantity=12000,
        unit="pcs",
        destination="DE",
        declaration_no=f"3102{tag}01",
        ship_date=str(date.today() - timedelta(days=3)),
        brand="Haiguang",
        model="HG-200",
        export_value_usd=2_000_000,
    )
    _lot(admin, maker, f"SHIP-{tag}", kind="shipment")

    steps = [  # five steps, the fourth found the batch non-conformant
        {
            "type": "object",
            "biz_step": "receiving",
            "lots": [resin, wire, driver],
            "event_time": _at(100),
            "location": "原料仓",
            "disposition": "conformant",
        },
        {
            "type": "transformation",
            "biz_step": "processing",
            "inputs": [{"lot": resin, "quantity": 300, "unit": "kg"}],
            "outputs": [{"lot": f"HSG-{tag}", "quantity": 12000, "unit": "pcs"}],
            "event_time": _at(90),
            "location": "注塑车间",
        },
        {
            "type": "transformation",
            "biz_step": "assembling",
            "inputs": [
                {"lot": f"HSG-{tag}", "quantity": 12000, "unit": "pcs"},
                {"lot": wire, "quantity": 2400, "unit": "m"},
                {"lot": driver, "quantity": 12000, "unit": "pcs"},
            ],
            "outputs": [{"lot": f"NB-{tag}", "quantity": 12000, "unit": "pcs"}],
            "event_time": _at(80),
            "location": "总装线 3",
        },
        {
            "type": "object",
            "biz_step": "inspecting",
            "lots": [f"NB-{tag}"],
            "event_time": _at(70),
            "location": "出厂检验",
            "operator": "质检员 李娜",
            "disposition": "non_conformant",
            "client_event_id": f"qc-{tag}",
        },
        {
            "type": "aggregation",
            "biz_step": "shipping",
            "parent": f"SHIP-{tag}",
            "children": [f"NB-{tag}"],
            "event_time": _at(60),
            "location": "宁波港",
        },
    ]
    uploaded = admin.post(
        f"/v1/batches/{batch['id']}/events", content=_lines(*steps), headers=NDJSON
    )
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["accepted"] == 5 and uploaded.json()["rejected"] == 0
    again = admin.post(f"/v1/batches/{batch['id']}/events", json=steps[3])
    assert again.status_code == 200 and again.json()["id"] == uploaded.json()["recorded"][3]["id"]

    up = admin.get(f"/v1/batches/{batch['id']}/trace", params={"direction": "upstream"}).json()
    assert set(up["supplier_lots"]) == {resin, wire, driver}
    by_number = {n["lot"]["number"]: n for n in up["nodes"]}
    assert by_number[resin]["path"] == [f"NB-{tag}", f"HSG-{tag}", resin]
    assert [s["biz_step"] for s in up["nonconformant_steps"]] == ["inspecting"]
    assert up["shared_supplier_lots"][0]["enterprises"] == [neighbour]
    down = admin.get(f"/v1/batches/{batch['id']}/trace", params={"direction": "downstream"}).json()
    assert [n["lot"]["number"] for n in down["nodes"]] == [f"NB-{tag}", f"SHIP-{tag}"]
    assert down["destinations"] == ["DE"]

    score_before = wait_until(
        lambda: admin.get(f"/v1/credit/enterprises/{maker}").json().get("score"),
        what="the maker's first score",
    )
    ciq = client_for(admin, gateway_url, ["inspection:read", "inspection:write"], agency="ciq")
    signal = ciq.post(
        "/v1/risk/signals",
        json={
            "kind": "foreign_notification",
            "reference": f"A12/{tag}/26",
            "notifying_country": "DE",
            "risk_type": "electric shock",
            "risk_level": "serious",
            "product_category": "Lighting",
            "brand": "Haiguang",
            "model": "HG-200",
            "batch_number": f"NB-{tag}",
            "measures_taken": "Withdrawal from the market",
        },
    )
    assert signal.status_code == 201, signal.text

    def matched() -> dict | None:  # type: ignore[type-arg]
        # at once, or as soon as inspection has heard of the batch (milliseconds here)
        now = admin.get(f"/v1/risk/signals/{signal.json()['id']}").json()
        return now if now["status"] == "matched" else None

    body = wait_until(matched, what="the match")
    assert body["match_method"] == "batch_number"
    assert body["uscc"] == maker and body["batch_id"] == batch["id"]
    assert body["match_confidence"] == 1.0

    def traced() -> dict | None:  # type: ignore[type-arg]
        alert = admin.get(f"/v1/risk/alerts/{body['alert_id']}").json()
        return alert if alert["trace"] else None

    alert = wait_until(traced, timeout=30, what="the alert's trace")
    assert alert["severity"] == "serious" and alert["status"] == "open"
    failing = alert["trace"]["failing_steps"]
    assert [(s["lot"], s["biz_step"]) for s in failing] == [(f"NB-{tag}", "inspecting")]
    assert set(alert["trace"]["supplier_lots"]) == {resin, wire, driver}
    assert [a["uscc"] for a in alert["affected"]] == [neighbour]
    task = admin.get(f"/v1/tasks/{alert['task_id']}").json()
    assert task["kind"] == "targeted" and task["alert_id"] == alert["id"]
    assert task["uscc"] == maker and len(task["inspector_ids"]) == 2

    def fact_recorded() -> dict | None:  # type: ignore[type-arg]
        credit = admin.get(f"/v1/credit/enterprises/{maker}").json()
        return credit if credit["score"] < score_before else None

    credit = wait_until(fact_recorded, timeout=30, what="a lower score")
    kinds = [c["kind"] for c in credit["contributions"]]
    assert "foreign_notification" in kinds

    kpi = admin.get("/v1/risk/kpis", params={"uscc": maker}).json()["items"][0]
    assert kpi["notifications"] == 1 and kpi["exports_usd"] == 2_000_000
    assert kpi["notifications_per_100m_usd"] == 50.0 and kpi["open_alerts"] == 1
    zone = admin.get("/v1/risk/kpis", params={"zone": ZONE}).json()["items"]
    assert zone[0]["zone"] == ZONE and zone[0]["notifications"] >= 1

    # the maker's own token sees its alert, and that others may be affected, not who
    own = client_for(admin, gateway_url, ["inspection:read"], uscc=maker)
    seen = own.get(f"/v1/risk/alerts/{alert['id']}").json()
    assert seen["affected"] == [{"count": 1}]
    assert [a["id"] for a in own.get("/v1/risk/alerts").json()["items"]] == [alert["id"]]
    assert own.get(f"/v1/risk/alerts/{alert['id']}").status_code == 200
    outsider = client_for(admin, gateway_url, ["inspection:read"], uscc=neighbour)
    assert outsider.get(f"/v1/risk/alerts/{alert['id']}").status_code == 403
    samr = client_for(
        admin, gateway_url, ["inspection:read", "inspection:write"], agency="market_supervision"
    )
    assert_problem(
        samr.patch(f"/v1/risk/alerts/{alert['id']}", json={"status": "investigating"}),
        403,
        "forbidden",
    )
    # the office may replace the targeted task's inspectors
    reassigned = admin.post(
        f"/v1/tasks/{task['id']}/assign", json={"inspector_ids": inspectors[:2]}
    )
    assert reassigned.status_code == 200, reassigned.text
    assert set(reassigned.json()["inspector_ids"]) == set(inspectors[:2])
    assert_problem(
        admin.post(
            f"/v1/tasks/{task['id']}/assign",
            json={"inspector_ids": [inspectors[0], str(uuid.uuid4())]},
        ),
        422,
        "validation",
    )
    # an inspector sees the alerts of their own tasks only (not others' conclusions)
    with (
        inspector_client(admin, gateway_url, inspectors[0]) as assigned,
        inspector_client(admin, gateway_url, inspectors[2]) as unassigned,
    ):
        theirs = assigned.get("/v1/risk/alerts", params={"limit": 500}).json()["items"]
        tasks = assigned.get("/v1/tasks", params={"limit": 500}).json()["items"]
        assert alert["id"] in {a["id"] for a in theirs}
        assert {a["task_id"] for a in theirs} <= {t["id"] for t in tasks}
        assert assigned.get(f"/v1/risk/alerts/{alert['id']}").status_code == 200
        others = unassigned.get("/v1/risk/alerts", params={"limit": 500}).json()["items"]
        assert alert["id"] not in {a["id"] for a in others}
        assert_problem(unassigned.get(f"/v1/risk/alerts/{alert['id']}"), 403, "forbidden")

    # the alert moves on, and closes only with a conclusion
    assert_problem(
        admin.patch(f"/v1/risk/alerts/{alert['id']}", json={"status": "closed"}), 422, "validation"
    )
    moved = admin.patch(f"/v1/risk/alerts/{alert['id']}", json={"status": "investigating"})
    assert moved.status_code == 200 and moved.json()["status"] == "investigating"
    closed = admin.patch(
        f"/v1/risk/alerts/{alert['id']}",
        json={"status": "closed", "conclusion": "驱动电源绝缘不良，已整改并召回"},
    )
    assert closed.json()["status"] == "closed"
    assert_problem(
        admin.patch(f"/v1/risk/alerts/{alert['id']}", json={"status": "investigating"}),
        409,
        "conflict",
    )
    # the same reference again is a duplicate, not a second alert
    again = ciq.post(
        "/v1/risk/signals",
        json={"kind": "foreign_notification", "reference": f"A12/{tag}/26", "brand": "X"},
    )
    assert again.status_code == 200 and again.json()["id"] == body["id"]


def test_unmatched_signal_waits_and_is_linked(admin: httpx.Client) -> None:
    maker = _register(admin, admit=False)
    tag = uuid.uuid4().hex[:6].upper()
    batch = _lot(admin, maker, f"RT-{tag}", hs_code="940542", brand=f"B{tag}", model="M1")
    signal = admin.post(
        "/v1/risk/signals",
        json={"kind": "complaint", "brand": f"Nobody{tag}", "description": "灯不亮"},
    ).json()
    assert signal["status"] == "unmatched" and signal["alert_id"] is None
    queue = admin.get("/v1/risk/signals", params={"status": "unmatched", "limit": 500}).json()
    assert signal["id"] in [s["id"] for s in queue["items"]] or queue["next_cursor"]

    def link() -> httpx.Response | None:  # once inspection has heard of the batch
        answer = admin.post(
            f"/v1/risk/signals/{signal['id']}/link", json={"uscc": maker, "batch_id": batch["id"]}
        )
        return answer if answer.status_code != 422 else None

    linked = wait_until(link, what="the link")
    assert linked.status_code == 200, linked.text
    assert linked.json()["match_method"] == "manual" and linked.json()["alert_id"]
    assert_problem(
        admin.post(f"/v1/risk/signals/{signal['id']}/link", json={"uscc": maker}), 409, "conflict"
    )
    stray = admin.post(
        "/v1/risk/signals", json={"kind": "complaint", "brand": f"Stray{tag}"}
    ).json()
    dismissed = admin.post(
        f"/v1/risk/signals/{stray['id']}/dismiss", json={"reason": "非本区企业产品"}
    )
    assert dismissed.status_code == 200, dismissed.text
    assert (
        dismissed.json()["status"] == "dismissed" and dismissed.json()["note"] == "非本区企业产品"
    )
    # attributes: HS code + brand + model + destination → a recorded confidence
    wait_until(
        lambda: (
            admin.post(
                "/v1/risk/signals",
                json={
                    "kind": "return",
                    "hs_code": "940542",
                    "brand": f"b{tag}",
                    "model": "m1",
                    "quantity": 20,
                    "unit": "cartons",
                    "reason": "包装破损",
                },
            ).json()["status"]
            == "matched"
        ),
        what="an attribute match",
    )


def test_a_notification_before_its_batch_matches_when_the_batch_arrives(
    admin: httpx.Client,
) -> None:
    maker = _register(admin, admit=False)
    tag = uuid.uuid4().hex[:6].upper()
    early = admin.post(
        "/v1/risk/signals",
        json={"kind": "return", "declaration_no": f"3102{tag}99", "reason": "标签不符"},
    ).json()
    assert early["status"] == "unmatched"
    _lot(admin, maker, f"LATE-{tag}", declaration_no=f"3102{tag}99")

    def matched() -> dict | None:  # type: ignore[type-arg]
        now = admin.get(f"/v1/risk/signals/{early['id']}").json()
        return now if now["status"] == "matched" else None

    found = wait_until(matched, what="the late match")
    assert found["uscc"] == maker and found["match_method"] == "declaration_no"
    assert admin.get(f"/v1/risk/alerts/{found['alert_id']}").json()["kind"] == "return"


def test_bulk_events_keep_good_lines_and_report_bad_ones(admin: httpx.Client) -> None:
    maker = _register(admin, admit=False)
    tag = uuid.uuid4().hex[:6].upper()
    batch = _lot(admin, maker, f"BK-{tag}")
    _lot(admin, maker, f"IN-{tag}", kind="supplier", supplier_name="宁海某塑料厂")
    good = {"type": "object", "biz_step": "inspecting", "lots": [f"BK-{tag}"], "event_time": _at(1)}
    body = "\n".join(
        [
            _lines(good).strip(),
            _lines({**good, "lots": [f"NOPE-{tag}"]}).strip(),
            "{not json",
            _lines({**good, "event_time": _at(-48)}).strip(),
            _lines(
                {
                    "type": "transformation",
                    "biz_step": "processing",
                    "inputs": [{"lot": f"IN-{tag}", "quantity": 0}],
                    "outputs": [{"lot": f"BK-{tag}"}],
                    "event_time": _at(2),
                }
            ).strip(),
            _lines({**good, "biz_step": "packing"}).strip(),
        ]
    )
    answer = admin.post(f"/v1/batches/{batch['id']}/events", content=body, headers=NDJSON)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (result["received"], result["accepted"], result["rejected"]) == (6, 2, 4)
    errors = {e["line"]: e for e in result["errors"]}
    assert set(errors) == {2, 3, 4, 5}
    assert "unknown lot" in errors[2]["errors"][0]["reason"] and errors[2]["status"] == 422
    assert errors[3]["status"] == 400
    assert "future" in errors[4]["errors"][0]["reason"]
    events = admin.get(f"/v1/batches/{batch['id']}/events").json()["items"]
    assert sorted(e["biz_step"] for e in events) == ["inspecting", "packing"]
    # every line bad: a 422 naming each line
    bad = admin.post(
        f"/v1/batches/{batch['id']}/events",
        content=_lines({**good, "lots": ["X-1"]}, {**good, "lots": ["X-2"]}),
        headers=NDJSON,
    )
    assert [e["line"] for e in assert_problem(bad, 422, "validation")["errors"]] == [1, 2]


def test_bad_batches_and_foreign_enterprise(admin: httpx.Client, gateway_url: str) -> None:
    maker = _register(admin, admit=False)
    other = _register(admin, admit=False)
    tag = uuid.uuid4().hex[:6].upper()
    for bad in (
        {"quantity": 0, "unit": "pcs"},
        {"quantity": -5, "unit": "pcs"},
        {"destination": "XX"},
        {"destination": "Germany"},
        {"ship_date": str(date.today() + timedelta(days=10))},
        {"kind": "supplier"},
    ):
        assert_problem(
            admin.post("/v1/batches", json={"uscc": maker, "number": f"Z-{tag}", **bad}),
            422,
            "validation",
        )
    batch = _lot(admin, maker, f"Z-{tag}", destination="us")
    assert batch["destination"] == "US"
    assert_problem(
        admin.post("/v1/batches", json={"uscc": maker, "number": f"Z-{tag}"}), 409, "conflict"
    )
    assert_problem(
        admin.post(
            f"/v1/batches/{batch['id']}/events",
            json={
                "type": "object",
                "biz_step": "packing",
                "lots": [f"Z-{tag}"],
                "event_time": _at(-1),
            },
        ),
        422,
        "validation",
    )
    them = client_for(admin, gateway_url, ["registry:read", "registry:write"], uscc=other)
    assert them.get(f"/v1/batches/{batch['id']}/trace").status_code in (403, 404)
    assert them.get(f"/v1/batches/{batch['id']}").status_code in (403, 404)
    assert them.get("/v1/batches", params={"uscc": maker}).json()["items"] == []
    assert_problem(
        them.post("/v1/batches", json={"uscc": maker, "number": "Q-1"}), 403, "forbidden"
    )
    assert_problem(admin.get(f"/v1/batches/{uuid.uuid4()}/trace"), 404, "not-found")
    assert_problem(
        admin.get(f"/v1/batches/{batch['id']}/trace", params={"direction": "sideways"}),
        422,
        "validation",
    )


def test_cycle_in_bad_data_ends(admin: httpx.Client) -> None:
    maker = _register(admin, admit=False)
    tag = uuid.uuid4().hex[:6].upper()
    a = _lot(admin, maker, f"CA-{tag}")
    _lot(admin, maker, f"CB-{tag}")

    def made(src: str, dst: str) -> dict:  # type: ignore[type-arg]
        return {
            "type": "transformation",
            "biz_step": "processing",
            "inputs": [{"lot": src}],
            "outputs": [{"lot": dst}],
            "event_time": _at(1),
        }

    admin.post(
        f"/v1/batches/{a['id']}/events",
        content=_lines(made(f"CA-{tag}", f"CB-{tag}"), made(f"CB-{tag}", f"CA-{tag}")),
        headers=NDJSON,
    ).raise_for_status()
    trace = admin.get(f"/v1/batches/{a['id']}/trace", params={"depth": 50}).json()
    assert [n["lot"]["number"] for n in trace["nodes"]] == [f"CA-{tag}", f"CB-{tag}"]


def test_notification_file_with_a_malformed_row(admin: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    csv = (
        "kind,reference,notifying_country,risk_level,brand,model,hs_code\n"
        f"foreign_notification,R1-{tag},FR,high,Brand{tag},M-1,940542\n"
        f"foreign_notification,R2-{tag},ZZ,high,Brand{tag},M-2,940542\n"
        f"recall,R3-{tag},,low,Brand{tag},M-3,\n"
    )
    answer = admin.post("/v1/risk/signals", content=csv, headers={"Content-Type": "text/csv"})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (result["accepted"], result["rejected"]) == (2, 1)
    assert result["errors"][0]["line"] == 3
    assert result["errors"][0]["errors"][0]["field"] == "notifying_country"
    assert_problem(admin.post("/v1/risk/signals", json={"kind": "recall"}), 422, "validation")
    assert_problem(
        admin.post("/v1/risk/signals", content=b"x", headers={"Content-Type": "text/plain"}),
        415,
        "unsupported-media-type",
    )
