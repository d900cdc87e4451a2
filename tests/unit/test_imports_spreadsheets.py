"""kit.spreadsheets and the import row rules: real .xlsx and GB 18030 .csv files made here."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from kit import spreadsheets
from kit.problem_text import FIELD_LABELS
from kit.uscc import generate
from services.registry.imports.rows import (
    Kind,
    RowError,
    key_of,
    parse_enterprise,
    parse_membership,
    parse_survey,
    zh_field,
)
from tests.helpers import gb18030_csv, xlsx

HEADINGS = [
    "统一社会信用代码",
    "企业名称",
    "法定代表人",
    "行业",
    "年度",
    "年度出口额（美元）",
    "备注栏",
]


def _uscc(n: int) -> str:
    import random

    return generate(random.Random(n))


ROWS: list[list[object]] = [
    HEADINGS,
    [_uscc(1), "宁海文具有限公司", "张三", "文具", 2024, 1250000, ""],
    [],  # a blank row is skipped
    [_uscc(2), "宁海灯具厂", "李四", "lighting", 2024, "2,000,000", "x"],
]


@pytest.mark.parametrize("make", [xlsx, gb18030_csv])
def test_chinese_headings_map_to_fields_and_unknown_ones_are_reported(make) -> None:  # type: ignore[no-untyped-def]
    sheet = spreadsheets.read(make(ROWS))
    assert sheet.fields == [
        "uscc",
        "name",
        "legal_representative",
        "industry",
        "year",
        "annual_export_usd",
        None,
    ]
    assert sheet.unknown == ["备注栏"]
    assert sheet.estimated_rows == 3
    rows = list(sheet.rows())
    assert [n for n, _, _ in rows] == [2, 4]
    assert rows[0][1]["year"] == "2024"  # an integer cell reads without ".0"
    assert rows[0][1]["annual_export_usd"] == "1250000"
    assert rows[1][1]["name"] == "宁海灯具厂"


def test_utf8_with_bom_and_english_headings() -> None:
    data = "\ufeffUSCC,Name,Industry, Annual Export (USD) \n".encode() + (
        f"{_uscc(3)},Ninghai Molds,molds,10\n".encode()
    )
    sheet = spreadsheets.read(data)
    assert sheet.fields == ["uscc", "name", "industry", "annual_export_usd"]
    assert spreadsheets.encoding_of(data) == "utf-8-sig"
    assert spreadsheets.encoding_of("企业名称".encode("gb18030")) == "gb18030"


def test_full_width_and_half_width_brackets_are_one_heading() -> None:
    assert spreadsheets.field_of("年度出口额(美元)") == "annual_export_usd"
    assert spreadsheets.field_of(" 年度出口额（美元） ") == "annual_export_usd"
    assert spreadsheets.field_of("出口额（欧元）") is None


def test_empty_file_has_no_headings() -> None:
    assert spreadsheets.read(b"").headings == []
    assert spreadsheets.read(xlsx([])).headings == []


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n\x00\x01binary",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"PK\x03\x04 a zip that is no workbook",
        bytes([0x81, 0x30, 0x81]) * 3 + b"\xff\xfe\xfd",  # neither UTF-8 nor GB 18030
    ],
)
def test_not_a_spreadsheet(data: bytes) -> None:
    with pytest.raises(spreadsheets.NotASpreadsheet):
        spreadsheets.read(data)


def test_rejected_workbook_keeps_cells_adds_reason_and_neutralises_formulas() -> None:
    data = spreadsheets.rejected_workbook(
        ["统一社会信用代码", "企业名称"], [(3, ["91330226BAD", "=HYPERLINK(1)"], "无效 / invalid")]
    )
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == ["统一社会信用代码", "企业名称", "行号 / Row", "原因 / Reason"]
    assert rows[1] == ["91330226BAD", "'=HYPERLINK(1)", 3, "无效 / invalid"]
    # the file comes back: its extra columns are ours, not reported as unknown
    assert spreadsheets.read(data).unknown == []


def test_enterprise_row_with_survey_figures() -> None:
    row = parse_enterprise(
        {
            "uscc": _uscc(4).lower(),
            "name": "宁海模具",
            "industry": "家具（木制品）",
            "year": "2023",
            "annual_export_usd": "1,000",
            "hs_codes": "940360、940161",
            "export_markets": "us;de",
        }
    )
    assert row.uscc == _uscc(4)
    assert row.register.industry == "furniture"
    assert row.given.annual_export_usd is None  # a year: the figure is the survey's
    assert row.survey is not None and row.survey.annual_export_usd == 1000
    assert row.hs_codes == ["940360", "940161"]
    assert row.survey is not None and row.survey.year == 2023
    assert row.survey.export_markets == ["US", "DE"]
    assert row.survey.model_fields_set == {
        "year",
        "annual_export_usd",
        "products",
        "export_markets",
    }


@pytest.mark.parametrize(
    ("values", "field", "zh"),
    [
        ({"name": "x"}, "uscc", "缺少必填项"),
        ({"uscc": "91330226MA2AAAAAA1", "name": "x"}, "uscc", "统一社会信用代码无效"),
        ({"uscc": "USCC", "name": "x"}, "uscc", "统一社会信用代码无效"),
        ({"uscc": _uscc(5), "name": "x", "industry": "纺织"}, "industry", "不在目录中"),
        ({"uscc": _uscc(5), "name": "x", "employees": "many"}, "employees", "取值无效"),
        ({"uscc": _uscc(5), "name": "x", "export_markets": "XX"}, "export_markets", "取值无效"),
        ({"uscc": _uscc(5), "name": "x", "year": "1899"}, "year", "取值无效"),
    ],
)
def test_bad_enterprise_rows_name_the_field_in_both_languages(
    values: dict[str, str], field: str, zh: str
) -> None:
    with pytest.raises(RowError) as caught:
        parse_enterprise(values)
    assert caught.value.field == field
    assert zh in caught.value.zh
    assert caught.value.en


def test_survey_and_membership_rows() -> None:
    survey = parse_survey({"uscc": _uscc(6), "year": "2022", "employees": "120"})
    assert survey.survey.employees == 120
    assert parse_membership({"uscc": _uscc(6), "zone": "z1", "decision": "准入"}).admit
    assert not parse_membership({"uscc": _uscc(6), "zone": "z1"}).admit
    with pytest.raises(RowError) as caught:
        parse_membership({"uscc": _uscc(6), "zone": "z1", "decision": "除名"})
    assert caught.value.field == "decision"


def test_rows_are_keyed_by_uscc_and_year_or_zone() -> None:
    uscc = _uscc(7)
    assert key_of(Kind.enterprises, {"uscc": uscc.lower()}) == uscc
    assert key_of(Kind.enterprises, {"uscc": uscc, "year": "2024"}) == f"{uscc}/2024"
    assert key_of(Kind.surveys, {"uscc": uscc, "year": "2024"}) == f"{uscc}/2024"
    assert key_of(Kind.memberships, {"uscc": uscc, "zone": "z"}) == f"{uscc}/z"
    assert key_of(Kind.enterprises, {}) is None


async def test_only_the_import_path_takes_large_multipart_bodies() -> None:
    import httpx
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from kit.observability import RequestContextMiddleware, UploadRoute

    async def read(request: Request) -> JSONResponse:
        return JSONResponse({"bytes": len(await request.body())})

    app = Starlette(routes=[Route(p, read, methods=["POST"]) for p in ("/v1/imports", "/other")])
    app.add_middleware(
        RequestContextMiddleware,
        service="test",
        max_body_bytes=1024,
        max_bulk_body_bytes=8192,
        upload_routes=[UploadRoute("/v1/imports")],
    )
    files = {"file": ("a.csv", b"x" * 4000, "text/csv")}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://service"
    ) as client:
        assert (await client.post("/v1/imports", files=files)).status_code == 200
        assert (await client.post("/other", files=files)).status_code == 413
        too_big = {"file": ("a.csv", b"x" * 9000, "text/csv")}
        assert (await client.post("/v1/imports", files=too_big)).status_code == 413


def test_a_cell_guarded_against_formulas_reads_back_as_typed() -> None:
    """The rejected-rows workbook keeps `+86…` or `-5` as text with an apostrophe; the office
    fixes the row and imports the file again, and the cell reads as it was typed."""
    from kit.spreadsheets import _safe, cell_text

    for typed in ("+8613800000000", "-5", "=1+1", "@home", "plain", "'quoted"):
        assert cell_text(_safe(typed)) == typed


def test_one_table_names_each_field_in_chinese() -> None:
    """The import's canonical heading, its reasons and problems share kit's one label table."""
    for field_name, headings in spreadsheets.HEADINGS_OF.items():
        assert headings[0] == FIELD_LABELS[field_name]
        assert zh_field(field_name) == FIELD_LABELS[field_name]
        for heading in headings:  # an alias names one field only, never two
            assert spreadsheets.field_of(heading) == field_name
    assert zh_field("employees") == "从业人数" == FIELD_LABELS["employees"]
    # the other ways offices write a heading are still read
    assert spreadsheets.field_of("员工人数") == "employees"
    assert spreadsheets.field_of("企业名称") == "name"
    assert spreadsheets.field_of("年度出口额（美元）") == "annual_export_usd"


def test_a_missing_cell_is_named_by_the_one_label() -> None:
    with pytest.raises(RowError) as caught:
        parse_survey({"uscc": _uscc(7)})
    assert caught.value.zh == f"缺少必填项：{FIELD_LABELS['year']}"
