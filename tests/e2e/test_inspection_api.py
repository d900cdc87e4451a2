"""Inspection through the gateway: a joint campaign from draw to published results, a failed
check opening a CAPA and reaching credit as a fact, officer sync, and bad input."""

from __future__ import annotations

import hashlib
import time
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
    png,
    sql,
    wait_until,
)

TODAY = date.today()
WINDOW = {"window_start": str(TODAY), "window_end": str(TODAY + timedelta(days=60))}
ITEMS = [
    {
        "code": "LED-01",
        "title": "标志和说明",
        "legal_basis": "GB 7000.1-2015 §3",
        "criterion": "齐全",
    },
    {
        "code": "LED-02",
        "title": "防触电保护",
        "legal_basis": "GB 7000.1-2015 §8",
        "criterion": "无带电可触及部件",
    },
]


@pytest.fixture(scope="module")
def checklist(admin: httpx.Client) -> dict:  # type: ignore[type-arg]
    created = admin.post(
        "/v1/checklists",
        json={
            "code": f"lighting-{uuid.uuid4().hex[:6]}",
            "industry": "lighting",
            "title": "灯具出口监督抽查",
            "items": ITEMS,
        },
    )
    assert created.status_code == 201, created.text
    return created.json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def inspectors(admin: httpx.Client) -> list[dict]:  # type: ignore[type-arg]
    # The draws below must choose from these four only: stand down the officers other test
    # modules left active in the shared stack (the dashboard's, the CLI's).
    for agency in ("market_supervision", "ciq"):
        active = admin.get(
            "/v1/inspectors", params={"agency": agency, "active": True, "limit": 500}
        ).json()["items"]
        for officer in active:
            admin.patch(
                f"/v1/inspectors/{officer['id']}", json={"active": False}
            ).raise_for_status()
    out = []
    for n, (agency, unit) in enumerate(
        [
            ("market_supervision", "跃龙所"),
            ("market_supervision", "桃源所"),
            ("ciq", "检验一科"),
            ("ciq", "检验二科"),
        ]
    ):
        created = admin.post(
            "/v1/inspectors",
            json={
                "agency": agency,
                "badge_number": f"3302{uuid.uuid4().int % 10**10:010d}",
                "name": f"检查员{n}",
                "unit": unit,
                "specialties": ["lighting"],
            },
        )
        assert created.status_code == 201, created.text
        out.append(created.json())
    return out


def _campaign(admin: httpx.Client, checklist: dict, **extra: object) -> dict:  # type: ignore[type-arg]
    body = {
        "title": "2026年灯具出口产品联合抽查",
        "agencies": ["market_supervision", "ciq"],
        "zones": ["lighting-provincial"],
        "industries": ["lighting"],
        "checklist_id": checklist["id"],
        "ratios": {"A": 0.1, "B": 0.1, "C": 0.5, "D": 1.0},
        **WINDOW,
        **extra,
    }
    created = admin.post("/v1/campaigns", json=body)
    assert created.status_code == 201, created.text
    return created.json()  # type: ignore[no-any-return]


def _completed_events(stack, task_id: str) -> list[tuple]:  # type: ignore[no-untyped-def, type-arg]
    """The task's `inspection.task.completed` events in inspection's outbox (written in the
    transaction that made the result final, so none there means none announced)."""
    return sql(
        stack,
        "inspection",
        "SELECT payload->'data'->>'outcome' FROM outbox"
        " WHERE type = 'inspection.task.completed.v1' AND payload->'data'->>'task_id' = $1",
        task_id,
    )


