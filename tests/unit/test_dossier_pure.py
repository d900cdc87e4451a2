"""The dossier's pure parts: formula neutralisation, chart scaling, KPI years, the
attachment header, the font lookup."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

import pypdfium2 as pdfium
import pytest
from openpyxl import load_workbook

from gateway.dossier.fonts import find_cjk_font
from gateway.dossier.gather import Dossier, Part, kpi_years
from gateway.dossier.pdf import bar_heights, fit_words, nice_ceiling, render_pdf
from gateway.dossier.router import attachment
from gateway.dossier.sections import TIMES_NOTE, sections
from gateway.dossier.xlsx import display_width, neutralise, render_xlsx

ZONE = {
    "code": "lighting-provincial",
    "name_zh": "出口灯具质量安全示范区（省级）",
    "name_en": "Export lighting zone",
    "level": "provincial",
    "stage": "launching",
    "plan_start": "2018-03-01",
    "tasks": [],
}


@pytest.mark.parametrize(
    ("raw", "written"),
    [
        ('=HYPERLINK("http://evil.example","点我")', '\'=HYPERLINK("http://evil.example","点我")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("宁海明光灯饰有限公司", "宁海明光灯饰有限公司"),
        ("A=B", "A=B"),
        ("", ""),
    ],
)
def test_neutralise_text_that_would_start_a_formula(raw: str, written: str) -> None:
    assert neutralise(raw) == written


def test_numbers_stay_numbers_and_control_characters_are_dropped() -> None:
    assert neutralise(-5) == -5 and neutralise(0.25) == 0.25 and neutralise(None) is None
    assert neutralise("宁海\x00灯具\x07") == "宁海灯具"


def test_workbook_stores_the_dangerous_name_as_text() -> None:
    members = [
        {"uscc": "91330226MA2AAAAA1X", "name": "=1+2", "credit_level": "B", "industry": "x"},
        {"uscc": "91330226MA2AAAAA2X", "name": "@evil", "credit_level": None, "industry": "x"},
    ]
    dossier = Dossier(
        zone=ZONE,
        generated_at=datetime(2026, 5, 1, tzinfo=UTC),
        transitions=Part(data=[]),
        members=Part(data=members),
        kpis=Part(error="inspection answered 503"),
        alerts=Part(data=[]),
        commitments=Part(data=[]),
        tasks=Part(data=[]),
        capas=Part(data=[]),
    )
    book = load_workbook(io.BytesIO(render_xlsx(dossier)))
    sheet = book["成员企业 Members"]
    assert sheet["B3"].value == "'=1+2" and sheet["B3"].data_type == "s"
    assert sheet["B4"].value == "'@evil" and sheet["C4"].value == "—"
    assert "不可用" in str(book["年度指标 KPIs"]["A2"].value)


def test_nice_ceiling_is_a_readable_axis_top() -> None:
    assert nice_ceiling(0) == 1 and nice_ceiling(-3) == 1
    assert nice_ceiling(0.93) == 1
    assert nice_ceiling(1.2) == 2
    assert nice_ceiling(2.2) == 2.5
    assert nice_ceiling(3) == 5
    assert nice_ceiling(5) == 5
    assert nice_ceiling(1_234_567) == 2_000_000
    assert nice_ceiling(0.031) == 0.05


def test_bar_heights_scale_to_the_axis_and_keep_missing_apart_from_zero() -> None:
    top, heights = bar_heights([2_000_000, 0, None, 500_000], 40)
    assert top == 2_000_000
    assert heights == [40, 0, None, 10]
    top, heights = bar_heights([None, None], 40)
    assert top == 1 and heights == [None, None]


def test_kpi_years_from_the_plan_start_to_this_year_bounded() -> None:
    now = datetime(2026, 11, 29, 18, 0, tzinfo=UTC)
    assert kpi_years({"plan_start": "2024-03-01"}, now) == [2024, 2025, 2026]
    assert kpi_years({"plan_start": None, "created_at": "2026-01-02T00:00:00Z"}, now) == [2026]
    assert kpi_years({"plan_start": "2001-01-01"}, now)[0] == 2015  # twelve years at most
    assert kpi_years({"plan_start": "2030-01-01"}, now) == [2026]
    # 31 December 17:00 UTC is already the new year in China
    assert kpi_years({}, datetime(2026, 12, 31, 17, 0, tzinfo=UTC)) == [2027]


def test_attachment_has_an_ascii_name_and_the_chinese_one() -> None:
    header = attachment("出口灯具质量安全示范区（省级）", "lighting-provincial", "pdf", "20261129")
    assert header.startswith('attachment; filename="dossier-lighting-provincial-20261129.pdf"')
    utf8 = header.split("filename*=UTF-8''", 1)[1]
    assert utf8.isascii()
    assert unquote(utf8) == "出口灯具质量安全示范区（省级）验收申报材料-20261129.pdf"


def test_display_width_counts_wide_characters_twice() -> None:
    assert display_width("ab") == 2 and display_width("宁海") == 4


def test_font_lookup(tmp_path: Path) -> None:
    fake = tmp_path / "font.ttf"
    fake.write_bytes(b"x")
    assert find_cjk_font(str(fake)) == fake
    assert find_cjk_font(str(tmp_path / "missing.ttf")) is None  # configured means that one
    found = find_cjk_font("", candidates=())
    assert found is not None and found.suffix == ".otf"  # the bundled Noto Sans SC


async def test_no_cjk_font_is_a_503_naming_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never a PDF of empty boxes: without a font the endpoint says what to install (before
    it asks any service)."""
    import httpx
    from fastapi import FastAPI

    from gateway.dossier import router as dossier
    from kit.auth import Principal, current_principal
    from kit.problems import install_problem_handlers

    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(dossier.router)
    app.dependency_overrides[current_principal] = lambda: Principal(
        subject="office", scopes=frozenset({"registry:read"}), agency="commerce"
    )
    monkeypatch.setattr(dossier.settings, "cjk_font", "/nonexistent/NotoSansCJK.ttc")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        answer = await client.get("/v1/zones/lighting-provincial/dossier.pdf")
    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("application/problem+json")
    body = answer.json()
    assert body["type"] == "/problems/service-unavailable"
    assert "fonts-noto-cjk" in body["detail"] and body["font_package"] == "fonts-noto-cjk"


