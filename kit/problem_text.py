"""The Chinese wording of problems: pydantic's errors by type, field labels, bilingual reasons.

English stays pydantic's own message; a Chinese client gets the template of the error's
`type` here, filled from the error's `ctx` and led by the field's Chinese label (字段名称)
when one is known, else by the field's path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any


class BilingualError(ValueError):
    """A validation reason in both languages: raise it from a validator, pydantic keeps the
    English as `msg` and the exception in `ctx.error`, where the Chinese is found again. The
    Chinese reads after the field's label: "应为 18 位…", "不能晚于今天"."""

    def __init__(self, en: str, zh: str):
        super().__init__(en)
        self.zh = zh


# Field name (the last name in an error's `loc`) -> its Chinese label: the one table of field
# labels. Problems, import reasons and the import's canonical headings (kit.spreadsheets) all
# read it, so a field has one Chinese name wherever a user meets it.
FIELD_LABELS: dict[str, str] = {
    "uscc": "统一社会信用代码",
    "usccs": "统一社会信用代码列表",
    "supplier_uscc": "供应商统一社会信用代码",
    "name": "名称",
    "name_zh": "中文名称",
    "name_en": "英文名称",
    "title": "标题",
    "title_zh": "中文标题",
    "title_en": "英文标题",
    "code": "代码",
    "zone": "示范区",
    "zone_code": "示范区代码",
    "industry": "行业",
    "industries": "行业",
    "level": "级别",
    "status": "状态",
    "kind": "类型",
    "type": "类型",
    "reason": "原因",
    "note": "备注",
    "notes": "备注",
    "agency": "部门",
    "agency_code": "部门代码",
    "agencies": "部门",
    "address": "地址",
    "contact_name": "联系人",
    "contact_phone": "联系电话",
    "legal_representative": "法定代表人",
    "responsible_person": "质量负责人",
    "employees": "从业人数",
    "established_on": "成立日期",
    "annual_output_cny": "年产值（元）",
    "annual_export_usd": "年出口额（美元）",
    "export_value_usd": "出口额（美元）",
    "exports_usd": "出口额（美元）",
    "export_markets": "出口市场",
    "markets": "市场",
    "market": "市场",
    "destination": "目的国",
    "country": "国家或地区",
    "hs_code": "HS 编码",
    "hs_codes": "HS 编码",
    "hs_prefix": "HS 编码前缀",
    "product": "产品",
    "products": "产品",
    "brand": "品牌",
    "model": "型号",
    "quantity": "数量",
    "batch_number": "批次号",
    "batch_id": "批次编号",
    "declaration_no": "报关单号",
    "ship_date": "出运日期",
    "year": "年度",
    "quarter": "季度",
    "score": "信用分",
    "standard": "标准",
    "points": "分值",
    "weight": "权重",
    "details": "详情",
    "description": "说明",
    "evidence": "证据",
    "evidence_ref": "证据编号",
    "occurred_at": "发生时间",
    "expires_at": "失效时间",
    "recorded_at": "记录时间",
    "valid_from": "有效期起",
    "valid_to": "有效期止",
    "window_start": "时间窗口起",
    "window_end": "时间窗口止",
    "deadline": "期限",
    "due_at": "截止时间",
    "held_on": "召开日期",
    "signed_on": "签署日期",
    "task_id": "任务编号",
    "task_code": "任务代码",
    "inspector_id": "检查员编号",
    "inspector_ids": "检查员",
    "campaign_id": "抽查计划编号",
    "lab_id": "实验室编号",
    "checklist_id": "检查表编号",
    "findings": "检查结果",
    "verdict": "结论",
    "conclusion": "结论",
    "severity": "严重程度",
    "risk_level": "严重程度",  # a signal's (the notifier's) severity: kit.vocabulary.SEVERITIES
    "url": "地址（URL）",
    "event_types": "事件类型",
    "username": "用户名",
    "password": "密码",
    "client_id": "客户端标识",
    "client_secret": "客户端密钥",
    "scope": "权限范围",
    "scopes": "权限范围",
    "limit": "每页条数",
    "cursor": "翻页游标",
    "q": "查询文本",
    "items": "条目",
    "text": "正文",
    "body": "请求体",
    "language": "语言",
    "stage": "阶段",
    "phase": "阶段",
    "role": "角色",
    "unit": "单位",
    "badge_number": "执法证号",
    "specialties": "专业领域",
    "location": "地点",
    "topic": "主题",
    "hours": "学时",
    "attendees": "参加人员",
    "decision": "决定",
    "comment": "意见",
    # columns of list exports (kit/exports.py) name these too
    "id": "编号",
    "version": "版本",
    "created_at": "创建时间",
    "updated_at": "更新时间",
    "created_by": "创建人",
    "recorded_by": "记录人",
    "published_at": "发布时间",
    "published_by": "发布人",
    "decided_at": "决定时间",
    "decided_by": "决定人",
    "requested_at": "申请时间",
    "requested_by": "申请人",
    "applied_at": "申请时间",
    "completed_at": "完成时间",
    "closed_at": "关闭时间",
    "drawn_at": "抽取时间",
    "at": "时间",
    "actor": "操作者",
    "outcome": "结果",
    "active": "是否有效",
    "overdue": "是否逾期",
    "model_version": "模型版本",
    "credit_level": "信用等级",
    "source_agency": "来源部门",
    "owner_agency": "负责部门",
    "certifications": "认证",
    "acceptance_authority": "验收机构",
    "plan_start": "计划开始",
    "plan_end": "计划结束",
    "from_stage": "原阶段",
    "to_stage": "新阶段",
    "zones": "示范区",
    "tasks": "任务",
    "members": "成员企业",
    "enterprise": "企业",
    "campaign": "抽查计划",
    "event_id": "事件编号",
    "event_type": "事件类型",
    "alert_id": "预警编号",
    "signal_id": "风险信息编号",
    "fact_id": "信用事实编号",
    "error": "错误",
    # fields named by rules checked past the schema (kit.problems.invalid)
    "item": "检查项",
    "seed": "随机种子",
    "file": "文件",
    "channel": "通知渠道",
    "cnas_number": "CNAS 认可证书编号",
    "cma_number": "CMA 资质认定证书编号",
    "report_number": "报告编号",
    "effective_from": "生效日期",
    "filed_on": "申报日期",
    "decided_on": "决定日期",
    "done_on": "完成日期",
}