def test_anyone_reads_and_replays_a_made_draw_without_a_token(
    admin: httpx.Client,
    gateway_url: str,
    checklist: dict,
    inspectors: list[dict],  # type: ignore[type-arg]
) -> None:
    campaign = _campaign(admin, checklist, title="2026年灯具公开抽查（可验证）")
    public = f"{gateway_url}/v1/public/draws/{campaign['id']}"
    # before the draw there is nothing to check: no seed, no result (and no such campaign)
    assert_problem(httpx.get(public), 404, "not-found")
    assert_problem(httpx.post(f"{public}/verify"), 404, "not-found")
    assert_problem(httpx.get(f"{gateway_url}/v1/public/draws/{uuid.uuid4()}"), 404, "not-found")
    assert httpx.get(f"{gateway_url}/v1/public/draws/not-an-id").status_code == 422
    drawn = admin.post(f"/v1/campaigns/{campaign['id']}/draw")
    assert drawn.status_code == 200, drawn.text

    shown = httpx.get(public)
    assert shown.status_code == 200, shown.text
    draw = shown.json()
    office = drawn.json()
    assert draw["seed_sha256"] == campaign["seed_sha256"]
    assert hashlib.sha256(draw["seed"].encode()).hexdigest() == draw["seed_sha256"]
    for key in ("seed", "snapshot_sha256", "pool_sha256", "population", "sampled", "excluded"):
        assert draw[key] == office[key], key
    tasks = admin.get("/v1/tasks", params={"campaign_id": campaign["id"], "limit": 500}).json()
    assert {t["uscc"] for t in draw["tasks"]} == {t["uscc"] for t in tasks["items"]}
    assert len(draw["tasks"]) == office["tasks"] >= 1 and draw["status"] == "drawn"
    assert all(len(t["badge_numbers"]) == 2 and t["verdict"] is None for t in draw["tasks"])
    assert "drawn_by" not in draw and "inputs" not in draw

    replayed = httpx.post(f"{public}/verify")  # no token: the public's own check (一公开)
    assert replayed.status_code == 200, replayed.text
    assert replayed.json() == admin.get(f"/v1/campaigns/{campaign['id']}/draw/verify").json()
    assert replayed.json()["matches"] is True
    # a withdrawn (cancelled) draw is no longer published
    admin.post(f"/v1/campaigns/{campaign['id']}/cancel").raise_for_status()
    assert_problem(httpx.get(public), 404, "not-found")
    assert_problem(httpx.post(f"{public}/verify"), 404, "not-found")


