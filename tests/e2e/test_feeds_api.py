"""Feeds in their published formats through the gateway (#21 part 3), on the fixture files
of tests/fixtures/feeds: an EU Safety Gate export becomes risk signals (one matching a zone
enterprise's batch raises its alert, as a posted signal does), a WTO ePing export becomes
TBT bulletins reaching the enterprises with those HS codes in those markets. Bad rows
(unknown country, missing alert number, bad HS code, an SPS symbol) are reported per row in
zh-CN and en; a dry run writes and sends nothing; the same file again changes nothing and
emits nothing; and `zone import safety-gate|eping` as an operator runs it."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from deploy.launcher import Stack
from tests.helpers import (
    assert_problem,
    client_for,
    enterprise_body,
    new_uscc,
    sql,
    stream_events,
    wait_until,
    xlsx,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "feeds"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SIGNALS = "/v1/risk/signals/imports"
BULLETINS = "/v1/bulletins/imports"
ALERTS = ("A12/01501/26", "A12/01502/26", "A12/01503/26", "A12/01504/26", "A12/01506/26")
SYMBOLS = ("G/TBT/N/EU/1150", "G/TBT/N/USA/2201", "G/TBT/N/TUR/245")
ZONE = "lighting-provincial"


def submit(client: httpx.Client, path: str, name: str, *, dry_run: bool = False) -> dict[str, Any]:
    content = (FIXTURES / name).read_bytes()
    media = XLSX if name.endswith(".xlsx") else "text/csv"
    response = client.post(
        path, files={"file": (name, content, media)}, data={"dry_run": str(dry_run).lower()}
    )
    assert response.status_code == 201, response.text
    job: dict[str, Any] = response.json()
    assert response.headers["location"] == f"{path}/{job['id']}"
    assert job["status"] == "done" and job["dry_run"] is dry_run
    return job


def counts(created: int, unchanged: int, rejected: int) -> dict[str, int]:
    return {
        "rows": created + unchanged + rejected,
        "created": created,
        "updated": 0,
        "unchanged": unchanged,
        "rejected": rejected,
    }


def recorded_signals(stack: Stack) -> int:
    query = "SELECT count(*) FROM risk_signals WHERE reference = ANY($1::text[])"
    return int(sql(stack, "inspection", query, list(ALERTS))[0][0])


def published(stack: Stack) -> int:
    query = "SELECT count(*) FROM bulletins WHERE symbol = ANY($1::text[])"
    return int(sql(stack, "notify", query, list(SYMBOLS))[0][0])


@pytest.fixture(scope="module")
def office(admin: httpx.Client, gateway_url: str) -> httpx.Client:
    """The port inspection authority's system: inspection read and write."""
    return client_for(admin, gateway_url, ["inspection:read", "inspection:write"], agency="ciq")


@pytest.fixture(scope="module")
def toy_maker(admin: httpx.Client) -> str:
    """A zone enterprise that shipped the toy batch the first Safety Gate alert names, and
    exports toys (9503) to Germany."""
    uscc = new_uscc()
    body = enterprise_body(
        uscc, products=[{"hs_code": "950300", "name": "毛绒玩具"}], export_markets=["DE"]
    )
    admin.post("/v1/enterprises", json=body).raise_for_status()
    applied = admin.post(f"/v1/zones/{ZONE}/applications", json={"uscc": uscc})
    assert applied.status_code == 201, applied.text
    decided = admin.post(
        f"/v1/memberships/{applied.json()['id']}/decision", json={"decision": "admit"}
    )
    assert decided.status_code == 200, decided.text
    batch = admin.post(
        "/v1/batches",
        json={
            "uscc": uscc,
            "number": "HY-LOT-2609",
            "product": "毛绒玩具",
            "hs_code": "950300",
            "brand": "Haiyu",
            "model": "HY-2501",
            "barcode": "6901234567892",
            "destination": "DE",
        },
    )
    assert batch.status_code == 201, batch.text
    return uscc


