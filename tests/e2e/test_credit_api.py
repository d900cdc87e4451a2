"""Credit through the gateway: facts from agencies, levels, model versions, recognition, repair."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.helpers import (
    assert_problem,
    client_for,
    enterprise_body,
    new_uscc,
    sql,
    stream_events,
    wait_until,
)


def _days_ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


CREDIT = ["credit:read", "credit:write"]


@pytest.fixture(scope="module")
def ciq(api_module: httpx.Client, gateway_url: str) -> Iterator[httpx.Client]:
    with client_for(api_module, gateway_url, CREDIT, agency="ciq") as c:
        yield c


@pytest.fixture(scope="module")
def samr(api_module: httpx.Client, gateway_url: str) -> Iterator[httpx.Client]:
    with client_for(api_module, gateway_url, CREDIT, agency="market_supervision") as c:
        yield c


@pytest.fixture(scope="module")
def api_module(gateway_url: str, admin_token: str) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=gateway_url, headers={"Authorization": f"Bearer {admin_token}"}, timeout=30
    ) as c:
        yield c


def _known_enterprise(api: httpx.Client, **extra: object) -> str:
    """Registered in the registry, and announced to credit (level B at the base score)."""
    uscc = new_uscc()
    api.post("/v1/enterprises", json=enterprise_body(uscc, **extra)).raise_for_status()
    wait_until(
        lambda: api.get(f"/v1/credit/enterprises/{uscc}").status_code == 200, what="announced"
    )
    return uscc


def test_facts_from_two_agencies_drop_a_member_to_d_and_registry_opens_a_review(
    stack, api: httpx.Client, ciq: httpx.Client, samr: httpx.Client
) -> None:  # type: ignore[no-untyped-def]
    uscc = new_uscc()
    api.post("/v1/enterprises", json=enterprise_body(uscc)).raise_for_status()
    mid = api.post("/v1/zones/lighting-provincial/applications", json={"uscc": uscc}).json()["id"]
    api.post(f"/v1/memberships/{mid}/decision", json={"decision": "admit"}).raise_for_status()
    # Sent right after registering: credit waits briefly for registry's announcement.
    notified = ciq.post(
        "/v1/credit/facts",
        json={
            "uscc": uscc,
            "kind": "foreign_notification",
            "severity": "general",
            "occurred_at": _days_ago(3),
            "evidence_ref": "EU Safety Gate A12/00123/26",
        },
    )
    assert notified.status_code == 201, notified.text
    assert notified.json()["source_agency"] == "ciq" and notified.json()["level_after"] == "C"
    penalty = samr.post(
        "/v1/credit/facts",
        json={
            "uscc": uscc,
            "kind": "penalty",
            "severity": "serious",
            "amount": "200000.00",
            "occurred_at": _days_ago(1),
            "evidence_ref": "宁市监罚〔2026〕88号",
        },
    )
    assert penalty.status_code == 201 and penalty.json()["level_after"] == "D"

    score = api.get(f"/v1/credit/enterprises/{uscc}").json()
    assert score["level"] == "D" and score["model_version"] >= 1
    assert {c["fact_id"] for c in score["contributions"]} == {
        notified.json()["id"],
        penalty.json()["id"],
    }
    assert round(
        score["base_score"] + sum(c["points"] for c in score["contributions"]), 1
    ) == round(score["score"], 1)
    assert any("honours" in m["code"] for m in score["measures"])
    history = api.get(f"/v1/credit/enterprises/{uscc}/history").json()["items"]
    assert [(h["from_level"], h["to_level"]) for h in history] == [
        ("C", "D"),
        ("B", "C"),
        (None, "B"),
    ]
    assert (
        history[0]["fact_id"] == penalty.json()["id"]
        and "market_supervision" in history[0]["cause"]
    )

    membership = wait_until(
        lambda: (lambda m: m if m["review_requested_at"] else None)(
            api.get(f"/v1/memberships/{mid}").json()
        ),
        what="removal review",
    )
    assert "credit level fell to D" in membership["review_reason"]
    assert api.get(f"/v1/enterprises/{uscc}").json()["credit_level"] == "D"
    changed = [
        e for e in stream_events(stack, "credit.level.changed", "CREDIT") if e["subject"] == uscc
    ]
    assert [e["data"]["to_level"] for e in changed] == ["B", "C", "D"]


def test_bad_facts_get_clear_problems(api: httpx.Client, ciq: httpx.Client) -> None:
    uscc = _known_enterprise(api)
    good = {"uscc": uscc, "kind": "spot_check_fail", "occurred_at": _days_ago(1)}
    cases = [
        ({"uscc": "91330226MA2AXXXXX"}, 422, "uscc"),
        ({"kind": "bribery"}, 422, "kind"),
        ({"severity": "apocalyptic"}, 422, "severity"),
        ({"kind": "penalty", "amount": -5}, 422, "amount"),
        ({"amount": 100}, 422, "amount applies only to"),
        ({"occurred_at": (datetime.now(UTC) + timedelta(days=2)).isoformat()}, 422, "future"),
        ({"occurred_at": "2026-11-01T00:00:00"}, 422, "occurred_at"),
        ({"expires_at": _days_ago(5)}, 422, "expires_at must be after"),
        ({"source_agency": "customs_other"}, 403, "cannot submit facts as"),
    ]
    for change, status, words in cases:
        response = ciq.post("/v1/credit/facts", json={**good, **change})
        body = assert_problem(response, status, "validation" if status == 422 else "forbidden")
        assert words in response.text, (change, body)
    unknown = ciq.post("/v1/credit/facts", json={**good, "uscc": new_uscc()})
    assert_problem(unknown, 404, "not-found")
    assert "has not been registered" in unknown.json()["detail"]
    assert api.get(f"/v1/credit/facts?uscc={uscc}").json()["items"] == []  # nothing was kept
    assert_problem(api.get(f"/v1/credit/enterprises/{new_uscc()}"), 404, "not-found")


def test_a_client_key_makes_a_resubmission_the_same_fact(
    api: httpx.Client, ciq: httpx.Client
) -> None:
    uscc = _known_enterprise(api)
    body = {
        "uscc": uscc,
        "kind": "return",
        "occurred_at": _days_ago(2),
        "client_key": f"ret-{uscc}",
    }
    first = ciq.post("/v1/credit/facts", json=body)
    again = ciq.post("/v1/credit/facts", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    for change in ({"severity": "serious"}, {"evidence_ref": "another report"}):
        assert_problem(ciq.post("/v1/credit/facts", json={**body, **change}), 409, "conflict")
    assert len(api.get("/v1/credit/facts", params={"uscc": uscc}).json()["items"]) == 1


def test_simulation_writes_nothing(api: httpx.Client, ciq: httpx.Client) -> None:
    uscc = _known_enterprise(api)
    fail = ciq.post(
        "/v1/credit/facts",
        json={"uscc": uscc, "kind": "spot_check_fail", "occurred_at": _days_ago(10)},
    ).json()
    before = api.get(f"/v1/credit/enterprises/{uscc}").json()
    worse = api.post(
        "/v1/credit/simulate",
        json={
            "uscc": uscc,
            "add_facts": [{"kind": "recall", "severity": "serious", "occurred_at": _days_ago(1)}],
        },
    ).json()
    assert worse["current_score"] == before["score"] and worse["score"] < before["score"]
    assert worse["level"] == "D" and worse["level_changes"] and worse["model_version"] >= 1
    without = api.post(
        "/v1/credit/simulate", json={"uscc": uscc, "remove_fact_ids": [fail["id"]]}
    ).json()
    assert without["score"] == 100 and without["level"] == "B"
    model = api.get("/v1/credit/model").json()["model"]
    model["weights"]["spot_check_fail"]["general"] = -50
    draft = api.post("/v1/credit/simulate", json={"uscc": uscc, "model": model}).json()
    assert draft["model_version"] is None and draft["level"] == "D"
    after = api.get(f"/v1/credit/enterprises/{uscc}")
    assert after.json() == before and after.headers["etag"] == '"2"'
    assert_problem(
        api.post(
            "/v1/credit/simulate", json={"uscc": uscc, "remove_fact_ids": [str(uuid.uuid4())]}
        ),
        422,
        "validation",
    )


def test_a_new_model_rescores_everyone_in_a_job(stack, api: httpx.Client) -> None:  # type: ignore[no-untyped-def]
    current = api.get("/v1/credit/model")
    etag, original = current.headers["etag"], current.json()["model"]
    stale = api.put("/v1/credit/model", json=original, headers={"If-Match": '"999"'})
    assert_problem(stale, 412, "precondition-failed")
    overlapping = {**original, "levels": {**original["levels"], "B": {"min": 90, "max": 120}}}
    bad = api.put("/v1/credit/model", json=overlapping, headers={"If-Match": etag})
    assert_problem(bad, 422, "validation")
    assert "B (up to 120.0) overlaps A (from 110.0)" in bad.json()["detail"]
    gap = {**original, "levels": {**original["levels"], "C": {"min": 60, "max": 85}}}
    assert "fall between C and B" in api.put("/v1/credit/model", json=gap).json()["detail"]

    stricter = {
        **original,
        "levels": {
            **original["levels"],
            "A": {"min": 150, "max": 200},
            "B": {"min": 90, "max": 150},
        },
    }
    was_a = api.get("/v1/credit/distribution").json()["counts"]["A"]
    assert was_a > 0  # the demo data's enterprises with two signed commitments
    published = api.put(
        "/v1/credit/model", json={**stricter, "note": "stricter A"}, headers={"If-Match": etag}
    )
    assert published.status_code == 200, published.text
    version, job = published.json()["version"], published.json()["rescore_job"]
    assert published.headers["etag"] == f'"{version}"' and job["status"] == "queued"

    def finished() -> dict | None:  # type: ignore[type-arg]
        body = api.get(f"/v1/credit/jobs/{job['id']}").json()
        return body if body["status"] == "done" else None

    done = wait_until(finished, timeout=60, what="rescoring job")
    assert done["processed"] == done["total"] > 0 and done["level_changes"] >= was_a
    assert api.get("/v1/credit/distribution").json()["counts"]["A"] == 0
    rows = sql(
        stack,
        "credit",
        "SELECT count(*) FROM level_changes WHERE job_id = $1",
        uuid.UUID(job["id"]),
    )
    assert rows == [(done["level_changes"],)]
    assert api.get(f"/v1/credit/model/versions/{version}").json()["note"] == "stricter A"
    # Back to the original, for the other tests.
    restored = api.put("/v1/credit/model", json=original, headers={"If-Match": f'"{version}"'})
    wait_until(
        lambda: (
            api.get(f"/v1/credit/jobs/{restored.json()['rescore_job']['id']}").json()["status"]
            == "done"
        ),
        timeout=60,
        what="restoring job",
    )
    assert api.get("/v1/credit/distribution").json()["counts"]["A"] == was_a
    manual = api.post("/v1/credit/jobs")  # no body needed
    assert manual.status_code == 202 and manual.json()["reason"] == "manual"


def test_recognised_results_cover_an_item_until_revoked(
    stack, api: httpx.Client, ciq: httpx.Client, samr: httpx.Client
) -> None:  # type: ignore[no-untyped-def]
    uscc = _known_enterprise(api)
    samr.post(
        "/v1/credit/facts",
        json={
            "uscc": uscc,
            "kind": "spot_check_pass",
            "occurred_at": _days_ago(5),
            "details": {"checklist_items": ["LED-01", "LED-02"]},
        },
    ).raise_for_status()
    today = datetime.now(UTC).date()
    granted = ciq.post(
        "/v1/credit/recognitions",
        json={
            "recognised_agency": "market_supervision",
            "result_kind": "inspection_result",
            "industries": ["lighting"],
            "valid_from": str(today - timedelta(days=30)),
            "valid_to": str(today + timedelta(days=335)),
        },
    )
    assert granted.status_code == 201, granted.text
    rid = granted.json()["id"]
    assert granted.json()["recognising_agency"] == "ciq"

    def covered(item: str, client: httpx.Client = ciq) -> bool:
        response = client.get(
            "/v1/credit/recognitions/coverage", params={"uscc": uscc, "item": item}
        )
        assert response.status_code == 200, response.text
        return bool(response.json()["covered"])

    assert covered("LED-01") and not covered("LED-99")
    whole = _known_enterprise(api)  # a result naming no items covers the whole checklist
    samr.post(
        "/v1/credit/facts",
        json={"uscc": whole, "kind": "spot_check_pass", "occurred_at": _days_ago(2)},
    ).raise_for_status()
    assert ciq.get(
        "/v1/credit/recognitions/coverage", params={"uscc": whole, "item": "LED-99"}
    ).json()["covered"]
    assert not covered("LED-01", samr)  # market supervision recognises nobody
    assert_problem(
        samr.post(f"/v1/credit/recognitions/{rid}/revoke", json={"reason": "x"}), 403, "forbidden"
    )
    revoked = ciq.post(f"/v1/credit/recognitions/{rid}/revoke", json={"reason": "期满前终止"})
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert not covered("LED-01")
    assert_problem(
        ciq.post(f"/v1/credit/recognitions/{rid}/revoke", json={"reason": "again"}), 409, "conflict"
    )
    types = [
        e["type"]
        for e in stream_events(stack, "credit.recognition.>", "CREDIT")
        if e["data"]["recognition_id"] == rid
    ]
    assert types == ["credit.recognition.granted.v1", "credit.recognition.revoked.v1"]
    backwards = {
        "recognised_agency": "market_supervision",
        "result_kind": "inspection_result",
        "valid_from": str(today),
        "valid_to": str(today - timedelta(days=1)),
    }
    assert_problem(ciq.post("/v1/credit/recognitions", json=backwards), 422, "validation")
    self_recognition = {**backwards, "recognised_agency": "ciq", "valid_to": str(today)}
    assert_problem(ciq.post("/v1/credit/recognitions", json=self_recognition), 422, "validation")


def test_an_approved_repair_ends_the_facts_effect(
    api: httpx.Client, gateway_url: str, ciq: httpx.Client, samr: httpx.Client
) -> None:
    uscc = _known_enterprise(api)
    penalty = samr.post(
        "/v1/credit/facts",
        # past the 90-day waiting period of a general fact (信用修复)
        json={
            "uscc": uscc,
            "kind": "penalty",
            "severity": "general",
            "occurred_at": _days_ago(100),
        },
    ).json()
    award = samr.post(
        "/v1/credit/facts", json={"uscc": uscc, "kind": "training", "occurred_at": _days_ago(3)}
    ).json()
    assert api.get(f"/v1/credit/enterprises/{uscc}").json()["level"] == "C"
    with client_for(api, gateway_url, CREDIT, uscc=uscc) as enterprise:
        asked = enterprise.post(
            "/v1/credit/repairs",
            json={
                "fact_id": penalty["id"],
                "reason": "已整改并缴纳罚款",
                "evidence_ref": "整改报告 2026-11",
            },
        )
        assert asked.status_code == 201, asked.text
        assert_problem(
            enterprise.post(
                "/v1/credit/repairs", json={"fact_id": penalty["id"], "reason": "again"}
            ),
            409,
            "conflict",
        )
        assert_problem(
            enterprise.post("/v1/credit/repairs", json={"fact_id": award["id"], "reason": "?"}),
            422,
            "validation",
        )
        assert_problem(
            enterprise.post(
                f"/v1/credit/repairs/{asked.json()['id']}/decision", json={"decision": "approve"}
            ),
            403,
            "forbidden",
        )
        # An enterprise sees only its own credit.
        assert enterprise.get(f"/v1/credit/enterprises/{uscc}").status_code == 200
        assert_problem(enterprise.get(f"/v1/credit/enterprises/{new_uscc()}"), 403, "forbidden")
        assert {f["uscc"] for f in enterprise.get("/v1/credit/facts").json()["items"]} == {uscc}
        assert_problem(
            enterprise.get("/v1/credit/recognitions/coverage", params={"uscc": uscc}),
            403,
            "forbidden",
        )
    # An agency cannot ask for another's repair; the enterprise asks.
    assert_problem(
        ciq.post("/v1/credit/repairs", json={"fact_id": penalty["id"], "reason": "x"}),
        403,
        "forbidden",
    )
    rid = asked.json()["id"]
    assert_problem(
        ciq.post(f"/v1/credit/repairs/{rid}/decision", json={"decision": "approve"}),
        403,
        "forbidden",
    )
    future = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    assert_problem(
        samr.post(
            f"/v1/credit/repairs/{rid}/decision",
            json={"decision": "approve", "effective_from": future},
        ),
        422,
        "validation",
    )
    approved = samr.post(
        f"/v1/credit/repairs/{rid}/decision", json={"decision": "approve", "note": "同意修复"}
    )
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    score = api.get(f"/v1/credit/enterprises/{uscc}").json()
    assert score["level"] == "B"
    assert [c["state"] for c in score["contributions"] if c["fact_id"] == penalty["id"]] == [
        "repaired"
    ]
    assert (
        "credit repair"
        in api.get(f"/v1/credit/enterprises/{uscc}/history").json()["items"][0]["cause"]
    )
    assert_problem(
        samr.post(f"/v1/credit/repairs/{rid}/decision", json={"decision": "reject"}),
        409,
        "conflict",
    )


def test_the_office_speaks_for_its_bureau(api: httpx.Client) -> None:
    uscc = _known_enterprise(api)  # demo-admin's token names no agency: the zone office's
    body = {"uscc": uscc, "kind": "award", "occurred_at": _days_ago(1)}
    assert api.post("/v1/credit/facts", json=body).json()["source_agency"] == "commerce"


def test_measures_and_scopes(api: httpx.Client, gateway_url: str) -> None:
    measures = api.get("/v1/credit/measures").json()
    by_level = {lv["level"]: lv for lv in measures["levels"]}
    assert by_level["A"]["measures"][0]["params"]["inspection_ratio"] == 0.05
    assert "honours_excluded" in {m["code"] for m in by_level["D"]["measures"]}
    with client_for(api, gateway_url, ["credit:read"], agency="finance") as reader:
        assert reader.get("/v1/credit/measures").status_code == 200
        body = {"uscc": new_uscc(), "kind": "award", "occurred_at": _days_ago(1)}
        assert_problem(reader.post("/v1/credit/facts", json=body), 403, "forbidden")
        assert_problem(reader.put("/v1/credit/model", json={}), 403, "forbidden")
    assert_problem(httpx.get(f"{gateway_url}/v1/credit/model"), 401, "unauthorized")