def test_a_joint_campaign_from_draw_to_published_results(
    stack,
    admin: httpx.Client,
    gateway_url: str,
    checklist: dict,
    inspectors: list[dict],  # type: ignore[no-untyped-def, type-arg]
) -> None:
    campaign = _campaign(admin, checklist)
    assert campaign["joint"] and campaign["status"] == "planned" and campaign["seed"] is None
    assert len(campaign["seed_sha256"]) == 64
    drawn = admin.post(f"/v1/campaigns/{campaign['id']}/draw")
    assert drawn.status_code == 200, drawn.text
    figures = drawn.json()
    assert (
        figures["tasks"] >= 1
        and hashlib.sha256(figures["seed"].encode()).hexdigest() == campaign["seed_sha256"]
    )
    for level, n in figures["population"].items():
        assert figures["sampled"][level] >= (1 if n else 0)
    assert_problem(admin.post(f"/v1/campaigns/{campaign['id']}/draw"), 409, "conflict")
    verified = admin.get(f"/v1/campaigns/{campaign['id']}/draw/verify").json()
    assert verified["matches"] and verified["tasks_match"] and verified["seed_matches_commitment"]

    tasks = admin.get("/v1/tasks", params={"campaign_id": campaign["id"], "limit": 500}).json()[
        "items"
    ]
    assert len(tasks) == figures["tasks"] and all(len(t["inspector_ids"]) == 2 for t in tasks)
    agency_of = {i["id"]: i["agency"] for i in inspectors}
    for t in tasks:  # joint enforcement: each task has an inspector of each agency
        assert {agency_of.get(i) for i in t["inspector_ids"]} == {"market_supervision", "ciq"}
    public = httpx.get(
        f"{gateway_url}/v1/public/draws", params={"campaign_id": campaign["id"]}
    ).json()
    badges = {i["badge_number"] for i in inspectors}
    assert {p["task_id"] for p in public["items"]} == {t["id"] for t in tasks}
    assert all(set(p["badge_numbers"]) <= badges for p in public["items"])
    assert "name" not in str(public["items"][0].keys()).replace("enterprise", "")

    task = tasks[0]
    by_id = {i["id"]: i for i in inspectors}
    assigned = [by_id[i] for i in task["inspector_ids"]]
    outsider = next(i for i in inspectors if i["id"] not in task["inspector_ids"])
    officer = client_for(
        admin,
        gateway_url,
        ["inspection:read", "inspection:write"],
        inspector_id=assigned[0]["id"],
        agency=assigned[0]["agency"],
    )
    other = client_for(
        admin,
        gateway_url,
        ["inspection:read", "inspection:write"],
        inspector_id=outsider["id"],
        agency=outsider["agency"],
    )
    with officer, other:
        photo = png(64, 48, seed=20)
        uploaded = officer.post(
            "/v1/evidence", content=photo, headers={"Content-Type": "image/png"}
        )
        assert uploaded.status_code == 201, uploaded.text
        photo_sha = uploaded.json()["sha256"]
        mine = officer.get("/v1/tasks", params={"limit": 500}).json()["items"]
        assert task["id"] in {t["id"] for t in mine}
        assert all(assigned[0]["id"] in t["inspector_ids"] for t in mine)
        failing = {
            "findings": [
                {"item": "LED-01", "outcome": "pass"},
                {"item": "LED-02", "outcome": "fail", "note": "带电部件可触及"},
            ],
            "samples": [{"number": "CY-2026-001", "lab": "宁波检验检疫技术中心"}],
            "verdict": "fail",
            "location": {"lat": 29.2883, "lon": 121.4317, "accuracy_m": 12},
            "evidence": [{"sha256": photo_sha, "name": "photo-1.png"}],
        }
        if outsider["id"] not in task["inspector_ids"]:
            assert_problem(other.get(f"/v1/tasks/{task['id']}"), 403, "forbidden")
            assert_problem(
                other.post(f"/v1/tasks/{task['id']}/result", json=failing), 403, "forbidden"
            )
        unknown = {**failing, "findings": [{"item": "XX-99", "outcome": "fail"}]}
        assert (
            "XX-99"
            in assert_problem(
                officer.post(f"/v1/tasks/{task['id']}/result", json=unknown), 422, "validation"
            )["detail"]
        )
        never = hashlib.sha256(b"never uploaded").hexdigest()
        unsent = {**failing, "evidence": [{"sha256": never, "name": "lost.jpg"}]}
        refused = assert_problem(
            officer.post(f"/v1/tasks/{task['id']}/result", json=unsent), 422, "validation"
        )
        assert refused["errors"][0]["field"] == "evidence" and never in str(refused["errors"])
        recorded = officer.post(f"/v1/tasks/{task['id']}/result", json=failing)
        assert recorded.status_code == 200, recorded.text
        assert recorded.json()["result_status"] == "awaiting_confirmation"
        assert _completed_events(stack, task["id"]) == []  # one inspector's word is not final
        with inspector_client(admin, gateway_url, assigned[1]["id"]) as partner:
            done = partner.post(f"/v1/tasks/{task['id']}/confirm")
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "completed" and done.json()["verdict"] == "fail"
        assert_problem(
            officer.post(f"/v1/tasks/{task['id']}/result", json=failing), 409, "conflict"
        )

        # The fail reached credit as a fact of the recording inspector's agency; a CAPA opened.
        fact = wait_until(
            lambda: [
                f
                for f in admin.get("/v1/credit/facts", params={"uscc": task["uscc"]}).json()[
                    "items"
                ]
                if f["kind"] == "spot_check_fail"
            ],
            what="credit fact",
        )[0]
        assert fact["source_agency"] == assigned[0]["agency"] and fact["details"][
            "checklist_items"
        ] == ["LED-01", "LED-02"]
        capa = admin.get("/v1/capas", params={"uscc": task["uscc"]}).json()["items"][0]
        assert capa["status"] == "open" and "LED-02" in capa["findings"]
        assert capa["overdue"] is False

        # Its deadline passes (moved back in the database): announced overdue, once.
        def overdue_events() -> list[tuple]:  # type: ignore[type-arg]
            return sql(
                stack,
                "inspection",
                "SELECT payload->'data'->>'status' FROM outbox"
                " WHERE type = 'inspection.capa.overdue.v1' AND payload->'data'->>'capa_id' = $1",
                capa["id"],
            )

        sql(
            stack,
            "inspection",
            "UPDATE capas SET due_at = now() - interval '1 day' WHERE id = $1",
            uuid.UUID(capa["id"]),
        )
        wait_until(overdue_events, timeout=30, what="the CAPA's overdue announcement")
        time.sleep(2.5)  # two more rounds of the check (every second in test stacks)
        assert overdue_events() == [("overdue",)]
        assert admin.get(f"/v1/capas/{capa['id']}").json()["overdue"] is True
        enterprise = client_for(
            admin, gateway_url, ["inspection:read", "inspection:write"], uscc=task["uscc"]
        )
        with enterprise:
            assert_problem(
                officer.post(f"/v1/capas/{capa['id']}/verification", json={"effective": True}),
                409,
                "conflict",
            )
            # the task's photo is the enterprise's to see; its answer comes with one of its own
            assert enterprise.get(f"/v1/evidence/{photo_sha}").content == photo
            fixed = enterprise.post(
                "/v1/evidence", files={"file": ("整改后.png", png(32, 32, seed=21), "image/png")}
            )
            assert fixed.status_code == 201, fixed.text
            attachment = {"sha256": fixed.json()["sha256"], "name": "整改后.png"}
            responded = enterprise.post(
                f"/v1/capas/{capa['id']}/response",
                json={
                    "root_cause": "装配工序漏检",
                    "actions": "增加耐压测试工位",
                    "evidence": [attachment],
                },
            )
            assert responded.status_code == 200 and responded.json()["status"] == "responded"
            assert responded.json()["evidence"] == [attachment]
            assert officer.get(f"/v1/evidence/{attachment['sha256']}").status_code == 200
            assert_problem(other.get(f"/v1/evidence/{attachment['sha256']}"), 403, "forbidden")
            assert_problem(
                enterprise.post(f"/v1/capas/{capa['id']}/verification", json={"effective": True}),
                403,
                "forbidden",
            )
        closed = officer.post(
            f"/v1/capas/{capa['id']}/verification", json={"effective": True, "note": "复查有效"}
        )
        assert closed.status_code == 200 and closed.json()["status"] == "closed"

    results = httpx.get(
        f"{gateway_url}/v1/public/results", params={"campaign_id": campaign["id"]}
    ).json()["items"]
    assert [(r["uscc"], r["verdict"]) for r in results] == [(task["uscc"], "fail")]


