"""Zone programme management through the gateway (#10, registry's half): the seeded
leadership group and its first joint meeting; a meeting's decisions becoming action items
that agencies report done, on time or late, and the target assessment that counts them;
the responsibility system routing a problem to its owner; alliance standards with adoptions
and 同线同质同标 declarations; a training whose attendance arrives in credit as a fact; award
rounds refusing an enterprise for its credit level or an open serious alert, until
inspection closes the alert. Each bad input of the issue answers 422 or 409 with the field
or rule named."""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, time, timedelta
from time import sleep
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from deploy.launcher import Stack
from tests.helpers import (
    assert_problem,
    client_for,
    enterprise_body,
    new_uscc,
    publish_raw,
    sql,
    wait_until,
)

ZONE = "lighting-provincial"
RW = ["registry:read", "registry:write"]


def _today() -> date:
    return datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date()


@pytest.fixture(scope="module")
def agency(admin: httpx.Client, gateway_url: str) -> Any:
    """An agency's client (registry read and write), one per agency code."""
    made: dict[str, httpx.Client] = {}

    def make(code: str) -> httpx.Client:
        if code not in made:
            made[code] = client_for(admin, gateway_url, RW, agency=code)
        return made[code]

    return make


def _register(admin: httpx.Client, *, admit: bool = True, zone: str = ZONE) -> str:
    uscc = new_uscc()
    admin.post("/v1/enterprises", json=enterprise_body(uscc)).raise_for_status()
    if admit:
        mid = admin.post(f"/v1/zones/{zone}/applications", json={"uscc": uscc}).json()["id"]
        admin.post(f"/v1/memberships/{mid}/decision", json={"decision": "admit"}).raise_for_status()
    return uscc


def _events(stack: Stack, event_type: str, key: str, value: str) -> list[dict[str, Any]]:
    """Outbox rows of a type whose data has `key` = `value` (each state change's event)."""
    rows = sql(
        stack,
        "registry",
        "SELECT payload::text FROM outbox WHERE type = $1 AND payload->'data'->>$2 = $3 "
        "ORDER BY seq",
        event_type,
        key,
        value,
    )
    return [json.loads(r[0])["data"] for r in rows]


def _field_errors(response: httpx.Response) -> list[str]:
    body = assert_problem(response, 422, "validation")
    return [e["field"] for e in body["errors"]]


# --- the seeded group and meeting ---------------------------------------------------


def test_the_guidance_group_and_its_first_meeting_are_seeded(admin: httpx.Client) -> None:
    group = admin.get("/v1/leadership-groups/ninghai")
    assert group.status_code == 200, group.text
    body = group.json()
    assert body["leader"] == "county_gov_office" and body["office"] == "commerce"
    assert body["basis"] == "宁政办发〔2017〕49号"
    members = {m["agency_code"]: m for m in body["members"]}
    assert set(members) == {
        "county_gov_office",
        "commerce",
        "ciq",
        "econ_it",
        "sci_tech",
        "finance",
        "market_supervision",
    }
    assert {"name": "王鸿飞", "position": "head"} in members["county_gov_office"]["representatives"]
    assert {"name": "张晓桦", "position": "office_director"} in members["commerce"][
        "representatives"
    ]

    listed = admin.get("/v1/meetings", params={"group": "ninghai"}).json()["items"]
    seeded = [m for m in listed if m["title"] == "2017年示范区建设第一次联席会议"]
    assert len(seeded) == 1
    meeting = admin.get(f"/v1/meetings/{seeded[0]['id']}").json()
    assert meeting["held_on"] == "2017-07-20" and len(meeting["attendees"]) == 7
    assert meeting["minutes_sha256"] == hashlib.sha256(meeting["minutes"].encode()).hexdigest()
    by_owner = {i["owner_agency"]: i for i in meeting["action_items"]}
    assert len(meeting["action_items"]) == 6 and len(meeting["decisions"]) == 3
    assert by_owner["commerce"]["status"] == "done" and by_owner["commerce"]["on_time"] is True
    assert by_owner["finance"]["on_time"] is False  # done 2017-10-20, due 2017-09-30
    assert by_owner["econ_it"]["status"] == "open" and by_owner["econ_it"]["overdue"] is True

    def figures(year: int) -> dict[str, dict[str, Any]]:
        page = admin.get("/v1/assessments", params={"year": year, "group": "ninghai"}).json()
        return {a["agency_code"]: a for a in page["items"]}

    y2017, y2018 = figures(2017), figures(2018)
    assert y2017["commerce"]["assigned"] == 1 and y2017["commerce"]["done_on_time"] == 1
    assert y2017["finance"]["done_late"] == 1 and y2017["finance"]["on_time_rate"] == 0.0
    assert y2017["ciq"]["done_on_time"] == 1 and y2017["econ_it"]["assigned"] == 0
    assert y2018["econ_it"] == {
        **y2018["econ_it"],
        "assigned": 1,
        "open": 1,
        "overdue": 1,
        "done_on_time": 0,
        "done_late": 0,
        "on_time_rate": 0.0,
    }
    # every programme event has its contract in the AsyncAPI document
    channels = {c["address"] for c in admin.get("/asyncapi.json").json()["channels"].values()}
    assert {
        "registry.meeting.held",
        "registry.action_item.done",
        "registry.training.attended",
        "registry.award.granted",
        "inspection.alert.closed",
    } <= channels
    # seeded county-wide: overall (the county government) and each agency's part
    route = admin.get("/v1/responsibilities/route", params={"zone": ZONE, "topic": "spot_checks"})
    assert route.json()["owner"]["agency_code"] == "market_supervision"


# --- joint meetings, action items and the assessment -------------------------------