# where an error sits that is not a field's name
_LOCATIONS = frozenset({"body", "query", "path", "header", "cookie"})

# pydantic's error `type` -> the Chinese reason; `{label}` is the field, the rest its `ctx`.
PYDANTIC_ZH: dict[str, str] = {
    "missing": "{label}为必填项",
    "missing_argument": "{label}为必填项",
    "extra_forbidden": "{label}不是可接受的字段（请检查拼写）",
    "unexpected_keyword_argument": "{label}不是可接受的字段（请检查拼写）",
    "none_required": "{label}必须为空（null）",
    "string_type": "{label}必须是字符串",
    "string_too_short": "{label}至少需要 {min_length} 个字符",
    "string_too_long": "{label}最多 {max_length} 个字符",
    "string_pattern_mismatch": "{label}格式不正确（应符合 {pattern}）",
    "string_unicode": "{label}必须是有效的 Unicode 字符串",
    "int_type": "{label}必须是整数",
    "int_parsing": "{label}必须是整数",
    "int_from_float": "{label}必须是整数，不能带小数",
    "int_parsing_size": "{label}超出整数可表示的范围",
    "float_type": "{label}必须是数字",
    "float_parsing": "{label}必须是数字",
    "finite_number": "{label}必须是有限的数字",
    "decimal_type": "{label}必须是数字",
    "decimal_parsing": "{label}必须是数字",
    "decimal_max_digits": "{label}最多 {max_digits} 位数字",
    "decimal_max_places": "{label}最多 {decimal_places} 位小数",
    "decimal_whole_digits": "{label}整数部分最多 {whole_digits} 位",
    "bool_type": "{label}必须是布尔值（true 或 false）",
    "bool_parsing": "{label}必须是布尔值（true 或 false）",
    "greater_than": "{label}必须大于 {gt}",
    "greater_than_equal": "{label}必须大于或等于 {ge}",
    "less_than": "{label}必须小于 {lt}",
    "less_than_equal": "{label}必须小于或等于 {le}",
    "multiple_of": "{label}必须是 {multiple_of} 的整数倍",
    "enum": "{label}的取值无效，可选值：{expected}",
    "literal_error": "{label}的取值无效，可选值：{expected}",
    "uuid_type": "{label}必须是 UUID",
    "uuid_parsing": "{label}不是有效的 UUID",
    "uuid_version": "{label}的 UUID 版本不符（应为第 {expected_version} 版）",
    "date_type": "{label}必须是日期（YYYY-MM-DD）",
    "date_parsing": "{label}不是有效的日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "{label}不是有效的日期（YYYY-MM-DD）",
    "date_from_datetime_inexact": "{label}应为日期，不能带时间",
    "date_past": "{label}必须是过去的日期",
    "date_future": "{label}必须是将来的日期",
    "datetime_type": "{label}必须是时间（ISO 8601）",
    "datetime_parsing": "{label}不是有效的时间（ISO 8601，如 2026-12-07T09:30:00+08:00）",
    "datetime_from_date_parsing": "{label}不是有效的时间（ISO 8601）",
    "datetime_object_invalid": "{label}不是有效的时间",
    "datetime_past": "{label}必须是过去的时间",
    "datetime_future": "{label}必须是将来的时间",
    "timezone_aware": "{label}必须带时区偏移（如 +08:00）",
    "timezone_naive": "{label}不能带时区偏移",
    "time_type": "{label}必须是时刻（HH:MM）",
    "time_parsing": "{label}不是有效的时刻（HH:MM）",
    "list_type": "{label}必须是数组",
    "tuple_type": "{label}必须是数组",
    "set_type": "{label}必须是数组",
    "frozen_set_type": "{label}必须是数组",
    "dict_type": "{label}必须是对象",
    "model_type": "{label}必须是对象",
    "model_attributes_type": "{label}必须是对象",
    "too_short": "{label}至少需要 {min_length} 项",
    "too_long": "{label}最多 {max_length} 项",
    "url_type": "{label}必须是网址（URL）",
    "url_parsing": "{label}不是有效的网址（URL）",
    "url_scheme": "{label}的网址协议应为 {expected_schemes}",
    "url_too_long": "{label}的网址最多 {max_length} 个字符",
    "bytes_type": "{label}必须是字节串",
    "json_invalid": "请求体不是有效的 JSON",
    "json_type": "{label}必须是 JSON 字符串",
    "union_tag_invalid": "{label}的 {discriminator} 取值 {tag} 无效，可选值：{expected_tags}",
    "union_tag_not_found": "{label}缺少用于区分类型的字段 {discriminator}",
    "is_instance_of": "{label}的类型不正确",
    "callable_type": "{label}的类型不正确",
    "assertion_error": "{label}未通过校验",
    "value_error": "{label}的取值无效：{error}",
    "frozen_field": "{label}不能修改",
    "frozen_instance": "{label}不能修改",
}