def test_each_assigned_inspector_confirms_for_themselves(
    stack,
    admin: httpx.Client,
    gateway_url: str,
    checklist: dict,
    inspectors: list[dict],  # type: ignore[no-untyped-def, type-arg]
) -> None:
    """Issue 19: inspector 0 recorded a result `confirmed_by` both and it was final at once,
    though inspector 1 did nothing. Now each confirms with their own token."""
    campaign = _campaign(admin, checklist)
    admin.post(f"/v1/campaigns/{campaign['id']}/draw").raise_for_status()
    task = admin.get("/v1/tasks", params={"campaign_id": campaign["id"]}).json()["items"][0]
    first, second = task["inspector_ids"]
    outsider = next(i["id"] for i in inspectors if i["id"] not in task["inspector_ids"])
    path = f"/v1/tasks/{task['id']}"
    result = {"findings": [{"item": "LED-01", "outcome": "pass"}], "verdict": "pass"}
    with (
        inspector_client(admin, gateway_url, first) as recorder,
        inspector_client(admin, gateway_url, second) as partner,
        inspector_client(admin, gateway_url, outsider) as stranger,
    ):
        # naming a colleague is no confirmation of theirs: the field is gone (422)
        vouched = {**result, "confirmed_by": task["inspector_ids"]}
        assert_problem(recorder.post(f"{path}/result", json=vouched), 422, "validation")
        assert_problem(partner.post(f"{path}/confirm"), 409, "conflict")  # nothing recorded
        assert_problem(admin.post(f"{path}/result", json=result), 403, "forbidden")
        recorded = recorder.post(f"{path}/result", json=result)
        assert recorded.status_code == 200, recorded.text
        awaiting = recorded.json()
        assert awaiting["status"] == "open" and awaiting["verdict"] is None
        assert awaiting["result_status"] == "awaiting_confirmation"
        assert awaiting["recorded_by"] == first
        assert [c["inspector_id"] for c in awaiting["confirmations"]] == [first]
        again = recorder.post(f"{path}/confirm")  # the recording was their confirmation
        assert (
            again.status_code == 200 and again.json()["confirmations"] == awaiting["confirmations"]
        )
        assert again.headers["ETag"] == recorded.headers["ETag"]
        assert_problem(stranger.post(f"{path}/confirm"), 403, "forbidden")
        assert_problem(admin.post(f"{path}/confirm"), 403, "forbidden")
        assert _completed_events(stack, task["id"]) == []  # not final: nothing announced
        assert_problem(
            partner.post(f"{path}/confirm", headers={"If-Match": '"1"'}), 412, "precondition-failed"
        )
        final = partner.post(f"{path}/confirm", headers={"If-Match": recorded.headers["ETag"]})
        assert final.status_code == 200, final.text
        body = final.json()
        assert body["status"] == "completed" and body["result_status"] == "final"
        assert body["verdict"] == "pass"
        assert [c["inspector_id"] for c in body["confirmations"]] == [first, second]
        assert _completed_events(stack, task["id"]) == [("pass",)]
        repeat = partner.post(f"{path}/confirm")  # a retry after the last confirmation
        assert repeat.status_code == 200 and repeat.json()["confirmations"] == body["confirmations"]
        assert_problem(recorder.post(f"{path}/result", json=result), 409, "conflict")
        assert _completed_events(stack, task["id"]) == [("pass",)]


