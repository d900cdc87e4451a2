"""kit/exports.py: format negotiation, columns and headings, and the middleware walking a list
route's pages into CSV and .xlsx (an in-memory list route stands in for a service's)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI, Header, Query
from openpyxl import load_workbook
from pydantic import BaseModel

from kit.exports import (
    ExportMiddleware,
    NotAcceptable,
    columns,
    content_disposition,
    file_name,
    negotiate,
)
from kit.pagination import EXPORT_LIMIT, MAX_LIMIT, Page, PageParams, encode_cursor, page_params
from kit.problems import ProblemError, install_problem_handlers
from kit.spreadsheets import BOM, XLSX_TYPE


class Item(BaseModel):
    uscc: str
    name: str
    industry: str
    owner: str
    exports_usd: int | None
    level: str
    level_name_zh: str
    created_at: datetime


NAMES = ['=HYPERLINK("http://x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "宁海文具有限公司"]
ROWS = [
    Item(
        uscc=f"91330226MA{n:08d}",
        name=NAMES[n % len(NAMES)],
        industry="stationery" if n % 2 else "molds",
        owner="a" if n % 3 else "b",
        exports_usd=n * 1000 if n % 4 else None,
        level="A",
        level_name_zh="A类（信用风险低）",
        created_at=datetime(2026, 12, 6, 20, 30, n % 60, tzinfo=UTC),
    )
    for n in range(4567)  # three of the export's own pages (EXPORT_LIMIT) and more
]
asked_limits: list[int] = []  # the page sizes the route was asked for
failing: list[bool] = []  # not empty: every page after the first fails


def owner_of(authorization: Annotated[str | None, Header()] = None) -> str | None:
    """A stand-in for the token: `Bearer <owner>` sees that owner's rows, `Bearer all` all."""
    if not authorization:
        raise ProblemError("unauthorized", "no token")
    who = authorization.removeprefix("Bearer ")
    return None if who == "all" else who


def app() -> FastAPI:
    application = FastAPI()
    install_problem_handlers(application)
    application.add_middleware(ExportMiddleware)

    @application.get("/v1/things", response_model=Page[Item])
    async def things(
        owner: Annotated[str | None, Depends(owner_of)],
        page: Annotated[PageParams, Depends(page_params)],
        industry: Annotated[str | None, Query(pattern="^[a-z_]+$")] = None,
    ) -> Page[Item]:
        rows = [
            r
            for r in ROWS
            if (owner is None or r.owner == owner) and (industry is None or r.industry == industry)
        ]
        asked_limits.append(page.limit)
        if failing and page.cursor:  # a later page fails (the database went away)
            raise ProblemError("service-unavailable", "database gone")
        after = page.cursor["uscc"] if page.cursor else ""
        rows = [r for r in rows if r.uscc > after]
        more = len(rows) > page.limit
        rows = rows[: page.limit]
        return Page(
            items=rows, next_cursor=encode_cursor({"uscc": rows[-1].uscc}) if more else None
        )

    @application.get("/v1/things/{uscc}", response_model=Item)
    async def thing(uscc: str) -> Item:
        return next(r for r in ROWS if r.uscc == uscc)

    return application


@pytest.fixture
async def client() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app())
    return httpx.AsyncClient(transport=transport, base_url="http://t")


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, "json"),
        ("*/*", "json"),
        ("application/json", "json"),
        ("text/csv", "csv"),
        ("text/csv, application/json;q=0.5", "csv"),
        ("application/json, text/csv", "json"),
        ("text/csv, */*;q=0.1", "csv"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "json"),
        (XLSX_TYPE, "xlsx"),
    ],
)
def test_negotiate_accept(accept: str | None, chosen: str) -> None:
    assert negotiate(None, accept) == chosen


def test_negotiate_format_wins_and_refuses_the_unknown() -> None:
    assert negotiate("xlsx", "application/json") == "xlsx"
    with pytest.raises(ValueError):
        negotiate("pdf", None)
    with pytest.raises(NotAcceptable):
        negotiate(None, "application/xml")
    with pytest.raises(NotAcceptable):
        negotiate(None, "text/csv;q=0")


def test_columns_chinese_headings_names_beside_codes_and_china_time() -> None:
    zh = columns(Item, chinese=True)
    assert [c.heading for c in zh] == [
        "统一社会信用代码",
        "名称",
        "行业",
        "行业名称",
        "owner",
        "出口额（美元）",
        "级别",
        "级别名称（中文）",
        "创建时间（北京时间）",
    ]
    en = [c.heading for c in columns(Item, chinese=False)]
    assert en[:4] == ["uscc", "name", "industry", "industry_name"]
    assert en[-1] == "created_at (China time)"


def test_file_name_has_the_china_date_and_an_rfc_8187_form() -> None:
    late = datetime(2026, 12, 6, 17, 0, tzinfo=UTC)  # 01:00 on the 7th in China
    assert (
        file_name("/v1/zones/z1/transitions", "csv", late) == "zones_z1_transitions_2026-12-07.csv"
    )
    disposition = content_disposition("企业_2026-12-07.csv")
    assert disposition.startswith('attachment; filename="')
    assert "filename*=UTF-8''%E4%BC%81%E4%B8%9A_2026-12-07.csv" in disposition