def test_a_safety_gate_export_becomes_signals_once_and_raises_the_alert(
    office: httpx.Client, stack: Stack, toy_maker: str
) -> None:
    raised = lambda: [  # noqa: E731
        e
        for e in stream_events(stack, "inspection.alert.>", "INSPECTION")
        if e.get("type") == "inspection.alert.raised.v1" and e.get("subject") == toy_maker
    ]

    # a dry run reports what would happen and writes nothing
    dry = submit(office, SIGNALS, "safety-gate-alerts.xlsx", dry_run=True)
    assert dry["counts"] == counts(created=4, unchanged=0, rejected=2)
    assert dry["kind"] == "safety_gate" and "Counterfeit" in dry["unknown_headings"]
    assert recorded_signals(stack) == 0

    job = submit(office, SIGNALS, "safety-gate-alerts.xlsx")
    assert job["counts"] == counts(created=4, unchanged=0, rejected=2)
    rejected = office.get(f"{SIGNALS}/{job['id']}/outcomes", params={"outcome": "rejected"})
    rows = [(o["row"], o["field"], o["key"]) for o in rejected.json()["items"]]
    assert rows == [(6, "country_of_origin", "A12/01505/26"), (7, "alert_number", None)]
    first = rejected.json()["items"][0]
    assert "Kosovo" in first["reason_en"] and "Kosovo" in first["reason_zh"]
    assert "原产国" in first["reason_zh"]

    # the toy alert is matched to the batch by its batch number and raises the alert
    def matched() -> dict[str, Any] | None:
        items = office.get("/v1/risk/signals", params={"uscc": toy_maker}).json()["items"]
        hit = [s for s in items if s["reference"] == "A12/01501/26" and s["alert_id"]]
        return hit[0] if hit else None

    signal = wait_until(matched, timeout=60, what="the toy alert matched")
    assert signal["kind"] == "foreign_notification" and signal["source_agency"] == "ciq"
    assert signal["match_method"] == "batch_number" and signal["severity"]
    assert signal["facts"]["notifying_country"] == "DE"
    assert signal["facts"]["country_of_origin"] == "CN"
    assert signal["facts"]["barcode"] == "6901234567892"
    alert = office.get(f"/v1/risk/alerts/{signal['alert_id']}").raise_for_status().json()
    assert alert["uscc"] == toy_maker and alert["batch_number"] == "HY-LOT-2609"
    wait_until(lambda: len(raised()) == 1, what="inspection.alert.raised")
    assert recorded_signals(stack) == 4

    # the same export again, and the older weekly CSV naming one of its alerts: no change
    again = submit(office, SIGNALS, "safety-gate-alerts.xlsx")
    assert again["counts"] == counts(created=0, unchanged=4, rejected=2)
    weekly = submit(office, SIGNALS, "safety-gate-weekly.csv")
    assert weekly["counts"] == counts(created=1, unchanged=1, rejected=0)
    created = office.get(f"{SIGNALS}/{weekly['id']}/outcomes").json()["items"]
    assert [(o["row"], o["outcome"], o["key"]) for o in created] == [(3, "created", "A12/01506/26")]
    assert recorded_signals(stack) == 5
    assert len(raised()) == 1

    # the rejected rows as a workbook, with their reasons, to fix and import again
    download = office.get(f"{SIGNALS}/{job['id']}/rejected")
    assert download.status_code == 200 and download.headers["content-type"] == XLSX
    sheet = load_workbook(io.BytesIO(download.content)).active
    assert sheet is not None
    found = list(sheet.iter_rows(values_only=True))
    assert found[0][-2:] == ("行号 / Row", "原因 / Reason")
    assert [r[-2] for r in found[1:]] == [6, 7]
    assert "Kosovo" in str(found[1][-1])


def test_an_eping_export_becomes_bulletins_for_those_products_and_markets(
    admin: httpx.Client, stack: Stack, gateway_url: str, toy_maker: str
) -> None:
    own = client_for(admin, gateway_url, ["notify:read"], uscc=toy_maker)
    wait_until(
        lambda: sql(stack, "notify", "SELECT 1 FROM recipients WHERE uscc = $1", toy_maker),
        what="notify hears of the toy maker",
    )

    def bulletin_events() -> list[str]:
        return [
            e["data"]["symbol"]
            for e in stream_events(stack, "notify.bulletin.>", "NOTIFY")
            if e.get("type") == "notify.bulletin.published.v1"
            and e["data"].get("symbol") in SYMBOLS
        ]

    assert bulletin_events() == []

    dry = submit(admin, BULLETINS, "eping-notifications.xlsx", dry_run=True)
    assert dry["counts"] == counts(created=3, unchanged=0, rejected=3)
    assert published(stack) == 0 and bulletin_events() == []
    assert own.get("/v1/inbox", params={"kind": "bulletin"}).json()["items"] == []

    job = submit(admin, BULLETINS, "eping-notifications.xlsx")
    assert job["kind"] == "eping" and job["counts"] == counts(created=3, unchanged=0, rejected=3)
    outcomes = admin.get(f"{BULLETINS}/{job['id']}/outcomes").json()["items"]
    assert [(o["row"], o["outcome"], o["field"]) for o in outcomes] == [
        (2, "created", None),
        (3, "created", None),
        (4, "created", None),
        (5, "rejected", "symbol"),
        (6, "rejected", "hs_codes"),
        (7, "rejected", "member"),
    ]
    assert "kettles" in outcomes[4]["reason_en"] and "HS 编码" in outcomes[4]["reason_zh"]
    assert "Eswatini" in outcomes[5]["reason_en"]

    # the EU toy notification reaches the toy maker (9503, Germany); the others do not
    toys = admin.get("/v1/bulletins", params={"hs_code": "950300", "market": "DE"}).json()
    eu = next(b for b in toys["items"] if b["symbol"] == "G/TBT/N/EU/1150")
    assert eu["kind"] == "wto_tbt" and eu["member"] == "European Union"
    assert eu["products"] == ["9503"] and "DE" in eu["markets"] and len(eu["markets"]) == 27
    assert eu["comment_deadline"] == "2026-12-01" and eu["recipients"] >= 1
    inbox = own.get("/v1/inbox", params={"kind": "bulletin"}).json()["items"]
    assert [m["bulletin_id"] for m in inbox] == [eu["id"]]
    assert published(stack) == 3
    wait_until(
        lambda: sorted(bulletin_events()) == sorted(SYMBOLS), what="notify.bulletin.published"
    )

    # again: nothing is published twice, nobody is told twice
    again = submit(admin, BULLETINS, "eping-notifications.xlsx")
    assert again["counts"] == counts(created=0, unchanged=3, rejected=3)
    assert published(stack) == 3
    assert len(own.get("/v1/inbox", params={"kind": "bulletin"}).json()["items"]) == 1
    assert sorted(bulletin_events()) == sorted(SYMBOLS)