def test_officer_sync_pulls_deltas_and_refuses_a_stale_push(
    admin: httpx.Client,
    gateway_url: str,
    checklist: dict,
    inspectors: list[dict],  # type: ignore[type-arg]
) -> None:
    campaign = _campaign(
        admin, checklist, ratios={"A": 1, "B": 1, "C": 1, "D": 1}, agencies=["ciq"]
    )
    admin.post(f"/v1/campaigns/{campaign['id']}/draw").raise_for_status()
    me = inspectors[2]
    officer = client_for(
        admin,
        gateway_url,
        ["inspection:read", "inspection:write"],
        inspector_id=me["id"],
        agency="ciq",
    )
    with officer:
        pulled = wait_until(
            lambda: (
                lambda p: p if any(t["campaign_id"] == campaign["id"] for t in p["tasks"]) else None
            )(officer.get("/v1/sync").json()),
            what="the drawn tasks",
        )
        mine = [t for t in pulled["tasks"] if t["campaign_id"] == campaign["id"]]
        assert mine and all(me["id"] in t["inspector_ids"] for t in pulled["tasks"])
        assert {c["id"] for c in pulled["checklists"]} >= {checklist["id"]}
        assert {e["uscc"] for e in pulled["enterprises"]} >= {t["uscc"] for t in mine}
        again = officer.get("/v1/sync", params={"cursor": pulled["cursor"]}).json()
        assert again["tasks"] == [] and again["deleted"] == []
        result = {
            "findings": [
                {"item": "LED-01", "outcome": "pass"},
                {"item": "LED-02", "outcome": "pass"},
            ],
            "verdict": "pass",
        }
        pushed = officer.post(
            "/v1/sync",
            json={
                "results": [
                    {
                        "task_id": mine[0]["id"],
                        "base_version": mine[0]["version"],
                        "result": result,
                    },
                    {
                        "task_id": mine[1]["id"],
                        "base_version": mine[1]["version"] + 5,
                        "result": result,
                    },
                ]
            },
        ).json()
        assert [(p["kind"], p["status"]) for p in pushed] == [
            ("result", "applied"),
            ("result", "conflict"),
        ]
        naive = {**result, "checked_at": "2026-11-29T10:00:00"}
        assert_problem(
            officer.post(f"/v1/tasks/{mine[1]['id']}/result", json=naive), 422, "validation"
        )
        stranger = client_for(
            admin,
            gateway_url,
            ["inspection:read", "inspection:write"],
            inspector_id=str(uuid.uuid4()),
            agency="ciq",
        )
        with stranger:  # a task not yours: refused, and nothing of it shown
            attempt = {"task_id": mine[1]["id"], "base_version": 99, "result": result}
            confirmation = {"task_id": mine[0]["id"], "base_version": 2}
            refused = stranger.post(
                "/v1/sync", json={"results": [attempt], "confirmations": [confirmation]}
            ).json()
            assert [(r["status"], r["server_task"]) for r in refused] == [("rejected", None)] * 2
        assert pushed[1]["server_task"]["version"] == mine[1]["version"]
        # A change is handed out once every older transaction has ended: soon, not at once.
        delta = wait_until(
            lambda: (lambda d: d if d["tasks"] else None)(
                officer.get("/v1/sync", params={"cursor": pulled["cursor"]}).json()
            ),
            what="the pushed result in the delta",
        )
        recorded = delta["tasks"][0]
        assert [t["id"] for t in delta["tasks"]] == [mine[0]["id"]]
        assert (recorded["status"], recorded["result_status"]) == ("open", "awaiting_confirmation")

        # the other assigned inspector confirms from their own device, with their own token
        partner_id = next(i for i in recorded["inspector_ids"] if i != me["id"])
        with inspector_client(admin, gateway_url, partner_id) as partner:
            confirmed = partner.post(
                "/v1/sync",
                json={
                    "confirmations": [
                        {"task_id": mine[0]["id"], "base_version": recorded["version"] - 1},
                        {"task_id": mine[1]["id"], "base_version": mine[1]["version"]},
                        {"task_id": mine[0]["id"], "base_version": recorded["version"]},
                        {"task_id": mine[0]["id"], "base_version": recorded["version"]},
                    ]
                },
            ).json()
        # stale; nothing recorded to confirm; applied, final; the same again, a no-op
        assert [(c["kind"], c["status"]) for c in confirmed] == [
            ("confirmation", "conflict"),
            ("confirmation", "rejected"),
            ("confirmation", "applied"),
            ("confirmation", "applied"),
        ]
        final = confirmed[3]["server_task"]
        assert (final["status"], final["result_status"]) == ("completed", "final")
        assert [c["inspector_id"] for c in final["confirmations"]] == [me["id"], partner_id]
        delta = wait_until(
            lambda: (lambda d: d if d["tasks"] else None)(
                officer.get("/v1/sync", params={"cursor": delta["cursor"]}).json()
            ),
            what="the confirmation in the delta",
        )
        assert [(t["id"], t["status"]) for t in delta["tasks"]] == [(mine[0]["id"], "completed")]
        admin.post(f"/v1/campaigns/{campaign['id']}/cancel").raise_for_status()
        withdrawn = wait_until(
            lambda: (lambda d: d if d["deleted"] else None)(
                officer.get("/v1/sync", params={"cursor": delta["cursor"]}).json()
            ),
            what="the withdrawn tasks",
        )
        assert set(withdrawn["deleted"]) == {t["id"] for t in mine[1:]}
        assert_problem(admin.get("/v1/sync"), 403, "forbidden")
        assert_problem(officer.get("/v1/sync", params={"cursor": "bogus"}), 400, "bad-request")


