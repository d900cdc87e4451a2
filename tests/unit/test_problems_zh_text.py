"""Problems in the caller's language: pydantic's errors through the Chinese table by type."""

import re
import string
import uuid
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal, get_args

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import AwareDatetime, BaseModel, Field, ValidationError, model_validator
from pydantic_core import PydanticKnownError
from pydantic_core.core_schema import ErrorType

from kit.problem_text import (
    FIELD_LABELS,
    PYDANTIC_ZH,
    BilingualError,
    field_label,
    label_zh,
    reason_zh,
)
from kit.problems import (
    NotFound,
    ProblemError,
    field_errors,
    install_problem_handlers,
    invalid,
    problem_body,
)
from kit.uscc import Uscc, UsccError, validate
from kit.validation import Input, Phone, UsccPath, ZoneCodePath

CJK = re.compile(r"[\u4e00-\u9fff]")
ZH = "zh-CN,zh;q=0.9,en;q=0.8"  # what a Chinese browser sends


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


# context members of pydantic's errors, by what pydantic wants them to be
SAMPLE_CONTEXT: dict[str, Any] = {
    "error": "e",
    "expected": "'a' or 'b'",
    "expected_tags": "'a'",
    "expected_schemes": "'https'",
    "pattern": "^x$",
    "field_type": "List",
    "discriminator": "'kind'",
    "tag": "c",
    "class": "C",
    "class_name": "C",
}


def _known(kind: str) -> PydanticKnownError:
    """pydantic's own error of `kind`, with whatever context it insists on."""
    ctx: dict[str, Any] = {}
    for _ in range(8):
        try:
            return PydanticKnownError(kind, ctx or None)  # type: ignore[arg-type]
        except TypeError as exc:
            name = re.search(r"'(\w+)'", str(exc))
            assert name, exc
            ctx[name[1]] = SAMPLE_CONTEXT.get(name[1], 1)
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", sorted(PYDANTIC_ZH))
def test_every_mapped_type_is_pydantic_s_and_fills_from_its_context(kind: str) -> None:
    """Each key is one of pydantic's error types; the template names only `label` and members
    of that type's `ctx` (those its English message uses), and reads as Chinese."""
    assert kind in get_args(ErrorType)
    template = PYDANTIC_ZH[kind]
    assert CJK.search(template)
    names = _fields(template) - {"label"}
    english = _known(kind).message_template
    ctx = {name: "X" for name in names}
    assert names <= _fields(english) | {"error"}, (kind, english)
    reason = reason_zh({"type": kind, "loc": ("body", "uscc"), "msg": "m", "ctx": ctx})
    assert "{" not in reason
    assert reason.startswith("统一社会信用代码") or kind == "json_invalid"


class Colour(StrEnum):
    red = "red"
    blue = "blue"


class Nested(BaseModel):
    uscc: Uscc


class Sample(Input):
    name: Annotated[str, Field(min_length=2, max_length=5)]
    quantity: Annotated[int, Field(le=500, gt=0)]
    colour: Colour
    kind: Literal["a", "b"]
    task_id: uuid.UUID
    established_on: date
    occurred_at: AwareDatetime
    contact_phone: Phone
    items: Annotated[list[Nested], Field(max_length=1)]
    flag: bool


