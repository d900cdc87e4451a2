"""The acceptance dossier (验收申报材料) through the gateway, on a zone with real data: two
admitted members (one whose name would be a spreadsheet formula), a commitment, a stage
moved with a reason, a task done with its evidence, an export batch, a foreign
notification that becomes an alert, closed with a conclusion. Both files are downloaded and
opened: the PDF's text and embedded font, the workbook's sheets and cells. Then who may not
have it: no token, an unknown zone, an enterprise token, a token without registry:read; and
a token without inspection:read gets a dossier whose inspection parts say 不可用."""

from __future__ import annotations

import io
import uuid
from datetime import date, timedelta
from typing import Any
from urllib.parse import unquote

import httpx
import pypdfium2 as pdfium  # type: ignore[import-untyped, unused-ignore]
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from deploy.launcher import Stack
from tests.helpers import (
    SHOTS,
    assert_problem,
    client_for,
    codes_shown,
    enterprise_body,
    known_codes,
    new_uscc,
    wait_until,
)

TAG = uuid.uuid4().hex[:6]
CODE = f"dossier-{TAG}"
NAME_ZH = f"出口灯具质量安全示范区（验收测试{TAG}）"
MEMBER = f"宁海明光灯饰{TAG}有限公司"
FORMULA = f'=HYPERLINK("http://evil.example","{TAG}")'
CONCLUSION = f"已召回问题批次并完成整改{TAG}"
EXPORT_USD = 2_000_000


def pdf_text(content: bytes) -> str:
    """Every page's text as PDFium (Chromium's viewer) reads it, without whitespace (table
    cells wrap). pypdf cannot: it reads fpdf2's embedded two-byte CID encoding as one-byte."""
    document = pdfium.PdfDocument(content)
    try:
        raw = "".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()
    return "".join(raw.split())


def _admit(admin: httpx.Client, uscc: str) -> None:
    applied = admin.post(f"/v1/zones/{CODE}/applications", json={"uscc": uscc})
    assert applied.status_code == 201, applied.text
    decided = admin.post(
        f"/v1/memberships/{applied.json()['id']}/decision", json={"decision": "admit"}
    )
    assert decided.status_code == 200, decided.text