def test_a_committed_seed_must_be_revealed_exactly(
    admin: httpx.Client, checklist: dict, inspectors: list[dict]
) -> None:  # type: ignore[type-arg]
    seed = "宁海县2026年第一批双随机抽查种子-" + uuid.uuid4().hex
    campaign = _campaign(admin, checklist, seed_sha256=hashlib.sha256(seed.encode()).hexdigest())
    path = f"/v1/campaigns/{campaign['id']}/draw"
    assert "reveal the seed" in assert_problem(admin.post(path), 422, "validation")["detail"]
    assert_problem(admin.post(path, json={"seed": seed + "x"}), 422, "validation")
    drawn = admin.post(path, json={"seed": seed})
    assert drawn.status_code == 200 and drawn.json()["seed"] == seed
    assert admin.get(f"{path}/verify").json()["matches"]


def test_an_unstaffable_draw_is_refused_whole(admin: httpx.Client, checklist: dict) -> None:  # type: ignore[type-arg]
    campaign = _campaign(admin, checklist, agencies=["finance"])  # no finance inspectors
    refused = admin.post(f"/v1/campaigns/{campaign['id']}/draw")
    body = assert_problem(refused, 409, "conflict")
    assert body["unstaffable"] and "cannot be staffed" in body["detail"]
    assert admin.get(f"/v1/campaigns/{campaign['id']}").json()["status"] == "planned"
    assert admin.get("/v1/tasks", params={"campaign_id": campaign["id"]}).json()["items"] == []