def _expected(value: Any) -> str:
    """pydantic's "'a', 'b' or 'c'" as 'a'、'b'、'c'."""
    return str(value).replace(" or ", "、").replace(", ", "、")


def _names(error: Mapping[str, Any]) -> list[Any]:
    return [p for p in error.get("loc", ()) if p not in _LOCATIONS]


def field_label(loc: tuple[Any, ...] | list[Any]) -> str:
    """The Chinese label of the field at `loc` (its path when the name has none)."""
    parts = [p for p in loc if p not in _LOCATIONS]
    path = ".".join(str(p) for p in parts) or "请求体"
    names = [p for p in parts if isinstance(p, str)]
    zh = FIELD_LABELS.get(names[-1]) if names else None
    if zh is None:
        return f"字段 {path} "
    return zh if len(parts) == 1 else f"{zh}（{path}）"


def label_zh(field: str) -> str:
    """The Chinese name of a field named as a path ("source_agency", "findings.0.item",
    "items[2].hs_code"), for details written past the schema: its label from FIELD_LABELS,
    the path beside it when nested; the path itself when the name has no label."""
    parts: list[Any] = [int(p) if p.isdigit() else p for p in re.split(r"[.\[\]]+", field) if p]
    if all(p in _LOCATIONS for p in parts):  # the request's body (or query) as a whole
        return FIELD_LABELS.get(field, field)
    label = field_label(tuple(parts))
    return field if label.startswith("字段 ") else label