def _errors(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    with pytest.raises(ValidationError) as caught:
        Sample.model_validate(data)
    return {e["type"]: e for e in caught.value.errors()}


GOOD: dict[str, Any] = {
    "name": "abc",
    "quantity": 1,
    "colour": "red",
    "kind": "a",
    "task_id": str(uuid.uuid4()),
    "established_on": "2020-01-01",
    "occurred_at": "2026-01-01T00:00:00+08:00",
    "contact_phone": "13812345678",
    "items": [{"uscc": "91330226MA2AH0KX8K"}],
    "flag": True,
}


@pytest.mark.parametrize(
    ("change", "kind", "expected"),
    [
        ({"name": None}, "string_type", "名称必须是字符串"),
        ({"name": "a"}, "string_too_short", "名称至少需要 2 个字符"),
        ({"name": "abcdefg"}, "string_too_long", "名称最多 5 个字符"),
        ({"quantity": 501}, "less_than_equal", "数量必须小于或等于 500"),
        ({"quantity": 0}, "greater_than", "数量必须大于 0"),
        ({"quantity": "many"}, "int_parsing", "数量必须是整数"),
        ({"quantity": 1.5}, "int_from_float", "数量必须是整数，不能带小数"),
        ({"colour": "green"}, "enum", "字段 colour 的取值无效，可选值：'red'、'blue'"),
        ({"kind": "c"}, "literal_error", "类型的取值无效，可选值：'a'、'b'"),
        ({"task_id": "nope"}, "uuid_parsing", "任务编号不是有效的 UUID"),
        ({"established_on": "2020-13-01"}, "date_from_datetime_parsing", "成立日期不是有效的日期"),
        ({"occurred_at": "2026-01-01T00:00:00"}, "timezone_aware", "发生时间必须带时区偏移"),
        ({"occurred_at": "soon"}, "datetime_from_date_parsing", "发生时间不是有效的时间"),
        ({"contact_phone": "12"}, "value_error", "联系电话应为大陆手机号"),
        ({"items": "x"}, "list_type", "条目必须是数组"),
        ({"items": [{"uscc": "x"}, {"uscc": "y"}]}, "too_long", "条目最多 1 项"),
        ({"items": [{}]}, "missing", "统一社会信用代码（items.0.uscc）为必填项"),
        ({"items": [5]}, "model_type", "条目（items.0）必须是对象"),
        ({"flag": "perhaps"}, "bool_parsing", "字段 flag 必须是布尔值"),
        ({"colour_": "red"}, "extra_forbidden", "字段 colour_ 不是可接受的字段"),
    ],
)
def test_real_errors_read_in_chinese_with_the_field_label(
    change: dict[str, Any], kind: str, expected: str
) -> None:
    errors = _errors({**GOOD, **change})
    assert kind in errors, errors
    assert reason_zh(errors[kind]).startswith(expected)


def test_uscc_reasons_come_in_both_languages() -> None:
    with pytest.raises(UsccError) as caught:
        validate("91330226MA2AH0KX8X")
    assert str(caught.value) == "check character is wrong: expected K, got X"
    assert caught.value.zh == "校验码错误：第 18 位应为 K，实际为 X"
    for bad, zh in [("123", "应为 18 位，实际为 3 位"), ("91330226MA2AH0KX8I", "不允许的字符：I")]:
        with pytest.raises(UsccError) as caught:
            validate(bad)
        assert zh in caught.value.zh
    errors = _errors({**GOOD, "items": [{"uscc": "91330226MA2AH0KX8X"}]})
    assert reason_zh(errors["value_error"]) == (
        "统一社会信用代码（items.0.uscc）无效：校验码错误：第 18 位应为 K，实际为 X"
    )


def test_a_bilingual_error_keeps_pydantic_s_english() -> None:
    error = BilingualError("must not be blank", "不能为空")
    assert str(error) == "must not be blank" and error.zh == "不能为空"


def test_labels_fall_back_to_the_path() -> None:
    assert field_label(("body", "uscc")) == "统一社会信用代码"
    assert field_label(("query", "limit")) == "每页条数"
    assert field_label(("body", "lots", 2, "uscc")) == "统一社会信用代码（lots.2.uscc）"
    assert field_label(("body", "mystery")) == "字段 mystery "
    assert field_label(("body",)) == "字段 请求体 "


def test_an_unmapped_type_still_says_which_field_in_chinese() -> None:
    reason = reason_zh({"type": "no_such_type", "loc": ("body", "uscc"), "msg": "odd"})
    assert reason == "统一社会信用代码校验未通过（odd）"


def test_problem_body_picks_the_language_and_drops_the_other() -> None:
    extensions = {"errors": [{"field": "f", "reason": "bad", "reason_zh": "不对"}]}
    zh = problem_body(
        "validation", "f: bad", detail_zh="f：不对", accept_language=ZH, extensions=extensions
    )
    en = problem_body(
        "validation", "f: bad", detail_zh="f：不对", accept_language="en", extensions=extensions
    )
    assert (zh["title"], zh["detail"], zh["errors"]) == (
        "请求参数校验失败",
        "f：不对",
        [{"field": "f", "reason": "不对"}],
    )
    assert (en["title"], en["detail"], en["errors"]) == (
        "Request validation failed",
        "f: bad",
        [{"field": "f", "reason": "bad"}],
    )
    # nothing written in Chinese: the English, not an empty string
    assert problem_body("conflict", "taken", accept_language=ZH)["detail"] == "taken"


def test_not_found_and_invalid_carry_chinese() -> None:
    body = problem_body(
        "not-found", "x", detail_zh=NotFound("enterprise", "K").detail_zh, accept_language=ZH
    )
    assert body["detail"] == "企业“K”不存在"
    error = invalid("zone_code", "is closed", "已关闭")
    assert error.detail_zh == "示范区代码：已关闭"  # the field by its label, not its name
    assert invalid("findings.0.item", "x", "未知").detail_zh == "检查项（findings.0.item）：未知"
    assert error.extensions["errors"] == [
        {"field": "zone_code", "reason": "is closed", "reason_zh": "已关闭"}
    ]


def test_field_errors_carry_both_reasons() -> None:
    errors = field_errors(list(_errors({**GOOD, "quantity": 501}).values()))
    assert errors == [
        {
            "field": "quantity",
            "reason": "Input should be less than or equal to 500",
            "reason_zh": "数量必须小于或等于 500",
            "type": "less_than_equal",
        }
    ]


def _app() -> TestClient:
    app = FastAPI()
    install_problem_handlers(app)

    class Body(BaseModel):
        quantity: Annotated[int, Field(le=500)]

    @app.post("/things/{uscc}")
    def post(uscc: UsccPath, body: Body) -> dict[str, str]:
        return {"uscc": uscc}

    @app.get("/zones/{code}")
    def zone(code: ZoneCodePath) -> dict[str, str]:
        raise ProblemError("conflict", "closed", detail_zh="已关闭")

    return TestClient(app)


@pytest.mark.parametrize(
    ("lang", "language", "detail"),
    [
        (ZH, "zh-CN", "数量必须小于或等于 500"),
        ("en", "en", "quantity: Input should be less than or equal to 500"),
        (None, "en", "quantity: Input should be less than or equal to 500"),
    ],
)
def test_responses_say_their_language(lang: str | None, language: str, detail: str) -> None:
    client = _app()
    headers = {"Accept-Language": lang} if lang else {}
    response = client.post("/things/91330226MA2AH0KX8K", json={"quantity": 501}, headers=headers)
    assert response.status_code == 422
    assert response.headers["content-language"] == language
    assert response.json()["detail"] == detail
    for path, method in [("/nowhere", "GET"), ("/zones/a-b", "DELETE"), ("/zones/a-b", "GET")]:
        other = client.request(method, path, headers=headers)
        assert other.headers["content-language"] == language
        assert bool(CJK.search(other.json()["detail"])) == (language == "zh-CN")


def test_a_malformed_path_uscc_is_a_422_saying_why() -> None:
    response = _app().post(
        "/things/91330226MA2AH0KX8X", json={"quantity": 1}, headers={"Accept-Language": ZH}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "path.uscc"
    assert "校验码错误" in response.json()["errors"][0]["reason"]
    lower = _app().post("/things/91330226ma2ah0kx8k", json={"quantity": 1})
    assert lower.json() == {"uscc": "91330226MA2AH0KX8K"}
    assert _app().get("/zones/Bad Zone!").status_code == 422


def test_every_resource_a_404_names_has_a_chinese_label() -> None:
    """`NotFound("what", …)` and `get_or_404(…, "what")` anywhere: "what" has a label."""
    from pathlib import Path

    from kit.problem_text import RESOURCE_LABELS

    root = Path(__file__).resolve().parents[2]
    pattern = re.compile(r'(?:NotFound\(\s*|get_or_404\([^)]*?)"([a-z][a-z ]+)"', re.S)
    named = {
        what
        for folder in ("kit", "services", "gateway")
        for path in (root / folder).rglob("*.py")
        for what in pattern.findall(path.read_text())
    }
    assert {"enterprise", "zone", "task"} <= named
    assert sorted(named - RESOURCE_LABELS.keys()) == []


def test_a_rule_over_the_whole_body_reads_without_a_label() -> None:
    from services.inspection.campaigns.schemas import CampaignIn

    class Window(BaseModel):
        start: date
        end: date

        @model_validator(mode="after")
        def _ordered(self) -> "Window":
            if self.end < self.start:
                raise BilingualError("end must not be before start", "结束日期不能早于开始日期")
            return self

    with pytest.raises(ValidationError) as caught:
        Window.model_validate({"start": "2026-02-01", "end": "2026-01-01"})
    (error,) = caught.value.errors()
    assert error["msg"] == "Value error, end must not be before start"
    assert reason_zh(error) == "结束日期不能早于开始日期"
    with pytest.raises(ValidationError) as caught:
        CampaignIn.model_validate({"agencies": ["ciq", "ciq"]})
    reasons = [reason_zh(e) for e in caught.value.errors()]
    assert all(CJK.search(r) for r in reasons), reasons


def test_a_field_named_as_a_path_reads_by_its_label() -> None:
    assert label_zh("source_agency") == "来源部门"
    assert label_zh("items[2].hs_code") == "HS 编码（items.2.hs_code）"
    assert label_zh("body") == "请求体"
    assert label_zh("no_such_field") == "no_such_field"  # the path, never "字段 … "


def test_every_field_a_rule_past_the_schema_names_has_a_chinese_label() -> None:
    """`invalid("field", …)` and `unknown_value("field", …)` anywhere: "field" has a label,
    so the Chinese detail never prints a raw field name."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    named: dict[str, str] = {}
    for folder in ("kit", "services", "gateway"):
        for path in (root / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                first = node.args[0]
                if name in ("invalid", "unknown_value") and isinstance(first, ast.Constant):
                    named[str(first.value)] = f"{path.relative_to(root)}:{node.lineno}"
    assert {"quarter", "seed", "zone"} <= named.keys()
    assert {f: at for f, at in named.items() if f not in FIELD_LABELS} == {}