def test_long_cells_are_clipped_in_the_pdf_and_control_characters_cannot_hide_a_formula() -> None:
    from gateway.dossier.pdf import MAX_CELL_CHARS, clip
    from gateway.dossier.xlsx import neutralise

    long = "结论" * 2000
    assert len(clip(long)) < MAX_CELL_CHARS + 50 and clip(long).endswith(
        "Excel full text in the workbook）"
    )
    assert clip("短") == "短"
    assert neutralise('\x01=HYPERLINK("http://x")').startswith("'=")


def test_a_list_longer_than_the_bound_is_cut_and_says_so() -> None:
    import asyncio

    from gateway.dossier import gather
    from gateway.dossier.xlsx import render_xlsx

    client = gather._Client.__new__(gather._Client)  # no request: `get` answers from memory
    served = 0

    async def endless(service: str, path: str, **query: object) -> dict[str, object]:
        nonlocal served
        served += 1
        return {"items": [{"n": i} for i in range(gather.PAGE_LIMIT)], "next_cursor": "more"}

    client.get = endless  # type: ignore[method-assign]
    listing = asyncio.run(client.items("registry", "/v1/enterprises"))
    assert len(listing) == gather.MAX_ITEMS and listing.truncated
    part = asyncio.run(gather._part(client.items("registry", "/v1/enterprises")))
    assert part.truncated and len(part.data) == gather.MAX_ITEMS

    members = [
        {
            "uscc": f"91330226MA2AAAA{i:02d}X",
            "name": f"企业{i}",
            "credit_level": "A",
            "industry": "x",
        }
        for i in range(3)
    ]
    dossier = Dossier(
        zone=ZONE,
        generated_at=datetime(2026, 5, 1, tzinfo=UTC),
        transitions=Part(data=[]),
        members=Part(data=members, truncated=True),
        kpis=Part(data=[]),
        alerts=Part(data=[]),
        commitments=Part(data=[]),
        tasks=Part(data=[]),
        capas=Part(data=[]),
    )
    sheet = load_workbook(io.BytesIO(render_xlsx(dossier)))["成员企业 Members"]
    assert sheet["A2"].value != sheet["A6"].value and "only the first" in str(sheet["A6"].value)
    assert [sheet.cell(r, 1).value for r in (3, 4, 5)] == [m["uscc"] for m in members]