def reason_zh(error: Mapping[str, Any]) -> str:
    """The Chinese reason of one of pydantic's errors (a dict of `type`, `loc`, `msg`, `ctx`)."""
    kind = str(error.get("type", ""))
    ctx = dict(error.get("ctx") or {})
    label = field_label(tuple(error.get("loc", ())))
    cause = ctx.get("error")
    if isinstance(cause, BilingualError):  # about the whole body (a model's rule): no label
        return f"{label}{cause.zh}" if _names(error) else cause.zh
    for key in ("expected", "expected_tags", "expected_schemes"):
        if key in ctx:
            ctx[key] = _expected(ctx[key])
    template = PYDANTIC_ZH.get(kind)
    if template is None:
        return f"{label}校验未通过（{error.get('msg', kind)}）"
    if kind == "value_error":
        ctx["error"] = str(error.get("msg", "")).removeprefix("Value error, ")
    try:
        return template.format(label=label, **ctx)
    except (KeyError, IndexError, ValueError):  # a ctx without the member the template names
        return f"{label}校验未通过（{error.get('msg', kind)}）"


# Resource names of `NotFound(what, key)` in Chinese.
RESOURCE_LABELS: dict[str, str] = {
    "enterprise": "企业",
    "zone": "示范区",
    "agency": "部门",
    "batch": "批次",
    "survey": "摸底调查",
    "import": "导入任务",
    "commitment": "承诺书",
    "application": "申请",
    "membership": "入区记录",
    "task": "任务",
    "inspection task": "检查任务",
    "inspector": "检查员",
    "campaign": "抽查计划",
    "lab": "实验室",
    "lab report": "检测报告",
    "capa": "整改",
    "CAPA": "整改",
    "alert": "风险预警",
    "signal": "风险信号",
    "checklist": "检查表",
    "fact": "信用事实",
    "repair": "信用修复申请",
    "recognition": "互认",
    "score": "信用评分",
    "subscription": "订阅",
    "delivery": "投递",
    "template": "模板",
    "bulletin": "通报",
    "notification": "通知",
    "dead letter": "死信",
    "client": "客户端",
    "user": "用户",
    "group": "领导小组",
    "leadership group": "领导小组",
    "meeting": "会议",
    "standard": "标准",
    "training": "培训",
    "honour round": "评选批次",
    "round": "评选批次",
    "nomination": "提名",
    "responsibility": "责任",
    "quarter": "季度",
    "problem type": "问题类型",
    "path": "路径",
    "action item": "督办事项",
    "analysis release": "质量分析发布",
    "asset": "文件",
    "award round": "评选批次",
    "draw of campaign": "抽查计划的抽取结果",
    "export batch": "出口批次",
    "lockout": "账号锁定",
    "message": "消息",
    "model version": "信用模型版本",
    "published draw": "已公开的抽取结果",
    "rescore job": "重新评分任务",
    "test request": "检测申请",
    "zone task": "示范区任务",
}


def not_found_zh(what: str, key: str) -> str:
    """`NotFound`'s detail in Chinese."""
    return f"{RESOURCE_LABELS.get(what, RESOURCE_LABELS.get(what.lower(), what))}“{key}”不存在"
