"""Domain rules checked past the schema give their reason in Chinese too (issue #23): the
webhook URL guard, the template checker, the labs' accreditation scope (test_labs_analysis_
pure), the password policy (test_password_policy) and the credit model's bands and measures."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from kit.problem_text import reason_zh
from services.credit.policy.schemas import ModelIn
from services.credit.scoring import DEFAULT_MODEL
from services.notify import ssrf
from services.notify.templates import service as templates


def _chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.mark.parametrize(
    ("url", "https", "zh"),
    [
        ("ftp://example.com/hook", False, "webhook 地址必须以 http:// 或 https:// 开头"),
        ("http://example.com/hook", True, "在当前环境中 webhook 必须使用 https"),
        ("http:///hook", False, "webhook 地址缺少主机名"),
        ("https://user:pw@example.com/hook", False, "webhook 地址中不能包含用户名或密码"),
        ("https://example.com:port/hook", False, "webhook 地址的端口不是数字"),
    ],
)
def test_the_webhook_url_guard_refuses_in_both_languages(url: str, https: bool, zh: str) -> None:
    with pytest.raises(ssrf.Refused) as refused:
        ssrf.check_url(url, require_https=https)
    assert refused.value.zh == zh
    assert str(refused.value).isascii()


async def test_a_forbidden_host_is_refused_in_both_languages() -> None:
    with pytest.raises(ssrf.Refused) as refused:
        await ssrf.check_target("http://127.0.0.1/hook", require_https=False, allow="")
    assert refused.value.zh.startswith("主机 127.0.0.1 不是 webhook 可以投递的地址")
    assert str(refused.value) == ssrf.NOT_ALLOWED.format(host="127.0.0.1")


@pytest.mark.parametrize(
    ("code", "title", "zh"),
    [
        ("risk.warning", "{", "模板格式不正确"),
        ("risk.warning", "{batch.__class__}", "{batch.__class__}：只能使用简单的变量名"),
        ("risk.warning", "{batch!r}", "{batch}：不能使用格式说明或转换"),
        ("risk.warning", "{colour}", "风险预警模板没有变量 colour；可用的变量：summary、batch"),
        ("nothing", "{batch}", "未知的模板代码 nothing"),
    ],
)
def test_the_template_checker_refuses_in_both_languages(code: str, title: str, zh: str) -> None:
    with pytest.raises(templates.TemplateError) as refused:
        templates.check(code, title, "x")
    assert zh in refused.value.zh
    assert str(refused.value).isascii()


def _model(**changes: Any) -> dict[str, Any]:
    data = DEFAULT_MODEL.model_dump(mode="json")
    data.update(changes)
    return data


def _bands() -> dict[str, dict[str, float]]:
    return DEFAULT_MODEL.model_dump(mode="json")["levels"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("change", "zh"),
    [
        ({"min_score": 300}, "最低分 min_score（300"),
        ({"base_score": 500}, "基础分 base_score 必须在最低分 min_score 与最高分 max_score 之间"),
        ({"levels": {k: v for k, v in _bands().items() if k != "C"}}, "信用等级 C 没有分数段"),
        ({"levels": {**_bands(), "B": {"min": 90, "max": 90}}}, "信用等级 B 的分数段为空"),
        ({"max_score": 250, "levels": _bands()}, "信用等级 A 的分数段止于"),
        ({"levels": {**_bands(), "D": {"min": 10, "max": _bands()["D"]["max"]}}}, "信用等级 D"),
        (
            {"levels": {**_bands(), "C": {"min": _bands()["C"]["min"], "max": 1000}}},
            "重叠",
        ),
        (
            {"levels": {**_bands(), "C": {"min": _bands()["C"]["min"], "max": 80}}},
            "不属于任何等级",
        ),
        ({"measures": {"A": [{"code": "m1", "kind": "reward", "title_zh": "奖",
                               "title_en": "R"}]}}, "措施必须至少设定"),
        ({"measures": {"A": [{"code": "m1", "kind": "reward", "title_zh": "奖", "title_en": "R",
                               "params": {"colour": "red"}}]}}, "未知的效果 colour"),
        ({"measures": {"A": [{"code": "m1", "kind": "reward", "title_zh": "奖", "title_en": "R",
                               "params": {"inspection_ratio": "many"}}]}}, "measures.A.m1："),
    ],
)  # fmt: skip
def test_the_credit_models_bands_and_measures_refuse_in_chinese(
    change: dict[str, Any], zh: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        ModelIn.model_validate(_model(**change))
    error = refused.value.errors()[0]
    reason = reason_zh(error)
    assert zh in reason, reason
    assert _chinese(reason)
    assert not _chinese(str(error["msg"]))  # the English stays English