@pytest.fixture(scope="module")
def zone(admin: httpx.Client, gateway_url: str) -> dict[str, Any]:
    """A zone with members, a commitment, history, evidence, exports and a closed alert."""
    created = admin.post(
        "/v1/zones",
        json={
            "code": CODE,
            "name_zh": NAME_ZH,
            "name_en": f"Export lighting zone (dossier test {TAG})",
            "industry": "lighting",
            "level": "provincial",
            # a zone outside the work plan's phases (their windows ended in 2020): no phase
            "plan_start": f"{date.today().year - 1}-03-01",
        },
    )
    assert created.status_code == 201, created.text
    task = created.json()["tasks"][0]
    done = admin.put(
        f"/v1/zones/{CODE}/tasks/{task['task_code']}",
        json={"done": True, "note": f"摸底调查报告第{TAG}号"},
    )
    assert done.status_code == 200, done.text
    moved = admin.post(
        f"/v1/zones/{CODE}/transitions", json={"to": "launching", "reason": f"启动建设{TAG}"}
    )
    assert moved.status_code == 201, moved.text

    maker, odd = new_uscc(), new_uscc()
    for uscc, name in ((maker, MEMBER), (odd, FORMULA)):
        registered = admin.post("/v1/enterprises", json=enterprise_body(uscc, name=name))
        assert registered.status_code == 201, registered.text
        _admit(admin, uscc)
    signed = admin.post(
        f"/v1/enterprises/{maker}/commitments",
        json={
            "zone_code": CODE,
            "signatory": f"王伟{TAG}",
            "signed_on": str(date.today() - timedelta(days=10)),
            "text_version": "2017-v1",
            "text": "本企业郑重承诺：诚信守法，确保出口产品质量安全。",
        },
    )
    assert signed.status_code == 201, signed.text
    batch = admin.post(
        "/v1/batches",
        json={
            "uscc": maker,
            "number": f"NB-{TAG}",
            "product": "LED 吸顶灯",
            "hs_code": "940542",
            "quantity": 1000,
            "unit": "pcs",
            "destination": "DE",
            "ship_date": str(date.today() - timedelta(days=1)),
            "export_value_usd": EXPORT_USD,
        },
    )
    assert batch.status_code == 201, batch.text

    # inspection hears of the zone, the members and the batch by events (until it has heard
    # of the zone, its filter answers 422: no items yet)
    def members_known() -> bool:
        items = admin.get("/v1/risk/kpis", params={"zone": CODE}).json().get("items")
        return bool(items) and items[0]["enterprises"] == 2 and items[0]["exports_usd"] > 0

    wait_until(members_known, timeout=30, what="inspection's directory of the zone")
    ciq = client_for(admin, gateway_url, ["inspection:read", "inspection:write"], agency="ciq")
    signal = ciq.post(
        "/v1/risk/signals",
        json={
            "kind": "foreign_notification",
            "reference": f"A12/{TAG}/26",
            "notifying_country": "DE",
            "risk_type": "electric shock",
            "risk_level": "serious",
            "product_category": "Lighting",
            "batch_number": f"NB-{TAG}",
            "measures_taken": "Withdrawal from the market",
        },
    )
    assert signal.status_code == 201, signal.text

    def alert_id() -> str | None:
        body = admin.get(f"/v1/risk/signals/{signal.json()['id']}").json()
        return body.get("alert_id") if body["status"] == "matched" else None

    alert = wait_until(alert_id, timeout=30, what="the alert")
    for patch in ({"status": "investigating"}, {"status": "closed", "conclusion": CONCLUSION}):
        moved_alert = admin.patch(f"/v1/risk/alerts/{alert}", json=patch)
        assert moved_alert.status_code == 200, moved_alert.text
    return {"maker": maker, "odd": odd, "task": task}


def test_pdf_opens_with_the_zone_its_members_and_figures(
    admin: httpx.Client, zone: dict[str, Any]
) -> None:
    response = admin.get(f"/v1/zones/{CODE}/dossier.pdf")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith(f'attachment; filename="dossier-{CODE}-')
    assert NAME_ZH in unquote(disposition.split("filename*=UTF-8''")[1])

    reader = PdfReader(io.BytesIO(response.content))
    assert reader.metadata is not None and NAME_ZH in str(reader.metadata.title)
    text = pdf_text(response.content)
    for expected in (
        NAME_ZH,
        "验收申报材料",
        "成员企业Members",
        MEMBER,
        zone["maker"],
        f"启动建设{TAG}",  # the transition's reason
        f"摸底调查报告第{TAG}号",  # the task's evidence
        f"{EXPORT_USD:,}",  # this year's exports in the KPI table
        "2.0M",  # … and over its bar in the chart
        CONCLUSION,
        f"王伟{TAG}",  # the commitment's signatory
    ):
        assert expected in text, expected
    assert "不可用" not in text  # every part was there
    fonts = [
        font.get_object()
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()  # type: ignore[index]
    ]
    descriptors = [f["/DescendantFonts"][0].get_object()["/FontDescriptor"] for f in fonts]
    assert any(
        key in d.get_object() for d in descriptors for key in ("/FontFile2", "/FontFile3")
    ), "the CJK font is embedded"


