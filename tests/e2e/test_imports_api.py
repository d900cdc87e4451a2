"""Spreadsheet imports through the gateway (#21 part 1): a Chinese .xlsx roster and a GB 18030
.csv imported as jobs by the registry's worker, with their events on the stream once; the
same file again changing nothing and emitting nothing; a dry run writing nothing; rejected
rows downloaded as .xlsx with their reasons; the files refused at the door (413 above
20 MiB, 415, 422) and the callers refused (scope, enterprise token, another agency's job);
and `zone import` as an operator runs it."""

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
    gb18030_csv,
    new_uscc,
    stream_events,
    wait_until,
    xlsx,
)

HEADINGS = ["统一社会信用代码", "企业名称", "法定代表人", "行业", "年度", "年度出口额（美元）"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def roster(*usccs: str, year: int = 2024) -> list[list[object]]:
    return [HEADINGS] + [
        [u, f"宁海第{i}号出口企业有限公司", "赵六", "模具", year, 500_000 + i]
        for i, u in enumerate(usccs)
    ]


def submit(
    client: httpx.Client,
    content: bytes,
    *,
    kind: str = "enterprises",
    dry_run: bool = False,
    name: str = "名录.xlsx",
) -> httpx.Response:
    return client.post(
        "/v1/imports",
        files={"file": (name, content, XLSX if name.endswith("xlsx") else "text/csv")},
        data={"kind": kind, "dry_run": str(dry_run).lower()},
    )


def finished(client: httpx.Client, response: httpx.Response) -> dict[str, Any]:
    """The job of a 202, once the worker is done with it."""
    assert response.status_code == 202, response.text
    location = response.headers["location"]
    assert location == f"/v1/imports/{response.json()['id']}"

    def done() -> dict[str, Any] | None:
        job: dict[str, Any] = client.get(location).raise_for_status().json()
        return job if job["status"] in ("done", "failed") else None

    job: dict[str, Any] = wait_until(done, timeout=120, interval=0.2, what="the import job")
    assert job["status"] == "done", job
    return job


def registry_events(stack: Stack, usccs: set[str]) -> list[tuple[str, str]]:
    return [
        (e["type"], e["subject"])
        for e in stream_events(stack, "registry.>")
        if e.get("subject") in usccs
    ]


@pytest.fixture(scope="module")
def office(admin: httpx.Client, gateway_url: str) -> httpx.Client:
    """The zone office's system: registry read and write, the commerce bureau."""
    return client_for(admin, gateway_url, ["registry:read", "registry:write"], agency="commerce")


def test_a_chinese_roster_is_imported_once_and_its_events_flow_once(
    office: httpx.Client, stack: Stack
) -> None:
    usccs = [new_uscc() for _ in range(3)]
    job = finished(office, submit(office, xlsx(roster(*usccs))))
    assert job["counts"] == {"rows": 3, "created": 3, "updated": 0, "unchanged": 0, "rejected": 0}
    assert job["kind"] == "enterprises" and job["headings"] == HEADINGS
    assert job["estimated_rows"] == 3
    enterprise = office.get(f"/v1/enterprises/{usccs[0]}").raise_for_status().json()
    assert enterprise["industry"] == "molds" and enterprise["owner_agency"] == "commerce"
    surveys = office.get(f"/v1/enterprises/{usccs[1]}/surveys").raise_for_status().json()
    assert [(s["year"], s["annual_export_usd"]) for s in surveys["items"]] == [(2024, 500_001)]
    expected = sorted(
        [("registry.enterprise.registered.v1", u) for u in usccs]
        + [("registry.survey.recorded.v1", u) for u in usccs]
    )
    assert wait_until(
        lambda: sorted(registry_events(stack, set(usccs))) == expected, what="the events"
    )

    # the same roster again, saved by Excel as GB 18030 CSV: nothing changes, nothing is sent
    again = finished(office, submit(office, gb18030_csv(roster(*usccs)), name="名录.csv"))
    assert again["counts"]["unchanged"] == 3 and again["counts"]["rows"] == 3
    page = office.get(f"/v1/imports/{again['id']}/outcomes").raise_for_status().json()
    assert page == {"items": [], "next_cursor": None}

    # a changed row: an update with its one event
    changed = roster(*usccs)
    changed[3][1] = "宁海改名模具有限公司"
    third = finished(office, submit(office, xlsx(changed)))
    assert third["counts"]["updated"] == 1 and third["counts"]["unchanged"] == 2
    wait_until(
        lambda: ("registry.enterprise.updated.v1", usccs[2]) in registry_events(stack, set(usccs)),
        what="the update event",
    )
    assert len(registry_events(stack, set(usccs))) == len(expected) + 1


def test_rejected_rows_come_back_as_a_workbook_with_reasons(office: httpx.Client) -> None:
    good, dup = new_uscc(), new_uscc()
    rows = [
        [*HEADINGS, "经营范围"],
        [good, "好企业", "", "灯具", 2024, 1, ""],
        ["91330226ABCDEFGHI", "坏代码", "", "灯具", 2024, 1, ""],
        [dup, "重复", "", "灯具", 2024, 1, ""],
        [dup, "重复", "", "灯具", 2024, 1, ""],
        [new_uscc(), "未知行业", "", "纺织服装", 2024, 1, ""],
    ]
    job = finished(office, submit(office, xlsx(rows)))
    assert job["unknown_headings"] == ["经营范围"]
    assert job["counts"]["created"] == 2 and job["counts"]["rejected"] == 3
    first = office.get(f"/v1/imports/{job['id']}/outcomes?outcome=rejected&limit=2").json()
    assert [(o["row"], o["field"]) for o in first["items"]] == [(3, "uscc"), (5, "uscc")]
    rest = office.get(
        f"/v1/imports/{job['id']}/outcomes",
        params={"outcome": "rejected", "cursor": first["next_cursor"]},
    ).json()
    assert [(o["row"], o["field"]) for o in rest["items"]] == [(6, "industry")]
    assert "纺织服装" in rest["items"][0]["reason_zh"]
    assert "unknown industry" in rest["items"][0]["reason_en"]

    download = office.get(f"/v1/imports/{job['id']}/rejected")
    assert download.status_code == 200 and download.headers["content-type"] == XLSX
    sheet = load_workbook(io.BytesIO(download.content)).active
    assert sheet is not None
    cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert cells[0] == [*HEADINGS, "经营范围", "行号 / Row", "原因 / Reason"]
    assert [(c[0], c[-2]) for c in cells[1:]] == [
        ("91330226ABCDEFGHI", 3),
        (dup, 5),
        (rows[5][0], 6),
    ]
    assert "与第 4 行重复" in cells[2][-1]


def test_a_dry_run_writes_nothing(office: httpx.Client, stack: Stack) -> None:
    uscc = new_uscc()
    job = finished(office, submit(office, xlsx(roster(uscc)), dry_run=True))
    assert job["dry_run"] and job["counts"]["created"] == 1
    outcomes = office.get(f"/v1/imports/{job['id']}/outcomes").json()["items"]
    assert [(o["row"], o["outcome"]) for o in outcomes] == [(2, "created")]
    assert_problem(office.get(f"/v1/enterprises/{uscc}"), 404, "not-found")
    assert registry_events(stack, {uscc}) == []


def test_files_refused_at_the_door(office: httpx.Client) -> None:
    too_big = b"a" * (20 * 1024 * 1024 + 1)
    body = assert_problem(submit(office, too_big, name="big.csv"), 413, "payload-too-large")
    assert body["limit_bytes"] == 20 * 1024 * 1024
    assert_problem(
        submit(office, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n\x00\x00", name="a.xlsx"),
        415,
        "unsupported-media-type",
    )
    empty = assert_problem(submit(office, b"", name="empty.csv"), 422, "validation")
    assert empty["errors"][0]["field"] == "file"
    no_uscc = assert_problem(submit(office, xlsx([["企业名称"], ["某企业"]])), 422, "validation")
    assert "uscc" in no_uscc["detail"]
    assert_problem(submit(office, xlsx(roster(new_uscc())), kind="inspectors"), 422, "validation")


def test_callers_refused(admin: httpx.Client, gateway_url: str, office: httpx.Client) -> None:
    reader = client_for(admin, gateway_url, ["registry:read"], agency="commerce")
    assert_problem(submit(reader, xlsx(roster(new_uscc()))), 403, "forbidden")
    uscc = new_uscc()
    office.post("/v1/enterprises", json={"uscc": uscc, "name": "自己导入的企业"}).raise_for_status()
    own = client_for(admin, gateway_url, ["registry:read", "registry:write"], uscc=uscc)
    assert_problem(submit(own, xlsx(roster(uscc))), 403, "forbidden")
    job = finished(office, submit(office, xlsx(roster(new_uscc()))))
    other = client_for(admin, gateway_url, ["registry:read"], agency="ciq")
    assert_problem(other.get(f"/v1/imports/{job['id']}"), 404, "not-found")
    assert admin.get(f"/v1/imports/{job['id']}").status_code == 200


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


def test_zone_import_cli_shows_a_summary_and_saves_the_rejected_rows(
    gateway_url: str, tmp_path: Path
) -> None:
    good = new_uscc()
    roster_file = tmp_path / "企业名录.csv"
    roster_file.write_bytes(gb18030_csv([*roster(good), ["91330226XXXXXXXXXX", "坏", "", "模具"]]))
    env = {"ZONE_URL": gateway_url}
    dry = zone_cli("import", "enterprises", str(roster_file), "--dry-run", "--json", env=env)
    assert dry.returncode == 4, dry.stderr  # a row was rejected
    assert json.loads(dry.stdout)["counts"] == {
        "rows": 2,
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "rejected": 1,
    }
    assert "row 3: uscc:" in dry.stderr
    rejected = tmp_path / "rejected.xlsx"
    run = zone_cli("import", "enterprises", str(roster_file), "--rejected", str(rejected), env=env)
    assert run.returncode == 4, run.stderr
    assert "2 rows, 1 created, 0 updated, 0 unchanged, 1 rejected" in run.stdout
    sheet = load_workbook(rejected).active
    assert sheet is not None
    assert [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)] == ["91330226XXXXXXXXXX"]

    fixed = tmp_path / "fixed.xlsx"
    fixed.write_bytes(xlsx(roster(good)))
    again = zone_cli("import", "enterprises", str(fixed), env=env)
    assert again.returncode == 0, again.stderr
    assert "1 rows, 0 created, 0 updated, 1 unchanged, 0 rejected" in again.stdout
    missing = zone_cli("import", "enterprises", str(tmp_path / "none.xlsx"), env=env)
    assert missing.returncode == 1


def test_an_inspector_roster_through_the_cli_and_the_job_lists(
    admin: httpx.Client, gateway_url: str, office: httpx.Client, tmp_path: Path
) -> None:
    badge = f"E2E-{new_uscc()[-8:]}"
    headings = ["执法证号", "姓名", "部门", "单位", "专业领域", "是否有效"]
    roster_file = tmp_path / "检查员名录.csv"
    roster_file.write_bytes(
        gb18030_csv(
            [
                headings,
                [badge, "王芳", "县市场监管局", "宁海所", "文具、灯具", "是"],
                ["bad badge", "李四", "market_supervision", "", "", ""],
                [f"{badge}-2", "赵五", "market_supervision", "", "纺织", ""],
                [f"{badge}-3", "钱六", "ciq", "", "", ""],  # another agency's officer
            ]
        )
    )
    env = {"ZONE_URL": gateway_url}
    run = zone_cli("import", "inspectors", str(roster_file), "--json", env=env)
    assert run.returncode == 4, run.stderr  # rows were rejected
    job = json.loads(run.stdout)
    assert job["kind"] == "inspectors" and job["status"] == "done"
    assert job["counts"] == {"rows": 4, "created": 2, "updated": 0, "unchanged": 0, "rejected": 2}
    assert "row 3: badge_number:" in run.stderr and "row 4: specialties:" in run.stderr

    agency = client_for(
        admin, gateway_url, ["inspection:read", "inspection:write"], agency="market_supervision"
    )
    pool = agency.get("/v1/inspectors", params={"agency": "market_supervision", "limit": 500})
    mine = [i for i in pool.raise_for_status().json()["items"] if i["badge_number"] == badge]
    assert [(i["name"], i["unit"], i["specialties"]) for i in mine] == [
        ("王芳", "宁海所", ["stationery", "lighting"])
    ]
    # the agency's own roster again, one unit changed: one update, nothing else
    own = tmp_path / "own.xlsx"
    own.write_bytes(xlsx([headings, [badge, "王芳", "", "县城所", "", ""]]))
    files = {"file": ("own.xlsx", own.read_bytes(), XLSX)}
    changed = agency.post("/v1/inspectors/imports", files=files).raise_for_status().json()
    assert changed["counts"]["updated"] == 1 and changed["agency"] == "market_supervision"
    outcomes = agency.get(f"/v1/inspectors/imports/{changed['id']}/outcomes").json()["items"]
    assert [(o["row"], o["outcome"], o["changed"]) for o in outcomes] == [(2, "updated", ["unit"])]
    again = agency.post("/v1/inspectors/imports", files=files).raise_for_status().json()
    assert again["counts"]["unchanged"] == 1 and again["counts"]["updated"] == 0

    # the job lists: newest first, an agency its own jobs only
    listed = agency.get("/v1/inspectors/imports", params={"limit": 2}).raise_for_status().json()
    assert [j["id"] for j in listed["items"]] == [again["id"], changed["id"]]
    assert job["id"] not in [j["id"] for j in listed["items"]]  # the CLI's, not this agency's
    assert admin.get("/v1/inspectors/imports").json()["items"][0]["id"] == again["id"]
    jobs = office.get("/v1/imports", params={"kind": "enterprises", "status": "done"})
    items = jobs.raise_for_status().json()["items"]
    assert items and all(j["kind"] == "enterprises" and j["status"] == "done" for j in items)
    assert [j["created_at"] for j in items] == sorted(
        (j["created_at"] for j in items), reverse=True
    )
    other = client_for(admin, gateway_url, ["registry:read"], agency="ciq")
    assert other.get("/v1/imports").raise_for_status().json()["items"] == []
    enterprise = client_for(admin, gateway_url, ["registry:read"], uscc=new_uscc())
    assert_problem(enterprise.get("/v1/imports"), 403, "forbidden")
    assert_problem(office.get("/v1/imports", params={"status": "lost"}), 422, "validation")