def test_a_recognised_result_spares_the_enterprise(
    stack, admin: httpx.Client, checklist: dict, inspectors: list[dict]
) -> None:  # type: ignore[no-untyped-def, type-arg]
    uscc = new_uscc()
    admin.post("/v1/enterprises", json=enterprise_body(uscc)).raise_for_status()
    mid = admin.post("/v1/zones/lighting-provincial/applications", json={"uscc": uscc}).json()["id"]
    admin.post(f"/v1/memberships/{mid}/decision", json={"decision": "admit"}).raise_for_status()
    wait_until(
        lambda: admin.get(f"/v1/credit/enterprises/{uscc}").status_code == 200, what="credit"
    )
    fact = admin.post(
        "/v1/credit/facts",
        json={
            "uscc": uscc,
            "kind": "spot_check_pass",
            "occurred_at": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
            "source_agency": "market_supervision",
        },
    ).json()
    recognition = admin.post(
        "/v1/credit/recognitions",
        json={
            "recognising_agency": "ciq",
            "recognised_agency": "market_supervision",
            "result_kind": "inspection_result",
            "valid_from": str(TODAY - timedelta(days=30)),
            "valid_to": str(TODAY + timedelta(days=300)),
        },
    )
    assert recognition.status_code == 201, recognition.text
    wait_until(  # both reach inspection as events
        lambda: sql(
            stack,
            "inspection",
            "SELECT 1 FROM recognitions WHERE id = $1",
            uuid.UUID(recognition.json()["id"]),
        ),
        what="recognition mirrored",
    )
    wait_until(
        lambda: sql(
            stack, "inspection", "SELECT 1 FROM results WHERE fact_id = $1", uuid.UUID(fact["id"])
        ),
        what="result mirrored",
    )
    wait_until(
        lambda: (
            "lighting-provincial"
            in (
                sql(stack, "inspection", "SELECT zones FROM directory WHERE uscc = $1", uscc)
                or [([],)]
            )[0][0]
        ),
        what="member",
    )
    campaign = _campaign(
        admin, checklist, agencies=["ciq"], ratios={"A": 1, "B": 1, "C": 1, "D": 1}
    )
    drawn = admin.post(f"/v1/campaigns/{campaign['id']}/draw").json()
    assert drawn["excluded"] >= 1
    tasks = admin.get("/v1/tasks", params={"campaign_id": campaign["id"], "uscc": uscc}).json()[
        "items"
    ]
    assert tasks == []


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"ratios": {"A": 1.5}}, "ratios"),
        ({"window_end": str(TODAY - timedelta(days=1))}, "window_end"),
        ({"inspectors_per_task": 1}, "inspectors_per_task"),
        ({"industries": ["toys"]}, "industries"),
        ({"agencies": []}, "agencies"),
    ],
)
def test_bad_campaigns_are_refused(
    admin: httpx.Client, checklist: dict, change: dict, words: str
) -> None:  # type: ignore[type-arg]
    body = {"title": "t", "agencies": ["ciq"], "checklist_id": checklist["id"], **WINDOW, **change}
    response = admin.post("/v1/campaigns", json=body)
    assert words in assert_problem(response, 422, "validation")["detail"]