def test_xlsx_has_a_sheet_per_section_and_neutralised_text(
    admin: httpx.Client, zone: dict[str, Any]
) -> None:
    response = admin.get(f"/v1/zones/{CODE}/dossier.xlsx")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert ".xlsx" in response.headers["content-disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == [
        "概况 Zone",
        "阶段历程 History",
        "任务清单 Checklist",
        "成员企业 Members",
        "年度指标 KPIs",
        "抽查整改 Checks",
        "风险预警 Alerts",
        "诚信承诺 Commitments",
    ]
    members = book["成员企业 Members"]
    assert members["A2"].value == "统一社会信用代码 USCC"
    rows = {r[0]: r for r in members.iter_rows(min_row=3, values_only=True)}
    assert set(rows) == {zone["maker"], zone["odd"]}
    assert rows[zone["maker"]][1] == MEMBER
    assert rows[zone["odd"]][1] == "'" + FORMULA  # stored as text, never a formula
    odd_cell = next(
        c for (c,) in members.iter_rows(min_row=3, min_col=2, max_col=2) if c.value == "'" + FORMULA
    )
    assert odd_cell.data_type == "s"
    assert members.column_dimensions["B"].width >= 20

    kpis = {r[0]: r for r in book["年度指标 KPIs"].iter_rows(min_row=3, values_only=True)}
    this_year = kpis[date.today().year]
    assert this_year[1] == 2 and this_year[2] == EXPORT_USD and this_year[3] == 1
    assert kpis[date.today().year - 1][2] == 0

    overview = {r[0]: r[1] for r in book["概况 Zone"].iter_rows(min_row=3, values_only=True)}
    assert overview["示范区名称 Name (zh)"] == NAME_ZH
    assert overview["当前阶段 Stage"] == "启动建设 Launching"
    history = list(book["阶段历程 History"].iter_rows(min_row=3, values_only=True))
    assert [(h[2], h[5]) for h in history] == [("启动建设 Launching", f"启动建设{TAG}")]
    checklist = list(book["任务清单 Checklist"].iter_rows(min_row=3, values_only=True))
    evidence = [c for c in checklist if c[1].startswith(zone["task"]["title_zh"])]
    assert evidence and evidence[0][5] == f"摸底调查报告第{TAG}号"
    alerts = list(book["风险预警 Alerts"].iter_rows(min_row=3, values_only=True))
    assert [(a[1], a[3], a[5]) for a in alerts] == [(MEMBER, "已关闭 Closed", CONCLUSION)]
    checks = {r[0]: r[1] for r in book["抽查整改 Checks"].iter_rows(min_row=3, values_only=True)}
    assert checks["其中风险定向检查 Targeted (risk) checks"] == 1  # the alert's task
    commitments = list(book["诚信承诺 Commitments"].iter_rows(min_row=3, values_only=True))
    assert [(c[0], c[1], c[4]) for c in commitments] == [(MEMBER, f"王伟{TAG}", "有效 Signed")]


def test_the_dossier_names_what_it_shows_never_codes(
    admin: httpx.Client, zone: dict[str, Any]
) -> None:
    """The code scan on both files (each line is Chinese, then English): the PDF's text and
    every cell of the workbook name stages, tasks, agencies, statuses and levels; a cell is
    never a bare code."""
    codes, zones = known_codes(admin)
    zones.discard(CODE)  # the zone's own code is its identifier (the header says 代码 Code)
    pdf = admin.get(f"/v1/zones/{CODE}/dossier.pdf")
    found = {"pdf": sorted(codes_shown(pdf_text(pdf.content), codes, zones, chinese=False))}
    xlsx = admin.get(f"/v1/zones/{CODE}/dossier.xlsx").content
    SHOTS.mkdir(parents=True, exist_ok=True)  # kept beside the pages' screenshots, to look at
    (SHOTS / "names-dossier.pdf").write_bytes(pdf.content)
    (SHOTS / "names-dossier.xlsx").write_bytes(xlsx)
    book = load_workbook(io.BytesIO(xlsx))
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if not isinstance(cell.value, str):
                    continue
                shown = codes_shown(cell.value, codes, zones, chinese=False)
                if cell.value.strip() in codes | zones:
                    shown.add(cell.value.strip())
                if shown:
                    found[f"{sheet.title}!{cell.coordinate}"] = sorted(shown)
    assert found == {"pdf": []}