@pytest.fixture(scope="module")
def group(admin: httpx.Client) -> str:
    code = f"t-{uuid.uuid4().hex[:8]}"
    created = admin.post(
        "/v1/leadership-groups",
        json={
            "code": code,
            "county": "测试县",
            "name_zh": "测试县示范区建设领导小组",
            "name_en": "Test county leadership group",
            "members": [
                {"agency_code": "county_gov_office", "role": "leader"},
                {"agency_code": "commerce", "role": "office"},
                {"agency_code": "ciq", "role": "member"},
                {"agency_code": "finance", "role": "member"},
            ],
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["office"] == "commerce"
    return code


def _meeting(group: str, held_on: date, *items: dict[str, Any]) -> dict[str, Any]:
    return {
        "group_code": group,
        "title": "联席会议",
        "held_on": str(held_on),
        "agenda": ["部署工作任务"],
        "attendees": ["commerce", "ciq", "finance"],
        "minutes": f"会议纪要 {uuid.uuid4()}",
        "decisions": [{"text": "落实职责分工", "action_items": list(items)}],
    }


def test_meeting_action_items_and_the_target_assessment(
    admin: httpx.Client, agency: Any, group: str, stack: Stack
) -> None:
    today = _today()
    held = today - timedelta(days=40)
    office, ciq, finance = agency("commerce"), agency("ciq"), agency("finance")
    items = [
        {"title": "建立风险预警机制", "owner_agency": "ciq", "deadline": str(today + timedelta(5))},
        {"title": "开展追溯检查", "owner_agency": "ciq", "deadline": str(today - timedelta(10))},
        {
            "title": "落实专项资金",
            "owner_agency": "finance",
            "deadline": str(today + timedelta(30)),
            "zone_code": ZONE,
        },
    ]
    # only the group's office (or an admin) records its meetings
    assert_problem(
        agency("market_supervision").post("/v1/meetings", json=_meeting(group, held, *items)),
        403,
        "forbidden",
    )
    before = {
        a["agency_code"]: a
        for a in admin.get("/v1/assessments", params={"year": today.year, "group": group}).json()[
            "items"
        ]
    }
    assert before["ciq"]["assigned"] == 0 and set(before) == {
        "county_gov_office",
        "commerce",
        "ciq",
        "finance",
    }

    created = office.post("/v1/meetings", json=_meeting(group, held, *items))
    assert created.status_code == 201, created.text
    meeting = created.json()
    assert created.headers["location"] == f"/v1/meetings/{meeting['id']}"
    soon, late, funds = meeting["action_items"]
    assert [i["decision_no"] for i in meeting["action_items"]] == [1, 1, 1]
    assert soon["status"] == "open" and soon["overdue"] is False and soon["on_time"] is None
    assert late["overdue"] is True and funds["zone_code"] == ZONE
    assert _events(stack, "registry.meeting.held.v1", "meeting_id", meeting["id"])[0][
        "action_item_ids"
    ] == [soon["id"], late["id"], funds["id"]]
    assigned = _events(stack, "registry.action_item.assigned.v1", "meeting_id", meeting["id"])
    assert sorted(e["owner_agency"] for e in assigned) == ["ciq", "ciq", "finance"]

    overdue = admin.get(
        "/v1/action-items", params={"owner_agency": "ciq", "overdue": "true", "limit": 500}
    ).json()["items"]
    assert late["id"] in [i["id"] for i in overdue] and soon["id"] not in [i["id"] for i in overdue]
    # the item past its deadline is announced overdue once (the test stacks check every second)
    wait_until(
        lambda: _events(stack, "registry.action_item.overdue.v1", "meeting_id", meeting["id"]),
        timeout=30,
        what="the overdue announcement",
    )
    sleep(2.5)  # two more rounds of the check: still one announcement, of `late` only
    announced = _events(stack, "registry.action_item.overdue.v1", "meeting_id", meeting["id"])
    assert [(e["item_id"], e["status"], e["overdue"]) for e in announced] == [
        (late["id"], "open", True)
    ]

    # only the owner reports it done, with evidence
    assert_problem(
        finance.post(f"/v1/action-items/{soon['id']}/done", json={"evidence": "已完成"}),
        403,
        "forbidden",
    )
    assert _field_errors(ciq.post(f"/v1/action-items/{soon['id']}/done", json={})) == ["evidence"]
    assert "evidence" in _field_errors(
        ciq.post(f"/v1/action-items/{soon['id']}/done", json={"evidence": "   "})
    )
    assert "done_on" in _field_errors(
        ciq.post(
            f"/v1/action-items/{soon['id']}/done",
            json={"evidence": "补报", "done_on": str(held - timedelta(days=1))},
        )
    )
    done = ciq.post(
        f"/v1/action-items/{soon['id']}/done",
        json={"evidence": "风险预警机制已建立并运行", "evidence_ref": "宁检〔2026〕12号"},
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "done" and done.json()["on_time"] is True
    assert done.json()["done_on"] == str(today)
    assert_problem(
        ciq.post(f"/v1/action-items/{soon['id']}/done", json={"evidence": "again"}),
        409,
        "illegal-transition",
    )
    late_done = ciq.post(f"/v1/action-items/{late['id']}/done", json={"evidence": "已补做"})
    assert late_done.json()["on_time"] is False and late_done.json()["overdue"] is False
    done_events = _events(stack, "registry.action_item.done.v1", "meeting_id", meeting["id"])
    assert {(e["item_id"], e["on_time"]) for e in done_events} == {
        (soon["id"], True),
        (late["id"], False),
    }

    after = {
        a["agency_code"]: a
        for a in admin.get("/v1/assessments", params={"year": today.year, "group": group}).json()[
            "items"
        ]
    }
    due_this_year = [i for i in items if date.fromisoformat(i["deadline"]).year == today.year]
    ciq_due = [i for i in due_this_year if i["owner_agency"] == "ciq"]
    assert after["ciq"]["assigned"] == len(ciq_due)
    assert after["ciq"]["done_on_time"] + after["ciq"]["done_late"] == len(ciq_due)
    assert after["ciq"]["open"] == 0 and after["ciq"]["overdue"] == 0
    finance_due = [i for i in due_this_year if i["owner_agency"] == "finance"]
    assert after["finance"]["open"] == len(finance_due) and after["finance"]["overdue"] == 0
    assert after["commerce"]["assigned"] == 0 and after["commerce"]["on_time_rate"] is None
    one = admin.get(
        "/v1/assessments", params={"year": today.year, "group": group, "agency": "finance"}
    ).json()["items"]
    assert [a["agency_code"] for a in one] == ["finance"]
    # enterprises do not see the group's records
    own = client_for(admin, stack.url("gateway"), ["registry:read"], uscc=_register(admin))
    assert_problem(own.get("/v1/meetings"), 403, "forbidden")


def test_bad_meeting_input_is_refused_naming_the_field_or_rule(
    admin: httpx.Client, agency: Any, group: str
) -> None:
    office = agency("commerce")
    held = _today() - timedelta(days=3)
    no_owner = office.post(
        "/v1/meetings",
        json=_meeting(group, held, {"title": "无人负责", "deadline": str(held + timedelta(9))}),
    )
    assert _field_errors(no_owner) == ["decisions.0.action_items.0.owner_agency"]
    early = office.post(
        "/v1/meetings",
        json=_meeting(
            group,
            held,
            {"title": "按期", "owner_agency": "ciq", "deadline": str(held)},
            {"title": "早于会议", "owner_agency": "ciq", "deadline": str(held - timedelta(1))},
        ),
    )
    errors = assert_problem(early, 422, "validation")["errors"]
    assert [e["field"] for e in errors] == ["decisions.0.action_items.1.deadline"]
    assert "held_on" in errors[0]["reason"]
    future = office.post("/v1/meetings", json=_meeting(group, _today() + timedelta(days=2)))
    assert _field_errors(future) == ["held_on"]
    assert _field_errors(office.post("/v1/meetings", json={**_meeting(group, held), "agenda": []}))
    outsider = office.post(
        "/v1/meetings",
        json=_meeting(
            group, held, {"title": "x", "owner_agency": "sci_tech", "deadline": str(held)}
        ),
    )
    assert assert_problem(outsider, 409, "conflict")["rule"] == "owner_in_group"
    unknown = office.post(
        "/v1/meetings",
        json=_meeting(group, held, {"title": "x", "owner_agency": "nobody", "deadline": str(held)}),
    )
    assert_problem(unknown, 404, "not-found")
    # the roster keeps one leader unit and one office
    second_office = admin.put(
        f"/v1/leadership-groups/{group}/members/finance", json={"role": "office"}
    )
    assert assert_problem(second_office, 409, "conflict")["rule"] == "one_office"
    twice = admin.post(
        "/v1/leadership-groups",
        json={
            "code": f"t-{uuid.uuid4().hex[:8]}",
            "county": "x",
            "name_zh": "x",
            "name_en": "x",
            "members": [
                {"agency_code": "ciq", "role": "leader"},
                {"agency_code": "finance", "role": "leader"},
            ],
        },
    )
    assert_problem(twice, 422, "validation")
    moved = admin.put(
        f"/v1/leadership-groups/{group}/members/sci_tech",
        json={"role": "member", "representatives": [{"name": "李明", "position": "member"}]},
    )
    assert moved.status_code == 200, moved.text
    assert "sci_tech" in [
        m["agency_code"] for m in admin.get(f"/v1/leadership-groups/{group}").json()["members"]
    ]
    assert_problem(
        agency("ciq").put(
            f"/v1/leadership-groups/{group}/members/sci_tech", json={"role": "member"}
        ),
        403,
        "forbidden",
    )


# --- responsibility system ----------------------------------------------------------


def test_responsibilities_route_a_problem_to_its_owner(
    admin: httpx.Client, agency: Any, stack: Stack
) -> None:
    zone = "hardware-provincial"
    topic = f"t_{uuid.uuid4().hex[:8]}"
    uscc = _register(admin, zone=zone)  # first responsible where it is an admitted member
    # nobody answers for the topic in the zone: the county government's overall duty does
    fallback = admin.get("/v1/responsibilities/route", params={"zone": zone, "topic": topic})
    assert fallback.status_code == 200, fallback.text
    assert fallback.json()["owner"] == {
        "tier": "overall",
        "agency_code": "county_gov_office",
        "uscc": None,
        "duty": "县政府对示范区质量安全负总责",
        "responsible_person": None,
        "source": "county",
    }
    body = {"zone_code": zone, "tier": "supervisory", "topic": topic, "agency_code": "ciq"}
    created = admin.post("/v1/responsibilities", json={**body, "duty": "出口检验"})
    assert created.status_code == 201, created.text
    replaced = admin.post("/v1/responsibilities", json={**body, "duty": "出口检验和追溯"})
    assert replaced.status_code == 200 and replaced.json()["id"] == created.json()["id"]
    primary = admin.post(
        "/v1/responsibilities",
        json={
            "zone_code": zone,
            "tier": "primary",
            "topic": topic,
            "uscc": uscc,
            "duty": "企业对产品质量安全负第一责任",
            "responsible_person": "王伟",
        },
    )
    assert primary.status_code == 201, primary.text
    routed = admin.get(
        "/v1/responsibilities/route", params={"zone": zone, "topic": topic, "uscc": uscc}
    ).json()
    assert routed["owner"]["agency_code"] == "ciq" and routed["owner"]["source"] == "zone"
    assert routed["owner"]["duty"] == "出口检验和追溯"
    assert routed["first_responsible"]["uscc"] == uscc
    assert routed["first_responsible"]["responsible_person"] == "王伟"
    assert [p["tier"] for p in routed["chain"]] == ["primary", "supervisory", "overall"]
    # another zone: the county-wide supervision; an enterprise with no record: the rule
    other = _register(admin, admit=False)
    elsewhere = admin.get(
        "/v1/responsibilities/route",
        params={"zone": "molds-provincial", "topic": "export_inspection", "uscc": other},
    ).json()
    assert elsewhere["owner"]["agency_code"] == "ciq" and elsewhere["owner"]["source"] == "county"
    assert elsewhere["first_responsible"]["source"] == "rule"
    listed = admin.get("/v1/responsibilities", params={"zone": zone, "topic": topic}).json()
    assert {r["tier"] for r in listed["items"]} == {"supervisory", "primary"}
    events = _events(stack, "registry.responsibility.assigned.v1", "topic", topic)
    assert len(events) == 3

    assert "body" in _field_errors(
        admin.post(
            "/v1/responsibilities",
            json={"zone_code": zone, "tier": "primary", "agency_code": "ciq", "duty": "x"},
        )
    )
    assert _field_errors(
        admin.post(
            "/v1/responsibilities",
            json={"tier": "supervisory", "topic": topic, "uscc": uscc, "duty": "x"},
        )
    )
    assert_problem(
        agency("ciq").post("/v1/responsibilities", json={**body, "duty": "x"}), 403, "forbidden"
    )
    # a zone registry does not hold is a 422 listing those it does, like the lists' filters
    unknown = assert_problem(
        admin.get("/v1/responsibilities/route", params={"zone": "no-such-zone", "topic": topic}),
        422,
        "validation",
    )["errors"]
    assert [(e["field"], e["type"]) for e in unknown] == [("query.zone", "unknown_value")]
    assert zone in unknown[0]["allowed"]
    malformed = assert_problem(
        admin.get("/v1/responsibilities/route", params={"zone": "No Zone!", "topic": topic}),
        422,
        "validation",
    )["errors"]
    assert [e["field"] for e in malformed] == ["query.zone"]


# --- alliance standards -------------------------------------------------------------


def test_standards_adoptions_and_same_line_declarations(
    admin: httpx.Client, agency: Any, gateway_url: str, stack: Stack
) -> None:
    adopter, other = _register(admin), _register(admin)
    code = f"T/NHDJ {uuid.uuid4().int % 1000:03d}-{uuid.uuid4().hex[:4]}"
    text = "LED 灯具出口质量联盟标准：光生物安全、电气安全、能效……"

    def counts() -> dict[str, Any]:
        page = admin.get("/v1/standards/adoption-by-zone", params={"zone": ZONE}).json()
        return page["items"][0]  # type: ignore[no-any-return]

    def every_zone() -> dict[str, dict[str, Any]]:
        page = admin.get("/v1/standards/adoption-by-zone", params={"limit": 500}).json()
        return {z["zone_code"]: z for z in page["items"]}

    before, zones_before = counts(), every_zone()
    assert zones_before[ZONE] == before
    published = agency("ciq").post(
        "/v1/standards",
        json={
            "code": code,
            "version": "2026",
            "title": "LED 灯具出口质量联盟标准",
            "alliance": "宁海灯具产业联盟",
            "zone_code": ZONE,
            "effective_on": "2026-01-01",
            "text": text,
        },
    )
    assert published.status_code == 201, published.text
    standard = published.json()
    assert standard["text_sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert standard["adopters"] == 0
    again = admin.post(
        "/v1/standards",
        json={
            "code": code,
            "version": "2026",
            "title": "x",
            "industry": "lighting",
            "effective_on": "2026-01-01",
            "text_sha256": "0" * 64,
        },
    )
    assert_problem(again, 409, "conflict")
    for bad in (
        {"zone_code": ZONE},  # neither text nor hash
        {"zone_code": ZONE, "text": "x", "text_sha256": "0" * 64},  # both
        {"text": "x"},  # neither zone nor industry
        {"zone_code": ZONE, "text_sha256": "XYZ"},
    ):
        body = {"code": "T/X 1", "version": "1", "title": "x", "effective_on": "2026-01-01", **bad}
        assert_problem(admin.post("/v1/standards", json=body), 422, "validation")

    sid = standard["id"]
    own = client_for(admin, gateway_url, RW, uscc=adopter)
    assert_problem(
        own.post(f"/v1/standards/{sid}/adoptions", json={"uscc": other}), 403, "forbidden"
    )
    adopted = own.post(f"/v1/standards/{sid}/adoptions", json={"uscc": adopter})
    assert adopted.status_code == 201, adopted.text
    assert adopted.json()["adopted_on"] == str(_today())
    assert own.post(f"/v1/standards/{sid}/adoptions", json={"uscc": adopter}).status_code == 200
    not_adopted = admin.post(
        f"/v1/standards/{sid}/declarations", json={"uscc": other, "product": "LED 吸顶灯"}
    )
    assert assert_problem(not_adopted, 409, "conflict")["rule"] == "adopted_first"
    declared = own.post(
        f"/v1/standards/{sid}/declarations",
        json={"uscc": adopter, "product": "LED 吸顶灯", "hs_code": "940542"},
    )
    assert declared.status_code == 201, declared.text
    assert_problem(
        own.post(
            f"/v1/standards/{sid}/declarations", json={"uscc": adopter, "product": "LED 吸顶灯"}
        ),
        409,
        "conflict",
    )
    assert admin.get(f"/v1/standards/{sid}").json()["adopters"] == 1
    applying = admin.get("/v1/standards", params={"zone": ZONE, "limit": 500}).json()["items"]
    assert sid in [s["id"] for s in applying]
    after = counts()
    assert after["standards"] == before["standards"] + 1
    assert after["members"] == before["members"]  # both were admitted before
    assert after["adopters"] == before["adopters"] + 1
    assert after["declarations"] == before["declarations"] + 1
    assert after["adoption_rate"] == round(after["adopters"] / after["members"], 4)
    # each zone counts its own: a lighting zone's standard leaves the other zones' figures
    zones_after = every_zone()
    assert zones_after[ZONE] == after
    assert {c: z for c, z in zones_after.items() if c != ZONE} == {
        c: z for c, z in zones_before.items() if c != ZONE
    }
    assert [
        e["uscc"] for e in _events(stack, "registry.standard.adopted.v1", "standard_id", sid)
    ] == [adopter]
    assert [
        e["product"] for e in _events(stack, "registry.standard.declared.v1", "standard_id", sid)
    ] == ["LED 吸顶灯"]
    assert len(_events(stack, "registry.standard.published.v1", "standard_id", sid)) == 1
    seen = own.get(f"/v1/standards/{sid}/adoptions").json()["items"]
    assert [a["uscc"] for a in seen] == [adopter]


# --- trainings ----------------------------------------------------------------------


def test_training_attendance_becomes_a_credit_fact(
    admin: httpx.Client, agency: Any, gateway_url: str, stack: Stack
) -> None:
    uscc, absent = _register(admin), _register(admin)
    score_before = wait_until(
        lambda: admin.get(f"/v1/credit/enterprises/{uscc}").json().get("score"),
        timeout=30,
        what="the enterprise's first score",
    )
    samr = agency("market_supervision")
    held_on = str(_today() - timedelta(days=2))
    created = samr.post(
        "/v1/trainings",
        json={
            "title": "出口产品质量诚信与法律法规培训",
            "topic": "quality_integrity",
            "held_on": held_on,
            "zone_code": ZONE,
            "hours": 3,
            "attendees": [uscc],
        },
    )
    assert created.status_code == 201, created.text
    training = created.json()
    assert training["organiser_agency"] == "market_supervision" and training["attendance"] == 1

    def fact() -> list[dict[str, Any]] | None:
        facts = admin.get("/v1/credit/facts", params={"uscc": uscc, "kind": "training"}).json()
        return facts["items"] or None

    (recorded,) = wait_until(fact, timeout=30, what="the training fact in credit")
    assert recorded["source_agency"] == "market_supervision"
    assert recorded["details"]["training_id"] == training["id"]
    china = ZoneInfo("Asia/Shanghai")
    assert datetime.fromisoformat(recorded["occurred_at"]) == datetime.combine(
        date.fromisoformat(held_on), time.min, tzinfo=china
    )
    credit = wait_until(
        lambda: (
            (c := admin.get(f"/v1/credit/enterprises/{uscc}").json())["score"] > score_before and c
        ),
        timeout=30,
        what="a higher score",
    )
    assert "training" in [c["kind"] for c in credit["contributions"]]

    # a repeat is a duplicate, not a second fact
    repeat = samr.post(f"/v1/trainings/{training['id']}/attendance", json={"usccs": [uscc]})
    assert repeat.status_code == 200 and repeat.json() == {"recorded": [], "duplicates": [uscc]}
    attended = _events(stack, "registry.training.attended.v1", "training_id", training["id"])
    assert [e["uscc"] for e in attended] == [uscc]
    assert_problem(
        agency("ciq").post(f"/v1/trainings/{training['id']}/attendance", json={"usccs": [absent]}),
        403,
        "forbidden",
    )
    assert_problem(
        samr.post(f"/v1/trainings/{training['id']}/attendance", json={"usccs": [new_uscc()]}),
        404,
        "not-found",
    )
    assert _field_errors(
        samr.post(
            "/v1/trainings",
            json={"title": "x", "topic": "law", "held_on": str(_today() + timedelta(days=3))},
        )
    ) == ["held_on"]
    assert_problem(
        samr.post(
            "/v1/trainings",
            json={"title": "x", "topic": "law", "held_on": held_on, "organiser_agency": "ciq"},
        ),
        403,
        "forbidden",
    )
    # an enterprise sees the trainings it attended, and only its own attendance
    mine = client_for(admin, gateway_url, ["registry:read"], uscc=uscc)
    assert training["id"] in [t["id"] for t in mine.get("/v1/trainings").json()["items"]]
    theirs = client_for(admin, gateway_url, ["registry:read"], uscc=absent)
    assert training["id"] not in [t["id"] for t in theirs.get("/v1/trainings").json()["items"]]
    assert theirs.get(f"/v1/trainings/{training['id']}/attendance").json()["items"] == []


# --- honours ------------------------------------------------------------------------


def _level(admin: httpx.Client, uscc: str) -> str:
    return wait_until(  # type: ignore[no-any-return]
        lambda: admin.get(f"/v1/enterprises/{uscc}").json().get("credit_level"),
        timeout=30,
        what="registry's mirror of the credit level",
    )


def test_awards_refuse_ineligible_enterprises_naming_the_rule(
    admin: httpx.Client, agency: Any, gateway_url: str, stack: Stack
) -> None:
    fresh, flagged = _register(admin), _register(admin)
    level = _level(admin, fresh)
    assert _level(admin, flagged) == level == "B"
    a_only = admin.post(
        "/v1/awards", json={"title": "2026年度优质企业", "year": 2026, "zone_code": ZONE}
    )
    assert a_only.status_code == 201, a_only.text
    assert a_only.json()["allowed_levels"] == ["A"]
    opened = _events(stack, "registry.award.opened.v1", "round_id", a_only.json()["id"])
    assert [e["allowed_levels"] for e in opened] == [["A"]]
    refused = admin.post(f"/v1/awards/{a_only.json()['id']}/nominations", json={"uscc": fresh})
    body = assert_problem(refused, 409, "conflict")
    assert body["rule"] == "credit_level" and "B" in body["detail"]

    # any level allowed: only the joint-punishment rule can block
    any_level = admin.post(
        "/v1/awards",
        json={
            "title": "2026年度品牌提升企业",
            "year": 2026,
            "zone_code": ZONE,
            "allowed_levels": ["A", "B", "C", "D"],
        },
    ).json()
    rid = any_level["id"]
    nominated = admin.post(
        f"/v1/awards/{rid}/nominations", json={"uscc": flagged, "citation": "品牌"}
    )
    assert nominated.status_code == 201, nominated.text
    outside = _register(admin, admit=False)
    _level(admin, outside)
    assert (
        assert_problem(
            admin.post(f"/v1/awards/{rid}/nominations", json={"uscc": outside}), 409, "conflict"
        )["rule"]
        == "scope"
    )

    ciq = client_for(admin, gateway_url, ["inspection:read", "inspection:write"], agency="ciq")
    signal = ciq.post(
        "/v1/risk/signals",
        json={
            "kind": "foreign_notification",
            "reference": f"A12/{uuid.uuid4().hex[:6]}/26",
            "notifying_country": "DE",
            "risk_type": "electric shock",
            "risk_level": "serious",
            "product_category": "Lighting",
            "uscc": flagged,
        },
    )
    assert signal.status_code == 201, signal.text
    alert_id = wait_until(
        lambda: admin.get(f"/v1/risk/signals/{signal.json()['id']}").json().get("alert_id"),
        timeout=30,
        what="the alert",
    )

    def candidate(uscc: str) -> dict[str, Any]:
        cursor: str | None = None
        while True:
            page = admin.get(
                f"/v1/awards/{rid}/candidates",
                params={"limit": 500, **({"cursor": cursor} if cursor else {})},
            ).json()
            for c in page["items"]:
                if c["uscc"] == uscc:
                    return c  # type: ignore[no-any-return]
            cursor = page["next_cursor"]
            assert cursor, f"{uscc} is not a candidate"

    blocked = wait_until(
        lambda: (c := candidate(flagged))["eligible"] is False and c,
        timeout=30,
        what="the open serious alert to reach registry",
    )
    assert [r["rule"] for r in blocked["reasons"]] == ["open_serious_alert"]
    assert alert_id in blocked["reasons"][0]["detail"]
    assert blocked["nomination"] == "nominated"
    blocked_ids = [
        c["uscc"]
        for c in admin.get(
            f"/v1/awards/{rid}/candidates", params={"eligible": "false", "limit": 500}
        ).json()["items"]
    ]
    assert flagged in blocked_ids and fresh not in blocked_ids
    refused_grant = admin.post(f"/v1/awards/{rid}/nominations/{flagged}/grant")
    body = assert_problem(refused_grant, 409, "conflict")
    assert body["rule"] == "open_serious_alert" and "联合惩戒" in body["detail"]
    assert [r["rule"] for r in body["reasons"]] == ["open_serious_alert"]
    assert _events(stack, "registry.award.granted.v1", "round_id", rid) == []

    # inspection closes the alert: the joint punishment no longer applies
    closed = ciq.patch(
        f"/v1/risk/alerts/{alert_id}", json={"status": "closed", "conclusion": "整改到位，复检合格"}
    )
    assert closed.status_code == 200, closed.text
    wait_until(lambda: candidate(flagged)["eligible"], timeout=30, what="the alert's closure")
    granted = admin.post(f"/v1/awards/{rid}/nominations/{flagged}/grant")
    assert granted.status_code == 200, granted.text
    assert granted.json()["status"] == "granted"
    assert_problem(
        admin.post(f"/v1/awards/{rid}/nominations/{flagged}/grant"), 409, "illegal-transition"
    )
    assert [e["uscc"] for e in _events(stack, "registry.award.granted.v1", "round_id", rid)] == [
        flagged
    ]
    award_fact = wait_until(
        lambda: admin.get("/v1/credit/facts", params={"uscc": flagged, "kind": "award"}).json()[
            "items"
        ],
        timeout=30,
        what="the award fact in credit",
    )
    assert award_fact[0]["details"]["round_id"] == rid
    # an enterprise may put itself forward, only itself; granting is the office's
    own = client_for(admin, gateway_url, RW, uscc=fresh)
    assert_problem(
        own.post(f"/v1/awards/{rid}/nominations", json={"uscc": flagged}), 403, "forbidden"
    )
    assert own.post(f"/v1/awards/{rid}/nominations", json={"uscc": fresh}).status_code == 201
    assert_problem(own.post(f"/v1/awards/{rid}/nominations/{fresh}/grant"), 403, "forbidden")
    assert [n["uscc"] for n in own.get(f"/v1/awards/{rid}/nominations").json()["items"]] == [fresh]
    assert_problem(
        admin.post("/v1/awards", json={"title": "x", "year": 2026, "allowed_levels": []}),
        422,
        "validation",
    )
    assert_problem(
        admin.post("/v1/awards", json={"title": "x", "year": 2026, "allowed_levels": ["E"]}),
        422,
        "validation",
    )


def test_a_closure_arriving_before_its_alert_keeps_the_alert_closed(
    admin: httpx.Client, stack: Stack
) -> None:
    """Redeliveries arrive late: registry's mirror of open alerts must not reopen an alert
    whose closure it already applied."""
    uscc = _register(admin)
    _level(admin, uscc)
    rid = admin.post(
        "/v1/awards",
        json={
            "title": "乱序",
            "year": 2026,
            "zone_code": ZONE,
            "allowed_levels": ["A", "B", "C", "D"],
        },
    ).json()["id"]
    alert_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    data = {"alert_id": alert_id, "uscc": uscc, "severity": "serious", "agency": "ciq"}
    events = [
        (
            "inspection.alert.closed",
            {**data, "conclusion": "已处置", "closed_at": now.isoformat()},
        ),
        (
            "inspection.alert.raised",
            {**data, "signal_kind": "recall", "raised_at": (now - timedelta(hours=1)).isoformat()},
        ),
    ]
    ids = []
    for subject, payload in events:
        event_id = str(uuid.uuid4())
        ids.append(event_id)
        envelope = {
            "specversion": "1.0",
            "id": event_id,
            "source": "/services/inspection",
            "type": f"{subject}.v1",
            "subject": uscc,
            "time": now.isoformat(),
            "datacontenttype": "application/json",
            "data": payload,
        }
        publish_raw(stack, subject, json.dumps(envelope).encode(), msg_id=event_id)
    wait_until(
        lambda: (
            len(
                sql(
                    stack,
                    "registry",
                    "SELECT 1 FROM inbox WHERE consumer = 'registry-inspection' AND event_id = ANY($1)",
                    [uuid.UUID(i) for i in ids],
                )
            )
            == 2
        ),
        timeout=30,
        what="registry to apply both events",
    )
    (row,) = sql(
        stack,
        "registry",
        "SELECT closed_at FROM alert_mirror WHERE alert_id = $1",
        uuid.UUID(alert_id),
    )
    assert row[0] is not None
    nominated = admin.post(f"/v1/awards/{rid}/nominations", json={"uscc": uscc})
    assert nominated.status_code == 201, nominated.text


# --- review: paging, unrated candidates, what an enterprise token reads ---------------


def _every_page(client: httpx.Client, path: str, **params: Any) -> list[str]:
    """Ids of every item of a list read one item per page (the cursor of a date key)."""
    ids: list[str] = []
    cursor: str | None = None
    for _ in range(1000):
        answer = client.get(
            path, params={**params, "limit": 1, **({"cursor": cursor} if cursor else {})}
        )
        assert answer.status_code == 200, answer.text
        ids += [i["id"] for i in answer.json()["items"]]
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            return ids
    raise AssertionError(f"{path} does not end")


def test_lists_ordered_by_a_date_page_past_the_first_item(
    admin: httpx.Client, agency: Any, group: str
) -> None:
    """Meetings, action items and trainings are ordered by a date: their cursors must
    resume after the last row, not answer 400."""
    held = _today() - timedelta(days=5)
    items = [
        {"title": f"事项{n}", "owner_agency": "ciq", "deadline": str(held + timedelta(days=n))}
        for n in range(3)
    ]
    for day in (held, held - timedelta(days=1)):
        made = agency("commerce").post("/v1/meetings", json=_meeting(group, day, *items))
        assert made.status_code == 201, made.text
    meetings = _every_page(admin, "/v1/meetings", group=group)
    assert len(meetings) == len(set(meetings)) >= 2
    listed = admin.get("/v1/meetings", params={"group": group, "limit": 500}).json()["items"]
    assert meetings == [m["id"] for m in listed]
    meeting_id = listed[0]["id"]
    paged = _every_page(admin, "/v1/action-items", meeting_id=meeting_id)
    whole = admin.get("/v1/action-items", params={"meeting_id": meeting_id}).json()["items"]
    assert paged == [i["id"] for i in whole] and len(paged) == 3
    samr = agency("market_supervision")
    for n in range(2):
        samr.post(
            "/v1/trainings",
            json={"title": f"分页{n}", "topic": "law", "held_on": str(held - timedelta(days=n))},
        ).raise_for_status()
    trainings = _every_page(admin, "/v1/trainings", organiser="market_supervision")
    assert len(trainings) == len(set(trainings)) >= 2
    bad = admin.get(
        "/v1/meetings",
        params={
            "cursor": "eyJoZWxkX29uIjoieCIsImlkIjoiMDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAwIn0"
        },
    )
    assert_problem(bad, 400, "bad-request")


def test_an_unrated_enterprise_is_listed_among_the_blocked_candidates(
    admin: httpx.Client, stack: Stack
) -> None:
    """Not yet rated (no credit level) is a blocking `credit_level`: `eligible=false` must
    list it, as the unfiltered list shows it blocked."""
    uscc = _register(admin)
    _level(admin, uscc)
    sql(stack, "registry", "UPDATE enterprises SET credit_level = NULL WHERE uscc = $1", uscc)
    rid = admin.post(
        "/v1/awards", json={"title": "未评级", "year": 2026, "zone_code": ZONE}
    ).json()["id"]

    def listed(**params: Any) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        cursor: str | None = None
        while True:
            page = admin.get(
                f"/v1/awards/{rid}/candidates",
                params={**params, "limit": 500, **({"cursor": cursor} if cursor else {})},
            ).json()
            found |= {c["uscc"]: c for c in page["items"]}
            cursor = page["next_cursor"]
            if not cursor:
                return found

    every = listed()
    assert every[uscc]["eligible"] is False
    assert [r["rule"] for r in every[uscc]["reasons"]] == ["credit_level"]
    blocked, eligible = listed(eligible="false"), listed(eligible="true")
    assert uscc in blocked and uscc not in eligible
    assert len(blocked) + len(eligible) == len(every)


def test_an_enterprise_token_reads_no_other_enterprises_responsibility(
    admin: httpx.Client, gateway_url: str
) -> None:
    zone = "molds-provincial"
    topic = f"t_{uuid.uuid4().hex[:8]}"
    mine, theirs = _register(admin, zone=zone), _register(admin, zone=zone)
    for uscc, person in ((mine, "张三"), (theirs, "李四")):
        made = admin.post(
            "/v1/responsibilities",
            json={
                "zone_code": zone,
                "tier": "primary",
                "topic": topic,
                "uscc": uscc,
                "duty": "第一责任",
                "responsible_person": person,
            },
        )
        assert made.status_code == 201, made.text
    own = client_for(admin, gateway_url, ["registry:read"], uscc=mine)
    seen = own.get("/v1/responsibilities", params={"topic": topic}).json()["items"]
    assert [r["uscc"] for r in seen] == [mine]
    assert_problem(
        own.get("/v1/responsibilities", params={"topic": topic, "uscc": theirs}), 403, "forbidden"
    )
    assert_problem(
        own.get(
            "/v1/responsibilities/route", params={"zone": zone, "topic": topic, "uscc": theirs}
        ),
        403,
        "forbidden",
    )
    routed = own.get("/v1/responsibilities/route", params={"zone": zone, "topic": topic})
    assert routed.status_code == 200, routed.text
    mine_routed = own.get(
        "/v1/responsibilities/route", params={"zone": zone, "topic": topic, "uscc": mine}
    )
    assert mine_routed.json()["first_responsible"]["responsible_person"] == "张三"
    # agencies and the office still read every party
    every = admin.get("/v1/responsibilities", params={"topic": topic}).json()["items"]
    assert {r["uscc"] for r in every} == {mine, theirs}


# --- review: concurrent duplicates, unknown and blank fields, scope rules ------------

PARALLEL = 8
ROUNDS = 6  # award rounds raced at once: the old race showed in about half the runs at 4


def _at_once(call: Callable[[int], httpx.Response], n: int = PARALLEL) -> list[httpx.Response]:
    """`n` calls released together from their own threads (call(i) for i in range(n)). The
    assertions on them hold however the requests interleave: a barrier only makes the
    overlap likely, the tests never rely on it."""
    barrier = threading.Barrier(n)

    def run(i: int) -> httpx.Response:
        barrier.wait(timeout=30)
        return call(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def _statuses(responses: list[httpx.Response]) -> list[int]:
    assert all(r.status_code < 500 for r in responses), [r.text for r in responses]
    return sorted(r.status_code for r in responses)


def test_concurrent_duplicate_nominations_and_grants_are_one_success_and_409s(
    admin: httpx.Client, stack: Stack
) -> None:
    """Parallel duplicates answer what a sequential repeat answers: never a 500. Several
    rounds race at once, so the old failure (a flush that failed, then a 500) shows up."""
    uscc = _register(admin)
    _level(admin, uscc)
    rounds = [
        admin.post(
            "/v1/awards",
            json={"title": "并发", "year": 2026, "zone_code": ZONE, "allowed_levels": ["A", "B"]},
        ).json()["id"]
        for _ in range(ROUNDS)
    ]
    nominated = _at_once(
        lambda i: admin.post(f"/v1/awards/{rounds[i % ROUNDS]}/nominations", json={"uscc": uscc}),
        n=ROUNDS * PARALLEL,
    )
    _statuses(nominated)  # no 500 anywhere
    detail = f"{uscc} is already nominated in this round"
    for n, rid in enumerate(rounds):
        answers = nominated[n::ROUNDS]
        assert _statuses(answers) == [201] + [409] * (PARALLEL - 1)
        for refused in (r for r in answers if r.status_code == 409):
            assert assert_problem(refused, 409, "conflict")["detail"] == detail
        assert len(_events(stack, "registry.award.nominated.v1", "round_id", rid)) == 1
    sequential = admin.post(f"/v1/awards/{rounds[0]}/nominations", json={"uscc": uscc})
    assert assert_problem(sequential, 409, "conflict")["detail"] == detail

    rid = rounds[0]
    granted = _at_once(lambda i: admin.post(f"/v1/awards/{rid}/nominations/{uscc}/grant"))
    assert _statuses(granted) == [200] + [409] * (PARALLEL - 1)
    for refused in (r for r in granted if r.status_code == 409):
        assert_problem(refused, 409, "illegal-transition")
    assert len(_events(stack, "registry.award.granted.v1", "round_id", rid)) == 1


def test_concurrent_duplicate_adoptions_declarations_and_standards(
    admin: httpx.Client, stack: Stack
) -> None:
    uscc = _register(admin)
    code = f"T/NHBF {uuid.uuid4().hex[:8]}"
    body = {
        "code": code,
        "version": "2026",
        "title": "并发发布",
        "zone_code": ZONE,
        "effective_on": "2026-01-01",
        "text_sha256": "1" * 64,
    }
    published = _at_once(lambda i: admin.post("/v1/standards", json=body))
    assert _statuses(published) == [201] + [409] * (PARALLEL - 1)
    (standard,) = [r.json() for r in published if r.status_code == 201]
    sid = standard["id"]
    for refused in (r for r in published if r.status_code == 409):
        assert assert_problem(refused, 409, "conflict")["standard_id"] == sid

    # adopting again answers the existing adoption (200), concurrent or not
    adopted = _at_once(lambda i: admin.post(f"/v1/standards/{sid}/adoptions", json={"uscc": uscc}))
    assert _statuses(adopted) == [200] * (PARALLEL - 1) + [201]
    assert len({json.dumps(r.json(), sort_keys=True) for r in adopted}) == 1
    assert admin.post(f"/v1/standards/{sid}/adoptions", json={"uscc": uscc}).status_code == 200
    assert len(_events(stack, "registry.standard.adopted.v1", "standard_id", sid)) == 1

    declared = _at_once(
        lambda i: admin.post(
            f"/v1/standards/{sid}/declarations", json={"uscc": uscc, "product": "LED 台灯"}
        )
    )
    assert _statuses(declared) == [201] + [409] * (PARALLEL - 1)
    (declaration,) = [r.json() for r in declared if r.status_code == 201]
    for refused in (r for r in declared if r.status_code == 409):
        assert assert_problem(refused, 409, "conflict")["declaration_id"] == declaration["id"]
    assert len(_events(stack, "registry.standard.declared.v1", "standard_id", sid)) == 1

    group = f"t-{uuid.uuid4().hex[:8]}"
    made = _at_once(
        lambda i: admin.post(
            "/v1/leadership-groups",
            json={"code": group, "county": "并发县", "name_zh": "组", "name_en": "group"},
        )
    )
    assert _statuses(made) == [201] + [409] * (PARALLEL - 1)
    for refused in (r for r in made if r.status_code == 409):
        assert "already exists" in assert_problem(refused, 409, "conflict")["detail"]


def test_concurrent_duplicate_responsibilities_replace_the_duty(
    admin: httpx.Client, stack: Stack
) -> None:
    """The same party, zone, tier and topic again replaces the duty (200), concurrent or not."""
    topic = f"t_{uuid.uuid4().hex[:8]}"
    party = {"zone_code": ZONE, "tier": "supervisory", "topic": topic, "agency_code": "ciq"}
    recorded = _at_once(
        lambda i: admin.post("/v1/responsibilities", json={**party, "duty": f"职责 {i}"})
    )
    assert _statuses(recorded) == [200] * (PARALLEL - 1) + [201]
    assert len({r.json()["id"] for r in recorded}) == 1
    listed = admin.get("/v1/responsibilities", params={"topic": topic}).json()["items"]
    assert len(listed) == 1 and listed[0]["duty"] in {f"职责 {i}" for i in range(PARALLEL)}
    assert len(_events(stack, "registry.responsibility.assigned.v1", "topic", topic)) == PARALLEL
    again = admin.post("/v1/responsibilities", json={**party, "duty": "最后"})
    assert again.status_code == 200 and again.json()["id"] == listed[0]["id"]
    assert again.json()["duty"] == "最后"


def test_programme_bodies_refuse_unknown_fields(
    admin: httpx.Client, agency: Any, group: str
) -> None:
    """A field the API does not know is a 422 naming it, not silently dropped."""
    held = _today() - timedelta(days=2)
    uscc = _register(admin)
    office, samr = agency("commerce"), agency("market_supervision")
    meeting = _meeting(group, held, {"title": "x", "owner_agency": "ciq", "deadline": str(held)})
    assert _field_errors(office.post("/v1/meetings", json={**meeting, "extra": 1})) == ["extra"]
    nested = {**meeting, "decisions": [{**meeting["decisions"][0], "note": "x"}]}
    assert _field_errors(office.post("/v1/meetings", json=nested)) == ["decisions.0.note"]
    item = {**meeting["decisions"][0]["action_items"][0], "priority": "high"}
    deep = {**meeting, "decisions": [{"text": "x", "action_items": [item]}]}
    assert _field_errors(office.post("/v1/meetings", json=deep)) == [
        "decisions.0.action_items.0.priority"
    ]
    standard = admin.post(
        "/v1/standards",
        json={
            "code": f"T/NHEX {uuid.uuid4().hex[:8]}",
            "version": "1",
            "title": "x",
            "industry": "lighting",
            "effective_on": "2026-01-01",
            "text_sha256": "2" * 64,
        },
    ).json()
    training = samr.post(
        "/v1/trainings", json={"title": "x", "topic": "law", "held_on": str(held)}
    ).json()
    rid = admin.post("/v1/awards", json={"title": "x", "year": 2026}).json()["id"]
    item_id = office.post("/v1/meetings", json=meeting).json()["action_items"][0]["id"]
    cases: list[tuple[httpx.Client, str, str, dict[str, Any]]] = [
        (
            admin,
            "POST",
            "/v1/leadership-groups",
            {"code": f"t-{uuid.uuid4().hex[:8]}", "county": "x", "name_zh": "x", "name_en": "x"},
        ),
        (admin, "PUT", f"/v1/leadership-groups/{group}/members/econ_it", {"role": "member"}),
        (agency("ciq"), "POST", f"/v1/action-items/{item_id}/done", {"evidence": "x"}),
        (
            admin,
            "POST",
            "/v1/responsibilities",
            {"tier": "overall", "agency_code": "ciq", "duty": "x"},
        ),
        (
            admin,
            "POST",
            "/v1/standards",
            {
                "code": "T/X 1",
                "version": "1",
                "title": "x",
                "industry": "lighting",
                "effective_on": "2026-01-01",
                "text": "x",
            },
        ),
        (admin, "POST", f"/v1/standards/{standard['id']}/adoptions", {"uscc": uscc}),
        (
            admin,
            "POST",
            f"/v1/standards/{standard['id']}/declarations",
            {"uscc": uscc, "product": "x"},
        ),
        (samr, "POST", "/v1/trainings", {"title": "x", "topic": "law", "held_on": str(held)}),
        (samr, "POST", f"/v1/trainings/{training['id']}/attendance", {"usccs": [uscc]}),
        (admin, "POST", "/v1/awards", {"title": "x", "year": 2026}),
        (admin, "POST", f"/v1/awards/{rid}/nominations", {"uscc": uscc}),
    ]
    for client, method, path, body in cases:
        answer = client.request(method, path, json={**body, "extra": 1})
        errors = assert_problem(answer, 422, "validation")["errors"]
        assert [(e["field"], e["reason"]) for e in errors] == [
            ("extra", "Extra inputs are not permitted")
        ], (path, errors)
    roster = admin.put(
        f"/v1/leadership-groups/{group}/members/econ_it",
        json={"role": "member", "representatives": [{"name": "x", "position": "member", "x": 1}]},
    )
    assert _field_errors(roster) == ["representatives.0.x"]


def test_blank_required_text_is_refused_and_text_is_kept_trimmed(
    admin: httpx.Client, agency: Any, group: str
) -> None:
    held = _today() - timedelta(days=2)
    office, samr = agency("commerce"), agency("market_supervision")
    blank = " \t "
    meeting = _meeting(group, held, {"title": "x", "owner_agency": "ciq", "deadline": str(held)})
    for field, body in (
        ("title", {**meeting, "title": blank}),
        ("minutes", {**meeting, "minutes": blank}),
        ("decisions.0.text", {**meeting, "decisions": [{"text": blank}]}),
        (
            "decisions.0.action_items.0.title",
            {
                **meeting,
                "decisions": [
                    {
                        "text": "x",
                        "action_items": [
                            {"title": blank, "owner_agency": "ciq", "deadline": str(held)}
                        ],
                    }
                ],
            },
        ),
    ):
        errors = assert_problem(office.post("/v1/meetings", json=body), 422, "validation")["errors"]
        assert [(e["field"], e["reason"]) for e in errors] == [(field, "must not be blank")]
    trimmed = office.post("/v1/meetings", json={**meeting, "title": "  第二次联席会议 \n"})
    assert trimmed.status_code == 201, trimmed.text
    assert trimmed.json()["title"] == "第二次联席会议"
    # the minutes are kept exactly as sent: the caller's hash of them still matches
    assert trimmed.json()["minutes"] == meeting["minutes"]

    uscc = _register(admin)
    sid = admin.post(
        "/v1/standards",
        json={
            "code": f"T/NHBL {uuid.uuid4().hex[:8]}",
            "version": "1",
            "title": "x",
            "zone_code": ZONE,
            "effective_on": "2026-01-01",
            "text": "x",
        },
    ).json()["id"]
    admin.post(f"/v1/standards/{sid}/adoptions", json={"uscc": uscc}).raise_for_status()
    group_body = {
        "code": f"t-{uuid.uuid4().hex[:8]}",
        "county": "x",
        "name_zh": "x",
        "name_en": "x",
    }
    standard = {"code": "T/X 2", "version": "1", "title": "x", "industry": "lighting"}
    cases: list[tuple[httpx.Client, str, dict[str, Any], str]] = [
        (admin, "/v1/leadership-groups", {**group_body, "name_zh": blank}, "name_zh"),
        (
            admin,
            "/v1/leadership-groups",
            {
                **group_body,
                "members": [
                    {
                        "agency_code": "ciq",
                        "role": "member",
                        "representatives": [{"name": blank, "position": "member"}],
                    }
                ],
            },
            "members.0.representatives.0.name",
        ),
        (
            admin,
            "/v1/responsibilities",
            {"tier": "overall", "agency_code": "ciq", "duty": blank},
            "duty",
        ),
        (
            admin,
            "/v1/responsibilities",
            {"tier": "overall", "agency_code": "ciq", "duty": "x", "responsible_person": blank},
            "responsible_person",
        ),
        (
            admin,
            "/v1/standards",
            {**standard, "title": blank, "effective_on": "2026-01-01", "text": "x"},
            "title",
        ),
        (
            admin,
            "/v1/standards",
            {**standard, "version": blank, "effective_on": "2026-01-01", "text": "x"},
            "version",
        ),
        (
            admin,
            "/v1/standards",
            {**standard, "effective_on": "2026-01-01", "text": blank},
            "text",
        ),
        (admin, f"/v1/standards/{sid}/declarations", {"uscc": uscc, "product": blank}, "product"),
        (samr, "/v1/trainings", {"title": blank, "topic": "law", "held_on": str(held)}, "title"),
        (admin, "/v1/awards", {"title": blank, "year": 2026}, "title"),
    ]
    for client, path, body, field in cases:
        errors = assert_problem(client.post(path, json=body), 422, "validation")["errors"]
        assert [(e["field"], e["reason"]) for e in errors] == [(field, "must not be blank")], path


def test_route_refuses_a_malformed_uscc(admin: httpx.Client) -> None:
    params = {"zone": ZONE, "topic": "spot_checks"}
    for bad in ("bad", "91330226MA2AH0KX8X", "9133022?MA2AH0KX8"):
        answer = admin.get("/v1/responsibilities/route", params={**params, "uscc": bad})
        errors = assert_problem(answer, 422, "validation")["errors"]
        assert [e["field"] for e in errors] == ["query.uscc"], errors
        assert "USCC" in errors[0]["reason"]
    # a well-formed code that nobody registered is still a 404
    assert_problem(
        admin.get("/v1/responsibilities/route", params={**params, "uscc": new_uscc()}),
        404,
        "not-found",
    )
    known = _register(admin)
    routed = admin.get("/v1/responsibilities/route", params={**params, "uscc": known.lower()})
    assert routed.status_code == 200, routed.text
    assert routed.json()["first_responsible"]["uscc"] == known


def test_primary_responsibility_needs_a_member_and_a_standard_its_zones_industry(
    admin: httpx.Client, stack: Stack
) -> None:
    zone = "hardware-provincial"
    topic = f"t_{uuid.uuid4().hex[:8]}"
    outsider = _register(admin)  # admitted to the lighting zone only
    body = {"zone_code": zone, "tier": "primary", "topic": topic, "duty": "第一责任"}
    refused = admin.post("/v1/responsibilities", json={**body, "uscc": outsider})
    problem = assert_problem(refused, 409, "conflict")
    assert problem["rule"] == "zone_member" and zone in problem["detail"]
    assert _events(stack, "registry.responsibility.assigned.v1", "topic", topic) == []
    applied = _register(admin, admit=False)
    admin.post(f"/v1/zones/{zone}/applications", json={"uscc": applied}).raise_for_status()
    assert (
        assert_problem(
            admin.post("/v1/responsibilities", json={**body, "uscc": applied}), 409, "conflict"
        )["rule"]
        == "zone_member"
    )  # applied, not admitted
    member = _register(admin, zone=zone)
    made = admin.post("/v1/responsibilities", json={**body, "uscc": member})
    assert made.status_code == 201, made.text

    (industry,) = sql(stack, "registry", "SELECT industry FROM zones WHERE code = $1", ZONE)[0]
    other = "hardware" if industry != "hardware" else "lighting"
    standard = {
        "code": f"T/NHIN {uuid.uuid4().hex[:8]}",
        "version": "1",
        "title": "x",
        "zone_code": ZONE,
        "effective_on": "2026-01-01",
        "text": "x",
    }
    mismatched = admin.post("/v1/standards", json={**standard, "industry": other})
    errors = assert_problem(mismatched, 422, "validation")["errors"]
    assert [e["field"] for e in errors] == ["industry"]
    assert industry in errors[0]["reason"]
    matched = admin.post("/v1/standards", json={**standard, "industry": industry})
    assert matched.status_code == 201, matched.text
