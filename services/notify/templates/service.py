"""Message templates in zh-CN and en: the variables each may use, the defaults, rendering.

A template is checked when it is saved: every `{name}` must be a variable its code provides
(nothing else: no attribute or index access, no format specs), so a send never fails on a
missing variable.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from kit import vocabulary
from kit.problem_text import BilingualError
from kit.vocabulary import SIGNAL_KINDS

LANGUAGES: tuple[str, ...] = vocabulary.LANGUAGES

VARIABLES: dict[str, tuple[str, ...]] = {
    "risk.warning": (
        "summary", "batch", "signal", "severity", "action", "reference", "uscc", "alert_id",
    ),
    "risk.precaution": ("supplier_lot", "supplier", "uscc"),
    "bulletin": (
        "kind", "symbol", "member", "title", "objective", "products", "markets",
        "comment_deadline", "adoption_date",
    ),
    "event": ("type", "subject", "time", "summary"),
    "webhook.disabled": ("url", "reason", "failures", "subscription_id"),
}  # fmt: skip

DEFAULTS: dict[tuple[str, str], tuple[str, str]] = {
    ("risk.warning", "zh-CN"): (
        "风险预警：{summary}",
        "批次 {batch} 收到{signal}（严重程度 {severity}，编号 {reference}）。"
        "请{action}。预警编号 {alert_id}。",
    ),
    ("risk.warning", "en"): (
        "Risk warning: {summary}",
        "Batch {batch} is named by a {signal} (severity {severity}, reference {reference}). "
        "Required action: {action}. Alert {alert_id}.",
    ),
    ("risk.precaution", "zh-CN"): (
        "预防性提示：供应商批次 {supplier_lot}",
        "您收到的供应商 {supplier} 批次 {supplier_lot} 也用于另一家企业的出口批次，该批次已被"
        "风险预警。请核查使用该批原料的产品。",
    ),
    ("risk.precaution", "en"): (
        "Precautionary notice: supplier lot {supplier_lot}",
        "Supplier {supplier}'s lot {supplier_lot}, which you received, also went into another "
        "enterprise's export batch, now under a risk alert. Please check the products made "
        "with it.",
    ),
    ("bulletin", "zh-CN"): (
        "{kind}：{symbol} {title}",
        "通报成员 {member}；涉及产品 {products}；市场 {markets}。目的：{objective}。"
        "评议截止 {comment_deadline}，拟通过日期 {adoption_date}。",
    ),
    ("bulletin", "en"): (
        "{kind}: {symbol} {title}",
        "Notifying member {member}; products {products}; markets {markets}. Objective: "
        "{objective}. Comments by {comment_deadline}; proposed adoption {adoption_date}.",
    ),
    ("event", "zh-CN"): ("事件 {type}", "{subject}：{summary}（{time}）"),
    ("event", "en"): ("Event {type}", "{subject}: {summary} ({time})"),
    ("webhook.disabled", "zh-CN"): (
        "Webhook 已停用：{url}",
        "订阅 {subscription_id} 的推送连续失败 {failures} 次（{reason}），已停用。"
        "修复后请重新启用。",
    ),
    ("webhook.disabled", "en"): (
        "Webhook disabled: {url}",
        "Deliveries of subscription {subscription_id} failed {failures} times in a row "
        "({reason}); it is disabled. Re-enable it once fixed.",
    ),
}

# The vocabulary's names; the English ones run mid-sentence ("named by a foreign notification").
SIGNAL_NAMES = {
    "zh-CN": {code: zh for code, (zh, _) in SIGNAL_KINDS.items()},
    "en": {code: en.lower() for code, (_, en) in SIGNAL_KINDS.items()},
}
ACTIONS = {
    "zh-CN": "立即排查该批次及同批原料，暂停相关产品出口，配合针对性检查并于 7 日内报告原因",
    "en": "investigate the batch and its materials at once, hold further exports of the "
    "product, prepare for the targeted inspection and report the cause within 7 days",
}


class TemplateError(BilingualError):
    """A template that could not be rendered with its code's variables (why, in English and,
    as `zh`, in Chinese)."""


def fields(text: str) -> list[str]:
    """The `{name}` fields of a text; refuses what could read beyond the given variables."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise TemplateError(
            f"not a valid template: {exc}", f"模板格式不正确（花括号须成对出现）：{exc}"
        ) from exc
    names = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier():
            raise TemplateError(
                f"{{{name}}}: only plain variable names, like {{batch}}",
                f"{{{name}}}：只能使用简单的变量名，例如 {{batch}}",
            )
        if spec or conversion:
            raise TemplateError(
                f"{{{name}}}: no format specifications or conversions",
                f"{{{name}}}：不能使用格式说明或转换",
            )
        names.append(name)
    return names


def check(code: str, title: str, body: str) -> None:
    """Raise `TemplateError` naming every variable the code does not provide."""
    allowed = VARIABLES.get(code)
    if allowed is None:
        raise TemplateError(
            f"unknown template code {code}; known: {', '.join(VARIABLES)}",
            f"未知的模板代码 {code}；可用：{'、'.join(VARIABLES)}",
        )
    unknown = sorted({n for text in (title, body) for n in fields(text)} - set(allowed))
    if unknown:
        raise TemplateError(
            f"{code} provides no {', '.join(unknown)}; it provides {', '.join(allowed)}",
            f"{vocabulary.name(vocabulary.NOTICES, code)}模板没有变量 {'、'.join(unknown)}；可用的变量：{'、'.join(allowed)}",
        )


def render(title: str, body: str, variables: Mapping[str, Any]) -> tuple[str, str]:
    """Fill a checked template; absent values show as a dash."""
    values = {k: ("—" if v is None or v == "" else v) for k, v in variables.items()}
    return title.format_map(values), body.format_map(values)