def test_who_may_not_have_the_dossier(
    admin: httpx.Client, gateway_url: str, zone: dict[str, Any]
) -> None:
    assert_problem(httpx.get(f"{gateway_url}/v1/zones/{CODE}/dossier.pdf"), 401, "unauthorized")
    assert_problem(admin.get("/v1/zones/no-such-zone/dossier.pdf"), 404, "not-found")
    assert_problem(admin.get("/v1/zones/no-such-zone/dossier.xlsx"), 404, "not-found")
    assert_problem(admin.get("/v1/zones/%2E%2E/dossier.pdf"), 404, "not-found")
    own = client_for(admin, gateway_url, ["registry:read", "inspection:read"], uscc=zone["maker"])
    assert_problem(own.get(f"/v1/zones/{CODE}/dossier.xlsx"), 403, "forbidden")
    credit_only = client_for(admin, gateway_url, ["credit:read"], agency="finance")
    refused = assert_problem(credit_only.get(f"/v1/zones/{CODE}/dossier.pdf"), 403, "forbidden")
    assert "registry:read" in refused["detail"]  # registry's own answer, passed on
    # the rest of /v1/zones is still registry's
    assert admin.get(f"/v1/zones/{CODE}").json()["name_zh"] == NAME_ZH
    assert admin.get(f"/v1/zones/{CODE}/dossier.csv").status_code == 404


def test_parts_a_token_cannot_read_are_marked_unavailable(
    admin: httpx.Client, gateway_url: str, zone: dict[str, Any]
) -> None:
    registry_only = client_for(admin, gateway_url, ["registry:read"], agency="commerce")
    response = registry_only.get(f"/v1/zones/{CODE}/dossier.xlsx")
    assert response.status_code == 200, response.text
    book = load_workbook(io.BytesIO(response.content))
    kpis = book["年度指标 KPIs"]
    assert str(kpis["A2"].value).startswith("不可用 unavailable: inspection answered 403")
    assert str(book["风险预警 Alerts"]["A2"].value).startswith("不可用")
    members = [r[0] for r in book["成员企业 Members"].iter_rows(min_row=3, values_only=True)]
    assert set(members) == {zone["maker"], zone["odd"]}  # registry's parts are all there
    pdf = registry_only.get(f"/v1/zones/{CODE}/dossier.pdf")
    assert pdf.status_code == 200, pdf.text
    text = pdf_text(pdf.content)
    assert "不可用unavailable" in text and MEMBER in text


def test_the_merged_api_document_lists_both_files(admin: httpx.Client) -> None:
    paths = admin.get("/openapi.json").json()["paths"]
    pdf = paths["/v1/zones/{code}/dossier.pdf"]["get"]
    assert "application/pdf" in pdf["responses"]["200"]["content"]
    assert "404" in paths["/v1/zones/{code}/dossier.xlsx"]["get"]["responses"]


def test_inspection_down_gives_a_dossier_that_says_so(
    admin: httpx.Client, stack: Stack, zone: dict[str, Any]
) -> None:
    """With the inspection service stopped, both files still come, its parts 不可用."""
    stack.stop_service("inspection")
    try:
        pdf = admin.get(f"/v1/zones/{CODE}/dossier.pdf")
        xlsx = admin.get(f"/v1/zones/{CODE}/dossier.xlsx")
    finally:
        stack.start_service("inspection")
    assert pdf.status_code == 200, pdf.text
    text = pdf_text(pdf.content)
    assert "不可用unavailable:theinspectionservicedidnotanswer" in text
    assert MEMBER in text and f"王伟{TAG}" in text  # registry's parts are all there
    assert xlsx.status_code == 200, xlsx.text
    book = load_workbook(io.BytesIO(xlsx.content))
    for sheet in ("年度指标 KPIs", "风险预警 Alerts"):
        assert str(book[sheet]["A2"].value).startswith("不可用"), sheet
    checks = {r[0]: r[1] for r in book["抽查整改 Checks"].iter_rows(min_row=3, values_only=True)}
    assert str(checks["检查任务 Inspection tasks"]).startswith("不可用")
    assert admin.get("/v1/risk/kpis", params={"zone": CODE}).status_code == 200  # back up
