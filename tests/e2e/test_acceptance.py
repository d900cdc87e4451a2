"""Acceptance and the programme's targets through the gateway (#17, parts 5 and 6): the seeded
zones accepted by their authorities inside their plan windows; a zone accepted only by its
authority's decision on the office's application, with an admitted member; a stage move to
`accepted` refused; revocation ending memberships and commitments; the targets, phases and
overdue zones, announced once. Each bad input answers 403, 409 (naming the rule) or 422
(naming the field)."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, date, datetime
from time import sleep
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from deploy.launcher import Stack
from tests.helpers import assert_problem, client_for, enterprise_body, new_uscc, sql, wait_until

RW = ["registry:read", "registry:write"]
DOSSIER = hashlib.sha256(b"acceptance dossier").hexdigest()


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


def _events(stack: Stack, event_type: str, key: str, value: str) -> list[dict[str, Any]]:
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


def _zone(admin: httpx.Client, level: str = "provincial", **plan: Any) -> str:
    code = f"acc-{uuid.uuid4().hex[:8]}"
    created = admin.post(
        "/v1/zones",
        json={
            "code": code,
            "name_zh": "验收测试示范区",
            "name_en": "Acceptance test zone",
            "industry": "hardware",
            "level": level,
            **plan,
        },
    )
    assert created.status_code == 201, created.text
    return code


def _to_assessing(admin: httpx.Client, code: str) -> None:
    for stage in ("launching", "implementing", "assessing"):
        moved = admin.post(f"/v1/zones/{code}/transitions", json={"to": stage})
        assert moved.status_code == 201, moved.text


def _admit(admin: httpx.Client, code: str) -> str:
    uscc = new_uscc()
    admin.post("/v1/enterprises", json=enterprise_body(uscc)).raise_for_status()
    mid = admin.post(f"/v1/zones/{code}/applications", json={"uscc": uscc}).json()["id"]
    admin.post(f"/v1/memberships/{mid}/decision", json={"decision": "admit"}).raise_for_status()
    return uscc


def _decision(outcome: str = "accepted") -> dict[str, Any]:
    return {
        "outcome": outcome,
        "document_number": "甬检验〔2026〕88号",
        "decided_on": str(_today()),
        "inspection_team": ["李明", "王芳"],
        "findings": "五大体系运行有效，同意通过验收",
    }


def test_the_seeded_zones_were_accepted_by_their_authorities(api: httpx.Client) -> None:
    agencies = {
        a["code"]: a for a in api.get("/v1/agencies", params={"limit": 500}).json()["items"]
    }
    assert agencies["ningbo_ciq"]["kind"] == agencies["aqsiq"]["kind"] == "external_authority"
    assert agencies["commerce"]["kind"] == "member"
    record = api.get("/v1/zones/stationery-national/acceptance").json()
    assert record["authority"] == "aqsiq" and record["stage"] == "accepted"
    (decision,) = record["decisions"]
    assert decision["outcome"] == "accepted" and decision["authority"] == "aqsiq"
    assert date(2017, 3, 1) <= date.fromisoformat(decision["decided_on"]) <= date(2018, 2, 28)
    history = api.get("/v1/zones/molds-provincial/transitions").json()["items"]
    assert [h["to_stage"] for h in history] == [
        "launching",
        "implementing",
        "assessing",
        "accepted",
    ]
    assert all("2017-03-01" <= h["at"][:10] <= "2018-02-28" for h in history)
    assert history[-1]["agency"] == "ningbo_ciq"
    waiting = api.get("/v1/zones/hardware-provincial/acceptance").json()
    assert [a["status"] for a in waiting["applications"]] == ["filed"] and not waiting["decisions"]


def test_only_the_authority_accepts_on_an_application_with_members(
    admin: httpx.Client, agency: Any, stack: Stack
) -> None:
    code = _zone(admin)
    _to_assessing(admin, code)
    # the economy and IT bureau can no longer move it to accepted by hand
    moved = agency("econ_it").post(f"/v1/zones/{code}/transitions", json={"to": "accepted"})
    body = assert_problem(moved, 409, "illegal-transition")
    assert body["rule"] == "acceptance_decision" and body["allowed"] == ["revoked"]
    zone = admin.get(f"/v1/zones/{code}").json()
    assert zone["allowed_transitions"] == ["revoked"]
    assert zone["acceptance_authority"]["agency"] == "ningbo_ciq"

    authority = agency("ningbo_ciq")
    no_application = authority.post(f"/v1/zones/{code}/acceptance/decision", json=_decision())
    assert assert_problem(no_application, 409, "conflict")["rule"] == "application_filed"

    not_office = agency("econ_it").post(
        f"/v1/zones/{code}/acceptance/applications",
        json={"self_assessment": "自查总结", "dossier_sha256": DOSSIER},
    )
    assert_problem(not_office, 403, "forbidden")
    filed = agency("commerce").post(
        f"/v1/zones/{code}/acceptance/applications",
        json={"self_assessment": "自查总结：各项任务已完成", "dossier_sha256": DOSSIER},
    )
    assert filed.status_code == 201, filed.text
    assert filed.json()["authority"] == "ningbo_ciq" and filed.json()["filed_agency"] == "commerce"

    for other in ("econ_it", "commerce", "aqsiq"):
        refused = agency(other).post(f"/v1/zones/{code}/acceptance/decision", json=_decision())
        assert assert_problem(refused, 403, "forbidden")["authority"] == "ningbo_ciq"
    no_members = authority.post(f"/v1/zones/{code}/acceptance/decision", json=_decision())
    assert assert_problem(no_members, 409, "conflict")["rule"] == "admitted_members"
    bad = authority.post(
        f"/v1/zones/{code}/acceptance/decision",
        json={**_decision(), "outcome": "approved", "inspection_team": []},
    )
    fields = {e["field"] for e in assert_problem(bad, 422, "validation")["errors"]}
    assert {"outcome", "inspection_team"} <= fields

    _admit(admin, code)
    accepted = authority.post(f"/v1/zones/{code}/acceptance/decision", json=_decision())
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["on_behalf"] is False
    assert admin.get(f"/v1/zones/{code}").json()["stage"] == "accepted"
    decided = _events(stack, "registry.acceptance.decided.v1", "zone_code", code)
    assert [(d["outcome"], d["document_number"]) for d in decided] == [
        ("accepted", "甬检验〔2026〕88号")
    ]
    moves = _events(stack, "registry.zone.transitioned.v1", "code", code)
    assert moves[-1]["to_stage"] == "accepted"


def test_an_enterprise_neither_reads_nor_writes_acceptance(
    admin: httpx.Client, gateway_url: str
) -> None:
    uscc = _admit(admin, "hardware-provincial")
    enterprise = client_for(admin, gateway_url, RW, uscc=uscc)
    assert_problem(enterprise.get("/v1/zones/hardware-provincial/acceptance"), 403, "forbidden")
    decided = enterprise.post("/v1/zones/hardware-provincial/acceptance/decision", json=_decision())
    assert_problem(decided, 403, "forbidden")


def test_an_admin_acting_for_the_authority_is_recorded(admin: httpx.Client) -> None:
    code = _zone(admin, level="national")
    _to_assessing(admin, code)
    admin.post(
        f"/v1/zones/{code}/acceptance/applications",
        json={"self_assessment": "自查总结", "dossier_sha256": DOSSIER},
    ).raise_for_status()
    returned = admin.post(f"/v1/zones/{code}/acceptance/decision", json=_decision("returned"))
    assert returned.status_code == 201, returned.text
    assert (returned.json()["authority"], returned.json()["on_behalf"]) == ("aqsiq", True)
    assert admin.get(f"/v1/zones/{code}").json()["stage"] == "assessing"


def test_revoking_a_zone_ends_its_memberships_and_commitments(
    admin: httpx.Client, stack: Stack
) -> None:
    code = _zone(admin)
    uscc = _admit(admin, code)
    admin.post(
        f"/v1/enterprises/{uscc}/commitments",
        json={
            "zone_code": code,
            "signatory": "王伟",
            "signed_on": str(_today()),
            "text_version": "2017-v1",
            "text": "本企业承诺严格执行出口产品质量安全法律法规。",
        },
    ).raise_for_status()
    revoked = admin.post(f"/v1/zones/{code}/transitions", json={"to": "revoked", "reason": "撤销"})
    assert revoked.status_code == 201, revoked.text
    members = admin.get("/v1/memberships", params={"zone": code}).json()["items"]
    assert [(m["uscc"], m["status"], m["reason"]) for m in members] == [
        (uscc, "removed", "zone revoked")
    ]
    removed = _events(stack, "registry.membership.removed.v1", "zone_code", code)
    ended = _events(stack, "registry.commitment.ended.v1", "zone_code", code)
    assert [(e["uscc"], e["reason"]) for e in removed] == [(uscc, "zone revoked")]
    assert [(e["uscc"], e["status"]) for e in ended] == [(uscc, "ended")]


def test_a_phase_must_be_the_plans_and_its_dates_inside_its_window(admin: httpx.Client) -> None:
    base = {"name_zh": "x", "name_en": "x", "industry": "lighting", "level": "provincial"}
    for plan, field in (
        ({"phase": 4}, "phase"),
        ({"phase": 2, "plan_start": "2025-03-01"}, "plan_start"),
        ({"phase": 1, "plan_end": "2018-03-31"}, "plan_end"),
    ):
        refused = admin.post(
            "/v1/zones", json={"code": f"ph-{uuid.uuid4().hex[:8]}", **base, **plan}
        )
        errors = assert_problem(refused, 422, "validation")["errors"]
        assert [e["field"] for e in errors] == [field], refused.text
    code = _zone(admin, phase=2, plan_start="2018-03-01", plan_end="2019-02-28")
    zone = admin.get(f"/v1/zones/{code}")
    moved = admin.patch(
        f"/v1/zones/{code}", json={"phase": 3}, headers={"If-Match": zone.headers["ETag"]}
    )
    assert assert_problem(moved, 422, "validation")["errors"][0]["field"] == "plan_start"


def test_targets_phases_and_overdue_zones_announced_once(api: httpx.Client, stack: Stack) -> None:
    out = api.get("/v1/programme/targets")
    assert out.status_code == 200, out.text
    body = out.json()
    targets = {t["level"]: t for t in body["targets"]}
    assert (targets["national"]["zones"], targets["provincial"]["zones"]) == (2, 6)
    assert targets["provincial"]["period_end"] == "2020-12-31"
    assert (targets["provincial"]["accepted"], targets["provincial"]["met"]) == (6, True)
    assert (targets["national"]["accepted"], targets["national"]["met"]) == (1, False)
    assert [(p["number"], p["starts_on"], p["ends_on"]) for p in body["phases"]] == [
        (1, "2017-03-01", "2018-02-28"),
        (2, "2018-03-01", "2019-02-28"),
        (3, "2019-03-01", "2020-02-29"),
    ]
    assert "auto_parts-national" in body["phases"][2]["zones"]
    assert body["actual"]["national"]["accepted"] >= 1
    schedule = {z["code"]: z for z in body["zones"]}
    assert schedule["auto_parts-national"]["schedule_status"] == "overdue"
    assert schedule["auto_parts-national"]["days_overdue"] > 2000
    assert schedule["molds-provincial"]["schedule_status"] == "on_schedule"
    assert schedule["molds-provincial"]["accepted_on"] <= "2018-02-28"
    assert {"auto_parts-national", "hardware-provincial"} <= set(body["overdue"])
    assert api.get("/v1/zones/hardware-provincial").json()["schedule_status"] == "overdue"

    # the test stacks check every second: one announcement per overdue zone, however many rounds
    wait_until(
        lambda: _events(stack, "registry.zone.overdue.v1", "code", "auto_parts-national"),
        timeout=30,
        what="the overdue announcement",
    )
    sleep(2.5)
    announced = _events(stack, "registry.zone.overdue.v1", "code", "auto_parts-national")
    assert [(e["stage"], e["plan_end"]) for e in announced] == [("implementing", "2020-02-29")]
    assert not _events(stack, "registry.zone.overdue.v1", "code", "molds-provincial")