def test_feed_files_refused_at_the_door_and_callers_refused(
    admin: httpx.Client, office: httpx.Client, gateway_url: str, toy_maker: str
) -> None:
    def post(client: httpx.Client, path: str, content: bytes, name: str = "x.xlsx") -> Any:
        return client.post(path, files={"file": (name, content, XLSX)})

    assert_problem(post(office, SIGNALS, b"\x00\x01binary"), 415, "unsupported-media-type")
    assert_problem(post(office, SIGNALS, b"", "x.csv"), 422, "validation")
    no_alert = post(office, SIGNALS, xlsx([["Brand", "Notifying country"], ["Haiyu", "Germany"]]))
    assert "alert_number" in assert_problem(no_alert, 422, "validation")["detail"]
    no_member = post(admin, BULLETINS, xlsx([["Document symbol"], ["G/TBT/N/EU/1"]]))
    assert "member" in assert_problem(no_member, 422, "validation")["detail"]
    big = post(office, SIGNALS, b"a" * (5 * 1024 * 1024 + 1), "big.csv")
    assert_problem(big, 413, "payload-too-large")

    # an enterprise is refused; only the office publishes bulletins
    own = client_for(admin, gateway_url, ["inspection:read", "inspection:write"], uscc=toy_maker)
    content = (FIXTURES / "safety-gate-weekly.csv").read_bytes()
    assert_problem(post(own, SIGNALS, content, "w.csv"), 403, "forbidden")
    assert_problem(post(office, BULLETINS, content, "w.csv"), 403, "forbidden")
    # another agency does not see the job
    job = submit(office, SIGNALS, "safety-gate-weekly.csv", dry_run=True)
    other = client_for(admin, gateway_url, ["inspection:read"], agency="commerce")
    assert_problem(other.get(f"{SIGNALS}/{job['id']}"), 404, "not-found")
    assert admin.get(f"{SIGNALS}/{job['id']}").status_code == 200


def zone_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ZONE_")}
    return subprocess.run(
        [sys.executable, "-m", "deploy.cli", *args],
        capture_output=True,
        text=True,
        env={**environ, **env},
        timeout=300,
        check=False,
    )


def test_zone_import_of_the_feeds(gateway_url: str, tmp_path: Path) -> None:
    env = {"ZONE_URL": gateway_url}
    gate = zone_cli(
        "import", "safety-gate", str(FIXTURES / "safety-gate-alerts.xlsx"), "--dry-run", "--json",
        env=env,
    )  # fmt: skip
    assert gate.returncode == 4, gate.stderr  # rows were rejected
    assert json.loads(gate.stdout)["kind"] == "safety_gate"
    assert "row 6: country_of_origin: unknown country 'Kosovo'" in gate.stderr
    rejected = tmp_path / "rejected.xlsx"
    ping = zone_cli(
        "import", "eping", str(FIXTURES / "eping-notifications.xlsx"), "--dry-run",
        "--rejected", str(rejected), env=env,
    )  # fmt: skip
    assert ping.returncode == 4, ping.stderr
    assert ": 6 rows, " in ping.stdout and " 3 rejected" in ping.stdout
    sheet = load_workbook(rejected).active
    assert sheet is not None
    assert [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)] == [
        "G/SPS/N/CHN/1300",
        "G/TBT/N/KOR/1210",
        "G/TBT/N/SWZ/12",
    ]
