"""List exports through the gateway (#21, part 2): a service's list and the gateway's own as
CSV (BOM, Chinese headings) and .xlsx, opened back and compared with the JSON; formula-like
names neutralised; an enterprise token exporting only its own rows; a bad format (422) and an
Accept naming no served type (406); the body streamed through the proxy; the dashboard's
export links carrying the page's filters."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from openpyxl import load_workbook

from tests.helpers import assert_problem, client_for, enterprise_body, new_uscc, office_user

TAG = f"导出{uuid.uuid4().hex[:6]}"
NAMES = [
    f'=HYPERLINK("http://evil.example")宁海{TAG}甲有限公司',
    f"+宁海{TAG}乙有限公司",
    f"-宁海{TAG}丙有限公司",
    f"@宁海{TAG}丁有限公司",
    f"宁海{TAG}戊有限公司",
]
PASSWORD = "a-long-office-password-for-exports"
ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture(scope="module")
def made(admin: httpx.Client) -> list[str]:
    """Five enterprises whose names a spreadsheet would run as formulas (all but the last)."""
    usccs = []
    for name in NAMES:
        uscc = new_uscc()
        body = enterprise_body(uscc, name=name, industry="lighting")
        admin.post("/v1/enterprises", json=body).raise_for_status()
        usccs.append(uscc)
    return usccs


def _json_items(api: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = api.get(
            path, params={**params, "limit": 200, **({"cursor": cursor} if cursor else {})}
        )
        page.raise_for_status()
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if not cursor:
            return items


def _csv(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def _today() -> str:
    return datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()


def _as_written(text: str) -> str:
    return "'" + text if text[:1] in "=+-@" else text


def test_csv_export_has_the_json_rows_chinese_headings_and_safe_cells(
    admin: httpx.Client, made: list[str]
) -> None:
    expected = _json_items(admin, "/v1/enterprises", q=TAG)
    assert sorted(e["uscc"] for e in expected) == sorted(made)
    response = admin.get("/v1/enterprises", params={"q": TAG}, headers={"Accept": "text/csv", **ZH})
    rows = _csv(response)
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''enterprises_{_today()}.csv" in disposition
    headings = rows[0]
    assert headings[:2] == ["统一社会信用代码", "名称"]
    assert "行业" in headings and headings[headings.index("行业") + 1] == "行业名称"
    body = [dict(zip(headings, r, strict=True)) for r in rows[1:]]
    assert [r["统一社会信用代码"] for r in body] == [e["uscc"] for e in expected]
    assert [r["名称"] for r in body] == [_as_written(e["name"]) for e in expected]
    assert not any(r["名称"].startswith(("=", "+", "-", "@")) for r in body)
    assert {r["行业名称"] for r in body} == {"灯具"}
    assert [r["从业人数"] for r in body] == [str(e["employees"]) for e in expected]


def test_xlsx_export_opens_back_with_the_same_rows(admin: httpx.Client, made: list[str]) -> None:
    expected = _json_items(admin, "/v1/enterprises", q=TAG)
    response = admin.get("/v1/enterprises", params={"q": TAG, "format": "xlsx"})
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert f"enterprises_{_today()}.xlsx" in response.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    headings = rows[0]
    assert headings[:2] == ["uscc", "name"]  # English: the JSON's field names
    body = [dict(zip(headings, r, strict=True)) for r in rows[1:]]
    assert [r["uscc"] for r in body] == [e["uscc"] for e in expected]
    assert [r["name"] for r in body] == [_as_written(e["name"]) for e in expected]
    assert [r["employees"] for r in body] == [e["employees"] for e in expected]  # numbers
    for row in sheet.iter_rows(min_row=2):
        assert all(c.data_type != "f" for c in row)  # never a formula


def test_an_enterprise_token_exports_only_its_own_rows(
    admin: httpx.Client, gateway_url: str, made: list[str]
) -> None:
    with client_for(admin, gateway_url, ["registry:read"], uscc=made[1]) as own:
        rows = _csv(own.get("/v1/enterprises", params={"format": "csv"}))
        assert [r[0] for r in rows[1:]] == [made[1]]
        xlsx = own.get("/v1/enterprises", params={"format": "xlsx", "q": TAG})
        sheet = load_workbook(io.BytesIO(xlsx.content)).active
        assert sheet is not None
        assert [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)] == [made[1]]
        # a list it may not read is refused as the JSON is, as a problem
        assert_problem(own.get("/v1/clients", params={"format": "csv"}), 403, "forbidden")


def test_the_gateways_own_lists_export(admin: httpx.Client, gateway_url: str) -> None:
    username = office_user(admin, PASSWORD)
    users = _csv(admin.get("/v1/users", params={"format": "csv"}, headers=ZH))
    column = users[0].index("用户名")
    assert username in [r[column] for r in users[1:]]
    assert len(users) - 1 == len(_json_items(admin, "/v1/users"))
    clients = _csv(admin.get("/v1/clients", headers={"Accept": "text/csv"}))
    assert "client_id" in clients[0]
    assert len(clients) - 1 == len(_json_items(admin, "/v1/clients"))
    audit = admin.get("/v1/audit", params={"format": "xlsx", "outcome": "success"})
    assert audit.status_code == 200
    sheet = load_workbook(io.BytesIO(audit.content)).active
    assert sheet is not None and sheet.max_row > 1
    assert f"audit_{_today()}.xlsx" in audit.headers["content-disposition"]


def test_a_bad_format_is_422_and_an_unserved_accept_406(admin: httpx.Client) -> None:
    for path in ("/v1/enterprises", "/v1/audit", "/v1/credit/facts"):
        problem = assert_problem(admin.get(path, params={"format": "pdf"}), 422, "validation")
        assert problem["allowed"] == ["json", "csv", "xlsx"]
        refused = admin.get(path, headers={"Accept": "application/xml"})
        assert_problem(refused, 406, "not-acceptable")
    zh = admin.get("/v1/zones", params={"format": "ods"}, headers=ZH)
    assert "json、csv、xlsx" in assert_problem(zh, 422, "validation")["detail"]


def test_a_long_export_streams_through_the_gateway(
    admin: httpx.Client, gateway_url: str, made: list[str]
) -> None:
    expected = _json_items(admin, "/v1/enterprises")
    with admin.stream(
        "GET", "/v1/enterprises", headers={"Accept": "text/csv", "Accept-Encoding": "identity"}
    ) as response:
        assert response.status_code == 200
        # no length: the rows go out as they are read, not buffered whole anywhere
        assert "content-length" not in response.headers
        assert response.headers.get("transfer-encoding") == "chunked"
        data = response.read()
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == [e["uscc"] for e in expected]


def test_the_dashboards_export_links_carry_the_page_filters(
    admin: httpx.Client, gateway_url: str, made: list[str]
) -> None:
    username = office_user(admin, PASSWORD)
    token = httpx.post(
        f"{gateway_url}/oauth/token",
        data={"grant_type": "password", "username": username, "password": PASSWORD},
    ).json()["access_token"]
    with httpx.Client(
        base_url=gateway_url, headers={"Cookie": f"zone_dashboard={token}"}, timeout=60
    ) as browser_like:
        page = browser_like.get("/dashboard/enterprises", params={"q": TAG})
        assert page.status_code == 200
        query = httpx.QueryParams({"q": TAG})
        csv_link = f"/dashboard/export/enterprises.csv?{query}"
        assert f'href="{csv_link}"' in page.text
        assert f'href="/dashboard/export/enterprises.xlsx?{query}"' in page.text
        rows = _csv(browser_like.get(csv_link))
        assert sorted(r[0] for r in rows[1:]) == sorted(made)
        workbook = browser_like.get(f"/dashboard/export/enterprises.xlsx?{query}")
        sheet = load_workbook(io.BytesIO(workbook.content)).active
        assert sheet is not None and sheet.max_row == len(made) + 1
        audit = browser_like.get("/dashboard/audit", params={"outcome": "denied"}).text
        assert 'href="/dashboard/export/audit.csv?outcome=denied"' in audit
        alerts = browser_like.get("/dashboard/alerts", params={"status": "closed"}).text
        assert 'href="/dashboard/export/alerts.xlsx?status=closed"' in alerts
        zone = browser_like.get("/dashboard/zones/lighting-provincial").text
        assert 'href="/dashboard/export/enterprises.csv?zone=lighting-provincial"' in zone
    with httpx.Client(base_url=gateway_url, follow_redirects=False) as anonymous:
        assert anonymous.get(csv_link).status_code == 303  # a session is needed