def test_a_campaign_on_an_unknown_checklist_is_404(admin: httpx.Client) -> None:
    body = {"title": "t", "agencies": ["ciq"], "checklist_id": str(uuid.uuid4()), **WINDOW}
    assert (
        "checklist"
        in assert_problem(admin.post("/v1/campaigns", json=body), 404, "not-found")["detail"]
    )


def test_bad_checklists_and_inspectors_are_refused(admin: httpx.Client) -> None:
    bad = {"code": "x-checklist", "industry": "toys", "title": "t", "items": ITEMS}
    assert_problem(admin.post("/v1/checklists", json=bad), 422, "validation")
    twice = {**bad, "industry": "lighting", "items": ITEMS + ITEMS[:1]}
    assert (
        "unique"
        in assert_problem(admin.post("/v1/checklists", json=twice), 422, "validation")["detail"]
    )
    badge = f"3302{uuid.uuid4().int % 10**10:010d}"
    body = {"agency": "ciq", "badge_number": badge, "name": "甲"}
    assert admin.post("/v1/inspectors", json=body).status_code == 201
    assert_problem(admin.post("/v1/inspectors", json=body), 409, "conflict")


def test_agencies_manage_only_their_own_officers_and_campaigns(
    admin: httpx.Client,
    gateway_url: str,
    checklist: dict,
    inspectors: list[dict],  # type: ignore[type-arg]
) -> None:
    ciq = client_for(admin, gateway_url, ["inspection:read", "inspection:write"], agency="ciq")
    with ciq:
        theirs = {
            "agency": "market_supervision",
            "badge_number": f"3302{uuid.uuid4().int % 10**10:010d}",
            "name": "乙",
        }
        assert_problem(ciq.post("/v1/inspectors", json=theirs), 403, "forbidden")
        samr_officer = next(i for i in inspectors if i["agency"] == "market_supervision")
        assert_problem(
            ciq.patch(f"/v1/inspectors/{samr_officer['id']}", json={"active": False}),
            403,
            "forbidden",
        )
        campaign = _campaign(admin, checklist, agencies=["market_supervision"])
        assert_problem(ciq.post(f"/v1/campaigns/{campaign['id']}/draw"), 403, "forbidden")
        assert_problem(ciq.post(f"/v1/campaigns/{campaign['id']}/cancel"), 403, "forbidden")
        body = {
            "title": "t",
            "agencies": ["market_supervision"],
            "checklist_id": checklist["id"],
            **WINDOW,
        }
        assert_problem(ciq.post("/v1/campaigns", json=body), 403, "forbidden")
        admin.post(f"/v1/campaigns/{campaign['id']}/cancel").raise_for_status()
        conflict = {"uscc": new_uscc(), "reason": "亲属", "valid_from": str(TODAY)}
        assert_problem(
            ciq.post(f"/v1/inspectors/{samr_officer['id']}/conflicts", json=conflict),
            403,
            "forbidden",
        )
        some = admin.get("/v1/directory", params={"limit": 1}).json()["items"][0]["uscc"]
        assert_problem(ciq.patch(f"/v1/directory/{some}", json={"unit": "x"}), 403, "forbidden")


def test_an_inspector_id_outside_the_pool_sees_nothing(
    admin: httpx.Client, gateway_url: str
) -> None:
    scopes = ["inspection:read", "inspection:write"]
    with client_for(admin, gateway_url, scopes, inspector_id="insp-0001") as odd:
        assert odd.get("/v1/tasks").json()["items"] == []
        assert odd.get("/v1/capas").json()["items"] == []
        assert odd.get("/v1/sync").json()["tasks"] == []