def _dossier_with_history() -> Dossier:
    zone = ZONE | {
        "industry": "stationery",
        "tasks": [
            {
                "stage": "launching",
                "task_code": "kickoff_meeting",
                "title_zh": "组织召开示范区建设推进会",
                "title_en": "Hold the zone kickoff meeting",
                "done_at": "2026-12-06T19:24:05+00:00",
                "done_by": "office-staff",
                "note": "policies_supervision commitments_awards national_application",
            }
        ],
    }
    transitions = [
        {
            "at": "2026-12-06T19:24:05+00:00",
            "from_stage": "planned",
            "to_stage": "launching",
            "actor": "office-staff",
            "agency": "commerce",
            "reason": "启动",
            "open_tasks": ["survey", "kickoff_meeting"],
        }
    ]
    members = [
        {
            "uscc": "91330226MA2AAAAA1X",
            "name": "宁海文具",
            "credit_level": "B",
            "industry": "stationery",
        }
    ]
    return Dossier(
        zone=zone,
        generated_at=datetime(2026, 12, 6, 16, 30, tzinfo=UTC),
        transitions=Part(data=transitions),
        members=Part(data=members),
        kpis=Part(data=[]),
        alerts=Part(data=[]),
        commitments=Part(data=[]),
        tasks=Part(data=[]),
        capas=Part(data=[]),
    )


def test_sections_name_codes_and_show_china_time() -> None:
    by_key = {s.key: s for s in sections(_dossier_with_history())}
    overview = dict(by_key["zone"].rows)
    assert overview["行业 Industry"] == "文具 Stationery"
    assert overview["级别 Level"] == "省级 Provincial"
    assert overview["生成时间 Generated"] == "2026-12-07 00:30"  # 16:30 UTC
    assert "Asia/Shanghai" in overview["时区 Time zone"]
    (moved,) = by_key["history"].rows
    assert moved[0] == "2026-12-07 03:24"  # 19:24 UTC, the next morning in China
    assert moved[1:3] == ["规划 Planned", "启动建设 Launching"]
    assert moved[4].startswith("县商务局 ")
    assert "组织召开示范区建设推进会" in moved[6] and "kickoff_meeting" not in moved[6]
    (task,) = by_key["checklist"].rows
    assert task[3] == "2026-12-07 03:24"
    assert "kickoff_meeting" not in task and task[1].startswith("组织召开示范区建设推进会")
    (member,) = by_key["members"].rows
    assert member[2] == "B类（信用风险一般） B (general credit risk)"
    assert member[3] == "文具 Stationery"


def test_a_code_too_wide_for_its_column_breaks_after_its_joiners() -> None:
    def measure(text: str) -> float:
        return float(len(text))

    assert fit_words("kickoff_meeting", 10, measure) == "kickoff_\nmeeting"
    assert fit_words("a_b_c_d", 5, measure) == "a_b_\nc_d"
    assert fit_words("short kickoff_meeting", 20, measure) == "short kickoff_meeting"
    assert fit_words("A12/01234/26", 5, measure) == "A12/01234/26"  # no joiner after a letter
    assert fit_words("组织召开示范区建设推进会", 3, measure) == "组织召开示范区建设推进会"


def test_pdf_cells_wrap_at_word_boundaries_and_the_header_says_china_time() -> None:
    font = find_cjk_font(None)
    if font is None:
        pytest.skip("no CJK font installed")
    dossier = _dossier_with_history()
    document = pdfium.PdfDocument(render_pdf(dossier, font))
    try:
        text = "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()
    assert "北京时间" in text and "China time" in text
    # every English word printed is a whole word of what was given (no `kickoff_meetin`)
    given = [TIMES_NOTE, "Page None recorded", *(str(s.__dict__) for s in sections(dossier))]
    words = {w for g in given for w in re.findall(r"[A-Za-z]+", g)}
    found = set(re.findall(r"[A-Za-z]+", text))
    assert not found - words, f"words cut mid-way: {sorted(found - words)}"
    assert "kickoff_" not in text  # the task is shown by its names, not its code
