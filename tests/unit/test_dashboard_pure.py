"""The dashboard's pure parts: both languages complete, chart data shaped right, safe redirects."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.dashboard import charts
from gateway.dashboard.labels import LANGUAGES, TABLES, UI, language, words
from gateway.dashboard.pages import phases, progress
from gateway.dashboard.session import csrf_for, safe_next

TEMPLATES = Path(__file__).resolve().parents[2] / "gateway" / "dashboard" / "templates"


@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_label_has_both_languages(name: str) -> None:
    for key, pair in TABLES[name].items():
        assert len(pair) == len(LANGUAGES), key
        assert all(text.strip() for text in pair), f"{name}.{key} has an empty translation"


def test_labels_are_reachable_as_template_attributes() -> None:
    # `t.ui.items` would be the dict method, not the label: no key may shadow one
    for table in TABLES.values():
        assert not set(table) & set(dir(dict)), set(table) & set(dir(dict))


def test_every_label_a_template_uses_exists() -> None:
    used = {
        key
        for path in TEMPLATES.glob("*.html")
        for key in re.findall(r"\bt\.ui\.(\w+)", path.read_text(encoding="utf-8"))
    }
    assert used, "the templates use labels"
    assert not used - set(UI), f"labels missing from labels.UI: {sorted(used - set(UI))}"


def test_language_defaults_to_chinese_and_words_follow_it() -> None:
    assert language(None) == language("fr") == language("") == "zh-CN"
    assert language("en") == language("en-GB") == "en"
    assert words("en")["ui"]["logout"] == "Log out"
    assert words("zh-CN")["ui"]["logout"] == "退出登录"
    assert words("xx")["stages"]["accepted"] == "验收通过"
    assert words("en")["ui"]["no-such-label"] == "no-such-label"  # shows itself, never a 500


def test_credit_distribution_keeps_every_level_in_order() -> None:
    option = charts.credit_distribution({"B": 7, "A": 2}, {"A": "A级"})
    data = option["series"][0]["data"]
    assert [d["value"] for d in data] == [2, 7, 0, 0]
    assert data[0]["name"] == "A级" and data[1]["name"] == "B"
    assert data[2]["label"] == {"show": False} and "label" not in data[0]


def test_zones_by_stage_stacks_levels_per_stage() -> None:
    zones = [
        {"stage": "accepted", "level": "provincial"},
        {"stage": "accepted", "level": "national"},
        {"stage": "accepted", "level": "provincial"},
        {"stage": "planned", "level": "national"},
    ]
    option = charts.zones_by_stage(zones, {"planned": "规划"}, {})
    assert option["xAxis"]["data"][0] == "规划"
    provincial, national = option["series"]
    assert provincial["data"] == [0, 0, 0, 0, 2, 0]
    assert national["data"] == [1, 0, 0, 0, 1, 0]


def test_pass_rate_is_weighted_by_checks_and_absent_without_any() -> None:
    rows = charts.pass_rate_by_year(
        {
            2025: [
                {"spot_checks": 10, "spot_check_pass_rate": 0.9},
                {"spot_checks": 0, "spot_check_pass_rate": None},
                {"spot_checks": 30, "spot_check_pass_rate": 0.5},
            ],
            2024: [{"spot_checks": 0, "spot_check_pass_rate": None}],
        }
    )
    assert [r["year"] for r in rows] == [2024, 2025]
    assert rows[0] == {"year": 2024, "spot_checks": 0, "rate": None}
    assert rows[1]["spot_checks"] == 40 and rows[1]["rate"] == pytest.approx(0.6)
    option = charts.pass_rate_trend(rows, "合格率", "抽查次数")
    assert option["series"][0]["data"] == [None, 60.0]
    assert option["series"][1]["data"] == [0, 40]


def test_contributions_sorted_by_effect_and_signed_colours() -> None:
    option = charts.contributions(
        [
            {"kind": "commitment", "points": 2.0, "state": "counted"},
            {"kind": "notification", "points": -15.5, "state": "counted"},
            {"kind": "award", "points": 0, "state": "expired"},
        ],
        {},
    )
    assert option["yAxis"]["data"] == ["notification", "commitment", "award · expired"]
    values = option["series"][0]["data"]
    assert [v["value"] for v in values] == [-15.5, 2.0, 0.0]
    assert values[0]["itemStyle"]["color"] != values[1]["itemStyle"]["color"]


def test_trace_graph_links_each_lot_to_where_it_was_reached_from() -> None:
    def node(number: str, depth: int, path: list[str], steps: list[dict] | None = None) -> dict:  # type: ignore[type-arg]
        return {
            "lot": {"id": number.lower(), "number": number, "kind": "supplier"},
            "depth": depth,
            "path": path,
            "quantity": 300 if depth else None,
            "steps": steps or [],
        }

    trace = {
        "nodes": [
            node("NB-1", 0, ["NB-1"], [{"disposition": "non_conformant"}]),
            node("HSG-1", 1, ["NB-1", "HSG-1"]),
            node("RESIN-1", 2, ["NB-1", "HSG-1", "RESIN-1"]),
            node("RESIN-1", 2, ["NB-1", "HSG-1", "RESIN-1"]),  # reached twice: drawn once
        ]
    }
    series = charts.trace_graph(trace)["series"][0]
    assert [n["name"] for n in series["data"]] == ["NB-1", "HSG-1", "RESIN-1"]
    assert series["data"][0]["category"] == 2  # the failing step's lot stands out
    assert series["data"][1]["category"] == 1
    assert [(lk["source"], lk["target"]) for lk in series["links"]] == [
        ("NB-1", "HSG-1"),
        ("HSG-1", "RESIN-1"),
    ]
    assert series["links"][0]["label"]["formatter"] == "300"
    assert charts.trace_graph({"nodes": []})["series"][0]["data"] == []


def test_phases_group_zones_on_the_work_plan() -> None:
    timeline = phases(
        [
            {
                "phase": 2,
                "industry": "lighting",
                "level": "provincial",
                "plan_start": "2018-03-01",
                "plan_end": "2019-02-28",
            },
            {
                "phase": None,
                "industry": "stationery",
                "level": "provincial",
                "plan_start": None,
                "plan_end": None,
            },
            {
                "phase": 2,
                "industry": "auto_parts",
                "level": "provincial",
                "plan_start": "2018-04-01",
                "plan_end": "2019-01-31",
            },
        ]
    )
    assert [row["phase"] for row in timeline] == [0, 2]
    assert timeline[1]["start"] == "2018-03" and timeline[1]["end"] == "2019-02"
    assert [z["industry"] for z in timeline[1]["zones"]] == ["auto_parts", "lighting"]
    assert timeline[0]["start"] is None


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("/dashboard/zones/x?year=2025", "/dashboard/zones/x?year=2025"),
        (None, "/"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("dashboard", "/"),
    ],
)
def test_only_local_paths_after_sign_in(given: str | None, expected: str) -> None:
    assert safe_next(given) == expected


def test_csrf_token_is_per_session() -> None:
    assert csrf_for("token-a") == csrf_for("token-a")
    assert csrf_for("token-a") != csrf_for("token-b") and len(csrf_for("x")) == 64


def test_dot_segments_and_trace_tooltips_cannot_escape() -> None:
    from gateway.dashboard.pages import q

    assert q("..") == "%2E%2E" and q(".") == "%2E" and q("a/b") == "a%2Fb" and q("v1.2") == "v1.2"


def test_trace_tooltips_escape_what_enterprises_typed() -> None:
    from gateway.dashboard import charts

    trace = {
        "nodes": [
            {
                "depth": 0,
                "lot": {
                    "number": "B<1>",
                    "kind": "export_batch",
                    "product": "<a href=https://evil>请重新登录</a>",
                },
            }
        ]
    }
    (node,) = charts.trace_graph(trace)["series"][0]["data"]
    tooltip = node["tooltip"]["formatter"]
    assert "<a" not in tooltip and "&lt;a href" in tooltip and "B&lt;1&gt;" in tooltip


def test_progress_sets_targets_against_accepted_zones_and_lists_the_overdue() -> None:
    targets = {
        "targets": [
            {
                "level": "national",
                "zones": 2,
                "accepted": 1,
                "met": False,
                "period_end": "2020-12-31",
            },
            {
                "level": "provincial",
                "zones": 6,
                "accepted": 6,
                "met": True,
                "period_end": "2020-12-31",
            },
        ],
        "actual": {
            "national": {"implementing": 1, "accepted": 1, "revoked": 0},
            "provincial": {"assessing": 2, "accepted": 6, "revoked": 1},
        },
        "zones": [
            {"code": "b", "schedule_status": "overdue", "days_overdue": 10},
            {"code": "a", "schedule_status": "on_schedule", "days_overdue": 0},
            {"code": "c", "schedule_status": "overdue", "days_overdue": 2000},
        ],
        "phases": [{"number": 1}],
    }
    shown = progress(targets)
    assert [
        (r["level"], r["target"], r["accepted"], r["building"], r["met"]) for r in shown["targets"]
    ] == [
        ("national", 2, 1, 1, False),
        ("provincial", 6, 6, 2, True),
    ]
    assert [z["code"] for z in shown["overdue"]] == ["c", "b"]  # most late first
    assert progress({}) == {"targets": [], "overdue": [], "phases": []}


def test_contributions_and_trace_name_their_codes() -> None:
    zh = words("zh-CN")
    option = charts.contributions(
        [
            {"kind": "commitment_signed", "points": 2.0, "state": "counted"},
            {"kind": "award", "points": 0, "state": "expired"},
        ],
        zh["ui"],
        zh["fact_kinds"],
        zh["statuses"],
    )
    assert option["yAxis"]["data"] == ["签署诚信承诺", "表彰奖励 · 已失效"]
    trace = {"nodes": [{"lot": {"number": "NB-1", "kind": "export"}, "depth": 0, "path": []}]}
    (node,) = charts.trace_graph(trace, zh["kinds"])["series"][0]["data"]
    assert node["value"] == "出口批次" and "出口批次" in node["tooltip"]["formatter"]
    legend = ("所选批次", "关联批次", "不合格")
    assert charts.trace_graph(trace, zh["kinds"], legend)["legend"]["data"] == list(legend)


def test_a_code_naming_two_things_keeps_both_names() -> None:
    """`minor` is a severity (轻微) and a verdict (轻微问题): neither overwrites the other."""
    zh = words("zh-CN")
    assert zh["severities"]["minor"] == "轻微"
    assert zh["verdicts"]["minor"] == "轻微问题"
    assert words("en")["severities"]["minor"] == "Minor"
    for path in TEMPLATES.glob("*.html"):  # badges of severities and verdicts name their kind
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"status\(\w+\.(severity|verdict), t\)", text), path.name


def test_merged_kinds_share_no_code() -> None:
    from gateway.dashboard.labels import KINDS
    from kit import vocabulary

    parts = [vocabulary.LOT_KINDS, vocabulary.SIGNAL_KINDS, {"random": 0, "targeted": 0}]
    parts.append({"reward": 0, "punishment": 0})
    assert sum(len(p) for p in parts) == len(KINDS)


def test_one_language_rule_for_every_part() -> None:
    from kit import vocabulary
    from services.notify.templates import service as templates

    assert language is vocabulary.language
    assert LANGUAGES is vocabulary.LANGUAGES is templates.LANGUAGES
    assert [vocabulary.language(v) for v in ("en-GB", "EN", "zh-CN", None, "fr")] == [
        "en", "en", "zh-CN", "zh-CN", "zh-CN",
    ]  # fmt: skip
