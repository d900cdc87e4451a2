"""One Chinese name per field (#23): every label table a user reads (the portal's and the
dashboard's words, the portal's upload headings, the feeds' and the imports' headings) names
a field as kit.problem_text.FIELD_LABELS does. A narrower name of the same ends with it
(企业名称 for an enterprise's `name`); other names a file may head a column with are accepted
on input, never shown."""

from __future__ import annotations

import pytest

from gateway.dashboard import labels as dashboard
from gateway.portal import labels as portal
from gateway.portal import uploads
from kit import spreadsheets
from kit.problem_text import FIELD_LABELS
from services.inspection.feeds import rows as safety_gate
from services.notify.feeds import rows as eping

TABLES: dict[str, dict[str, str]] = {
    "portal": {k: zh for k, (zh, _) in portal.UI.items()},
    "dashboard": {k: zh for k, (zh, _) in dashboard.UI.items()},
    "portal uploads": uploads.HEADINGS,
    "safety gate feed": safety_gate.LABELS,
    "eping feed": eping.LABELS,
    "imports": {f: headings[0] for f, headings in spreadsheets.HEADINGS_OF.items()},
}
# keys that are words shown about a thing, not the field's heading
NOT_HEADINGS = {"overdue"}  # "已逾期" beside an overdue CAPA or task, not the column 是否逾期
# names that once said the same as FIELD_LABELS in other words (#23)
DIVERGENT = ("职工人数", "员工人数", "HS编码", "风险等级", "产业", "批号", "证明材料")


@pytest.mark.parametrize("table", TABLES)
def test_a_label_table_names_each_field_as_the_one_table_does(table: str) -> None:
    disagree = {
        key: (zh, FIELD_LABELS[key])
        for key, zh in TABLES[table].items()
        if key in FIELD_LABELS
        and key not in NOT_HEADINGS
        and not zh.removesuffix("（可选）").endswith(FIELD_LABELS[key])
    }
    assert disagree == {}


@pytest.mark.parametrize("table", TABLES)
def test_no_label_table_keeps_an_old_name(table: str) -> None:
    old = {k: zh for k, zh in TABLES[table].items() if any(d in zh for d in DIVERGENT)}
    assert old == {}
    levels = {k: zh for k, zh in TABLES[table].items() if "等级" in zh and "信用等级" not in zh}
    assert levels == {}  # a credit level is a 信用等级, a zone's level a 级别


def test_the_check_catches_a_divergent_label() -> None:
    assert not "职工人数".endswith(FIELD_LABELS["employees"])
    assert "企业名称".endswith(FIELD_LABELS["name"])


def test_upload_headings_shown_are_the_one_table_s_and_old_ones_still_read() -> None:
    assert uploads.HEADINGS["hs_code"] == FIELD_LABELS["hs_code"] == "HS 编码"
    for heading in ("HS 编码", "HS编码", "hs_code", "商品编码"):
        assert uploads.column(heading) == "hs_code", heading
    assert uploads.column("出口额（美元）") == uploads.column("货值(美元)") == "export_value_usd"
    assert "HS 编码" in portal.UI["upload_hint"][0] and "hs_code" in portal.UI["upload_hint"][1]
    assert spreadsheets.HEADINGS["职工人数"] == spreadsheets.HEADINGS["从业人数"] == "employees"


def test_feed_messages_name_fields_by_the_one_table() -> None:
    assert eping.LABELS["hs_codes"] == FIELD_LABELS["hs_codes"]
    assert safety_gate.LABELS["risk_level"] == FIELD_LABELS["risk_level"] == "严重程度"
    assert safety_gate.LABELS["batch_number"] == FIELD_LABELS["batch_number"] == "批次号"


def test_the_english_menu_names_lists_in_the_plural() -> None:
    """#23 papercut: the English menu said "Enterprise" for the list of enterprises."""
    assert dashboard.UI["nav_enterprise"] == ("企业查询", "Enterprises")
