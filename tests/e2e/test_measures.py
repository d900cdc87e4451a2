"""Joint rewards and punishments (联合奖惩) that bite, through the gateway (#17): credit's model
changes A's inspection ratio and the next campaign draws at it, recording the model version
(an explicit ratio recorded as an override); a D enterprise is refused an honour in a round
that allows D and admission to a zone (409 `credit_measure`); a measure nothing reads is
refused; a repair before its waiting period ends is a 409 naming the date.

On a stack of its own: publishing a model version rescores everyone and changes the
measures every other module's campaigns would draw at."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
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
    running_stack,
    sql,
    token,
    wait_until,
)

TODAY = date.today()
WINDOW = {"window_start": str(TODAY), "window_end": str(TODAY + timedelta(days=30))}
ZONE = "measures-lighting"


@pytest.fixture(scope="module")
def own() -> Iterator[Stack]:
    """A stack of this module's own (unseeded)."""
    with running_stack("measures", seed=False) as s:
        yield s


@pytest.fixture(scope="module")
def office(own: Stack) -> Iterator[httpx.Client]:
    """demo-admin on the module's stack."""
    url = own.url("gateway")
    with httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {token(url)}"}, timeout=60
    ) as client:
        for code, zh, en in (
            ("samr", "市场监管局", "Market regulation"),
            ("ciq", "检验检疫局", "CIQ"),
        ):
            made = client.post("/v1/agencies", json={"code": code, "name_zh": zh, "name_en": en})
            assert made.status_code in (201, 409), made.text
        zone = {
            "code": ZONE,
            "name_zh": "出口灯具质量安全示范区（测试）",
            "name_en": "Export lighting zone (test)",
            "industry": "lighting",
            "level": "provincial",
        }
        assert client.post("/v1/zones", json=zone).status_code == 201
        yield client


@pytest.fixture(scope="module")
def samr(office: httpx.Client, own: Stack) -> Iterator[httpx.Client]:
    """The market regulator's system: it posts facts and decides their repairs."""
    with client_for(
        office, own.url("gateway"), ["credit:read", "credit:write"], agency="samr"
    ) as client:
        yield client


def _days_ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


def _d_enterprise(office: httpx.Client, samr: httpx.Client) -> tuple[str, dict[str, Any]]:
    """A registered enterprise a serious 200,000 CNY penalty a week old put at D, once
    registry has heard of it; and the penalty fact."""
    uscc = new_uscc()
    office.post("/v1/enterprises", json=enterprise_body(uscc)).raise_for_status()
    body = {
        "uscc": uscc,
        "kind": "penalty",
        "severity": "serious",
        "amount": 200_000,
        "occurred_at": _days_ago(7),
    }
    fact = wait_until(
        lambda: (r := samr.post("/v1/credit/facts", json=body)).status_code == 201 and r.json(),
        timeout=30,
        what="credit to know the enterprise",
    )
    wait_until(
        lambda: office.get(f"/v1/enterprises/{uscc}").json().get("credit_level") == "D",
        timeout=30,
        what="registry's mirror of level D",
    )
    return uscc, fact


