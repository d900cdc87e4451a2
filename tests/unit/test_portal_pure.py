"""The portal's pure parts: batch files (CSV, GB 18030, Excel) into bulk items and the bulk
answer back onto the file's rows; the credit page's bars and repair dates; its words."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, date, datetime, timedelta

import pytest

from gateway.dashboard.session import csrf_for as dashboard_csrf_for
from gateway.portal import labels, pages, uploads
from gateway.portal.session import csrf_for, portal_path
from kit import commitments
from tests.helpers import gb18030_csv, xlsx

HEADER: list[object] = [
    "number",
    "product",
    "hs_code",
    "quantity",
    "unit",
    "export_value_usd",
    "ship_date",
]


def test_a_csv_becomes_items_with_their_file_rows() -> None:
    data = '\ufeffnumber,product,quantity,unit,export_value_usd\nA-1,灯,1200,pcs,"50,000"\n\nA-2,,3.5,kg,x\n'
    rows = uploads.read(data.encode(), "b.csv")
    assert [r.line for r in rows] == [2, 4]  # the blank row is skipped, the numbering kept
    assert rows[0].item == {
        "number": "A-1",
        "product": "灯",
        "quantity": 1200.0,
        "unit": "pcs",
        "export_value_usd": 50000,
    }
    assert rows[1].item == {"number": "A-2", "quantity": 3.5, "unit": "kg", "export_value_usd": "x"}


def test_gb18030_and_chinese_headers() -> None:
    rows = uploads.read(gb18030_csv([["批次号", "产品名称", "目的国"], ["B-1", "台灯", "DE"]]))
    assert rows[0].item == {"number": "B-1", "product": "台灯", "destination": "DE"}


def test_an_excel_workbook_keeps_codes_as_text_and_dates_as_iso() -> None:
    data = xlsx([HEADER, ["X-1", "灯", 940542, 10, "pcs", 2000.0, datetime(2026, 1, 2)]])
    rows = uploads.read(data, "whatever.csv")  # the bytes decide, not the name
    assert rows[0].item["hs_code"] == "940542"
    assert rows[0].item["ship_date"] == "2026-01-02"
    assert rows[0].item["export_value_usd"] == 2000
    assert rows[0].item["quantity"] == 10


def test_the_owner_is_always_the_signed_in_enterprise() -> None:
    rows = uploads.read(b"number,uscc\nA-1,91330226000000000X\n")
    assert '"uscc": "MINE"' in uploads.ndjson(rows, "MINE")


@pytest.mark.parametrize(
    ("data", "name", "says"),
    [
        (b"", "a.csv", "empty"),
        (b"product,unit\nx,pcs\n", "a.csv", "number"),
        (b"number\n", "a.csv", "no rows"),
        (b"number\n\xff\xfe\xfa\n", "a.csv", "GB 18030"),
        (b"\xd0\xcf\x11\xe0 old excel", "a.xls", ".xlsx"),
        (b"PK\x03\x04 not really a zip", "a.xlsx", "workbook"),
    ],
)
def test_unreadable_files_say_why(data: bytes, name: str, says: str) -> None:
    with pytest.raises(uploads.UnreadableFile, match=says):
        uploads.read(data, name)


def _zip(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return out.getvalue()


def test_damaged_workbooks_are_unreadable_not_errors() -> None:
    good = xlsx([["number"], ["A-1"]])
    with zipfile.ZipFile(io.BytesIO(good)) as archive:
        parts = {n: archive.read(n) for n in archive.namelist()}
    broken_sheet = {n: (b"<not xml" if "sheet1" in n else c) for n, c in parts.items()}
    for data in (
        good[: len(good) // 2],  # cut short
        _zip({"word/document.xml": b"<x/>"}),  # a Word file
        _zip({"[Content_Types].xml": b"garbage<"}),
        _zip(broken_sheet),
    ):
        with pytest.raises(uploads.UnreadableFile, match="workbook"):
            uploads.read(data, "b.xlsx")


def test_the_bulk_answer_is_shown_against_the_file_rows() -> None:
    rows = uploads.read(b"number\nA\n\nB\nC\n")
    answer = {
        "recorded": [
            {"line": 1, "id": "i1", "duplicate": False},
            {"line": 3, "id": "i3", "duplicate": True},
        ],
        "errors": [
            {
                "line": 2,
                "status": 422,
                "errors": [{"field": "destination", "reason": "bad", "reason_zh": "错误"}],
            }
        ],
    }
    shown = uploads.results(rows, answer, "zh-CN")
    assert [(s["row"], s["ok"]) for s in shown] == [(2, True), (4, False), (5, True)]
    assert shown[1]["errors"] == ["destination: 错误"]
    assert shown[2]["duplicate"] is True
    assert uploads.results(rows, answer, "en")[1]["errors"] == ["destination: bad"]


def test_contribution_bars_scale_to_the_largest() -> None:
    bars = pages.contribution_bars([{"points": 10}, {"points": -20}, {"points": 0}])
    assert [b["width"] for b in bars] == [50.0, 100.0, 0.0]
    assert [b["negative"] for b in bars] == [False, True, False]
    assert pages.contribution_bars([]) == []


def test_repair_dates_follow_the_model_in_china_time() -> None:
    model = {
        "repair_waiting_days": {"general": 90, "serious": 365},
        "repair_waiting_days_by_kind": {"penalty": {"general": 180}},
    }
    late = "2026-01-01T20:00:00+00:00"  # already 2 January in China
    assert pages.repair_date(model, kind="return", severity="general", occurred_at=late) == (
        date(2026, 1, 2) + timedelta(days=90)
    )
    assert pages.repair_date(model, kind="penalty", severity="general", occurred_at=late) == (
        date(2026, 1, 2) + timedelta(days=180)
    )
    assert pages.repair_date(model, kind="return", severity="minor", occurred_at=late) is None


def test_repairable_facts_are_adverse_counting_and_not_pending() -> None:
    now = datetime.now(UTC)
    facts = [
        {
            "id": "old",
            "kind": "return",
            "severity": "general",
            "occurred_at": (now - timedelta(days=200)).isoformat(),
        },
        {"id": "new", "kind": "return", "severity": "general", "occurred_at": now.isoformat()},
        {"id": "good", "kind": "award", "severity": "general", "occurred_at": now.isoformat()},
        {"id": "asked", "kind": "return", "severity": "general", "occurred_at": now.isoformat()},
        {"id": "minor", "kind": "return", "severity": "minor", "occurred_at": now.isoformat()},
    ]
    contributions = [
        {"fact_id": f["id"], "points": 5 if f["id"] == "good" else -5, "state": "counted"}
        for f in facts
    ]
    model = {"repair_waiting_days": {"general": 90}}
    found = pages.repairable(
        contributions, facts, model, [{"fact_id": "asked", "status": "pending"}]
    )
    assert [(r["fact"]["id"], r["ready"]) for r in found] == [("old", True), ("new", False)]


def test_the_portal_words_and_session() -> None:
    for table in labels.TABLES.values():
        for key, (zh, en) in table.items():
            assert zh.strip() and en.strip(), key
    assert labels.words("en")["ui"]["app_title"] == "Enterprise portal"
    assert labels.words("zh-CN")["statuses"]["signed"] == "有效"
    assert csrf_for("tok") != dashboard_csrf_for("tok")  # one session never passes for the other
    assert portal_path("/portal/") and portal_path("/portal/credit") and not portal_path("/v1/x")
    assert commitments.text_sha256("承诺") == commitments.text_sha256("承诺")