async def test_csv_export_has_every_row_a_bom_and_neutralised_cells(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(
        "/v1/things",
        params={"industry": "stationery"},
        headers={"Accept": "text/csv", "Authorization": "Bearer all", "Accept-Language": "zh-CN"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "filename*=UTF-8''things_" in response.headers["content-disposition"]
    assert response.content.startswith(BOM)
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["统一社会信用代码", "名称", "行业"]
    expected = [r for r in ROWS if r.industry == "stationery"]
    assert [r[0] for r in rows[1:]] == [r.uscc for r in expected]  # over one export page
    assert rows[1][3] == "文具"
    assert {r[1] for r in rows[1:]} >= {'\'=HYPERLINK("http://x")', "'+cmd|' /C calc'!A0"}
    assert all(not r[1].startswith(("=", "+", "-", "@")) for r in rows[1:])
    assert rows[1][8] == "2026-12-07 04:30:01"


async def test_xlsx_export_opens_back_with_the_same_rows(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/v1/things", params={"format": "xlsx"}, headers={"Authorization": "Bearer b"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == XLSX_TYPE
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("uscc", "name")
    mine = [r for r in ROWS if r.owner == "b"]
    assert [r[0] for r in rows[1:]] == [r.uscc for r in mine]  # the token's rows only
    assert [r[5] for r in rows[1:]] == [r.exports_usd for r in mine]
    assert all(not str(r[1]).startswith(("=", "+", "-", "@")) for r in rows[1:])


async def test_problems_of_the_first_page_are_the_answer(client: httpx.AsyncClient) -> None:
    no_token = await client.get("/v1/things", params={"format": "csv"})
    assert no_token.status_code == 401
    bad_filter = await client.get(
        "/v1/things",
        params={"format": "csv", "industry": "X!"},
        headers={"Authorization": "Bearer all"},
    )
    assert bad_filter.status_code == 422


async def test_unknown_format_is_422_listing_the_allowed(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/v1/things", params={"format": "pdf"}, headers={"Authorization": "Bearer all"}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["allowed"] == ["json", "csv", "xlsx"]
    assert body["errors"][0]["field"] == "query.format"


async def test_accept_without_json_or_csv_is_406(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/v1/things",
        headers={"Accept": "application/xml", "Authorization": "Bearer all"},
    )
    assert response.status_code == 406
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/not-acceptable"


async def test_json_and_non_list_routes_pass_untouched(client: httpx.AsyncClient) -> None:
    page = await client.get(
        "/v1/things", params={"limit": 2}, headers={"Authorization": "Bearer all"}
    )
    assert len(page.json()["items"]) == 2 and page.json()["next_cursor"]
    one = await client.get(f"/v1/things/{ROWS[0].uscc}", headers={"Accept": "text/csv"})
    assert one.json()["uscc"] == ROWS[0].uscc


async def test_json_refused_by_q0_but_csv_named_is_csv(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/v1/things",
        headers={"Accept": "application/json;q=0, text/csv", "Authorization": "Bearer a"},
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")


async def test_an_export_walks_pages_longer_than_a_client_may_ask(
    client: httpx.AsyncClient,
) -> None:
    asked_limits.clear()
    response = await client.get(
        "/v1/things", params={"format": "csv", "limit": 3}, headers={"Authorization": "Bearer all"}
    )
    assert response.status_code == 200
    assert len(response.content.decode("utf-8-sig").splitlines()) == len(ROWS) + 1
    # the caller's limit does not size the file's pages; each page is the export's own
    pages = -(-len(ROWS) // EXPORT_LIMIT)
    assert asked_limits == [EXPORT_LIMIT] * pages


async def test_a_client_still_may_not_ask_for_an_export_sized_page(
    client: httpx.AsyncClient,
) -> None:
    asked_limits.clear()
    response = await client.get(
        "/v1/things", params={"limit": EXPORT_LIMIT}, headers={"Authorization": "Bearer all"}
    )
    assert response.status_code == 422
    assert asked_limits == []
    json_page = await client.get(
        "/v1/things", params={"limit": MAX_LIMIT}, headers={"Authorization": "Bearer all"}
    )
    assert len(json_page.json()["items"]) == MAX_LIMIT


async def test_a_later_page_failing_cuts_the_file_short() -> None:
    """The next page is read while this one's rows are written; when it fails, the file
    stops there (no clean end for the client) and nothing is asked for after it."""
    asked_limits.clear()
    failing.append(True)
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/v1/things",
        "raw_path": b"/v1/things",
        "root_path": "",
        "query_string": b"format=csv",
        "headers": [(b"authorization", b"Bearer all"), (b"host", b"t")],
        "client": ("127.0.0.1", 1),
        "server": ("t", 80),
    }
    try:
        with pytest.raises(RuntimeError, match="stopped: page 503"):
            await app()(scope, receive, send)  # type: ignore[arg-type]
    finally:
        failing.clear()
    assert asked_limits == [EXPORT_LIMIT, EXPORT_LIMIT]
    assert sent[0]["status"] == 200
    bodies = [m for m in sent if m["type"] == "http.response.body"]
    assert all(m.get("more_body") for m in bodies)  # never the last, empty one
    text = b"".join(m["body"] for m in bodies).decode("utf-8-sig")  # type: ignore[misc]
    assert len(text.splitlines()) == 1 + EXPORT_LIMIT  # the heading and the first page