def test_a_new_campaign_draws_at_the_model_s_new_ratio(office: httpx.Client, own: Stack) -> None:
    for service in ("registry", "inspection"):  # version 1, announced at credit's first start
        wait_until(
            lambda service=service: (
                sql(own, service, "SELECT model_version FROM credit_measures") == [(1,)]
            ),
            timeout=30,
            what=f"{service}'s mirror of the measures of model version 1",
        )
    measures = office.get("/v1/credit/measures").json()
    assert [lv["in_force"]["zone_admission"] for lv in measures["levels"]] == [
        "allowed",
        "allowed",
        "review",
        "refused",
    ]
    current = office.get("/v1/credit/model")
    model = current.json()["model"]
    label = {"code": "fast_track_clearance", "kind": "reward", "title_zh": "通关便利"}
    labelled = {**model, "measures": {**model["measures"], "A": [{**label, "title_en": "Fast"}]}}
    refused = office.put(
        "/v1/credit/model", json=labelled, headers={"If-Match": current.headers["ETag"]}
    )
    assert_problem(refused, 422, "validation")
    assert "a measure nothing reads is a label" in refused.text

    model["measures"]["A"][0]["params"]["inspection_ratio"] = 0.5
    published = office.put(
        "/v1/credit/model",
        json={**model, "note": "A 级抽查比例提高到 50%"},
        headers={"If-Match": current.headers["ETag"]},
    )
    assert published.status_code == 200, published.text
    version = published.json()["version"]
    assert (
        office.get("/v1/credit/measures").json()["levels"][0]["in_force"]["inspection_ratio"] == 0.5
    )
    wait_until(
        lambda: (
            sql(own, "inspection", "SELECT max(model_version) FROM credit_measures") == [(version,)]
        ),
        timeout=30,
        what="inspection's mirror of the new measures",
    )

    checklist = office.post(
        "/v1/checklists",
        json={
            "code": f"lighting-{uuid.uuid4().hex[:6]}",
            "industry": "lighting",
            "title": "灯具出口监督抽查",
            "items": [
                {"code": "LED-01", "title": "标志", "legal_basis": "GB 7000.1", "criterion": "齐全"}
            ],
        },
    ).json()
    drawn = {}
    for name, ratios in (("model", {}), ("override", {"A": 0.2})):
        campaign = office.post(
            "/v1/campaigns",
            json={
                "title": f"2026年灯具双随机抽查（{name}）",
                "agencies": ["samr"],
                "zones": [f"nobody-{uuid.uuid4().hex[:6]}"],
                "checklist_id": checklist["id"],
                "ratios": ratios,
                **WINDOW,
            },
        )
        assert campaign.status_code == 201, campaign.text
        draw = office.post(f"/v1/campaigns/{campaign.json()['id']}/draw", json={})
        assert draw.status_code in (200, 201), draw.text
        drawn[name] = draw.json()
        verified = office.get(f"/v1/campaigns/{campaign.json()['id']}/draw/verify")
        assert verified.status_code == 200 and verified.json()["matches"], verified.text
    assert drawn["model"]["measures_version"] == version
    assert drawn["model"]["ratios"] == {"A": 0.5, "B": 0.1, "C": 0.3, "D": 1.0}
    assert set(drawn["model"]["ratio_sources"].values()) == {"measures"}
    assert (drawn["override"]["ratios"]["A"], drawn["override"]["ratio_sources"]["A"]) == (
        0.2,
        "override",
    )
    assert drawn["override"]["ratio_sources"]["B"] == "measures"


def test_a_d_enterprise_is_refused_an_honour_and_a_zone(
    office: httpx.Client, samr: httpx.Client
) -> None:
    uscc, _ = _d_enterprise(office, samr)
    award = office.post(
        "/v1/awards",
        json={"title": "2026年度优质企业", "year": 2026, "allowed_levels": ["A", "B", "C", "D"]},
    )
    assert award.status_code == 201, award.text
    nominated = office.post(f"/v1/awards/{award.json()['id']}/nominations", json={"uscc": uscc})
    body = assert_problem(nominated, 409, "conflict")
    assert body["rule"] == "credit_measure" and "honours_eligible false" in body["detail"]

    applied = office.post(f"/v1/zones/{ZONE}/applications", json={"uscc": uscc})
    assert applied.status_code == 201, applied.text
    admitted = office.post(
        f"/v1/memberships/{applied.json()['id']}/decision",
        json={"decision": "admit", "reason": "考核合格"},
    )
    body = assert_problem(admitted, 409, "conflict")
    assert (body["rule"], body["zone_admission"]) == ("credit_measure", "refused")
    assert office.get(f"/v1/memberships/{applied.json()['id']}").json()["status"] == "applied"


def test_a_repair_before_its_waiting_period_names_the_date(
    office: httpx.Client, samr: httpx.Client, own: Stack
) -> None:
    uscc, penalty = _d_enterprise(office, samr)
    with client_for(office, own.url("gateway"), ["credit:read", "credit:write"], uscc=uscc) as me:
        early = me.post("/v1/credit/repairs", json={"fact_id": penalty["id"], "reason": "已整改"})
    body = assert_problem(early, 409, "conflict")
    occurred = datetime.fromisoformat(penalty["occurred_at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    expected = occurred.date() + timedelta(days=365)
    assert (body["rule"], body["earliest_repair_date"]) == (
        "repair_waiting_period",
        expected.isoformat(),
    )
    assert expected.isoformat() in body["detail"]
