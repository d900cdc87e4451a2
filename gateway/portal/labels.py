"""The portal's words in zh-CN (the default) and English; codes' names come from the one
vocabulary (kit/vocabulary.py). Each entry `key: (zh, en)`, so no translation can be missing."""

from __future__ import annotations

import re

from gateway.portal import uploads
from gateway.webui.words import COMMON, Words, in_language
from kit import vocabulary

UI: dict[str, tuple[str, str]] = {
    **COMMON,  # sign-in, paging, errors: the same in both front ends
    # chrome
    "app_title": ("企业服务门户", "Enterprise portal"),
    "platform": ("宁海县出口产品质量安全示范区平台", "Ninghai export quality demonstration zones"),
    "menu": ("菜单", "Menu"),
    "nav_profile": ("企业档案", "Profile"),
    "nav_credit": ("信用", "Credit"),
    "nav_zones": ("示范区", "Zones"),
    "nav_commitments": ("诚信承诺", "Commitments"),
    "nav_capas": ("整改", "Corrective actions"),
    "nav_batches": ("批次", "Batches"),
    "nav_tests": ("检测申请", "Lab tests"),
    "nav_inbox": ("消息", "Inbox"),
    "nav_webhooks": ("Webhook 订阅", "Webhooks"),
    "refused_title": ("无权查看", "Not yours to see"),
    "refused": (
        "该内容不属于本企业，或不存在。",
        "This belongs to another enterprise, or does not exist.",
    ),
    "back_home": ("返回企业档案", "Back to the profile"),
    "saved": ("已保存", "Saved"),
    "submit": ("提交", "Submit"),
    "save": ("保存", "Save"),
    # login
    "login_title": ("企业用户登录", "Enterprise sign-in"),
    "login_enterprise_only": (
        "企业服务门户仅供企业用户使用；办公室人员请使用看板",
        "The portal is for enterprise users; office staff use the dashboard",
    ),
    # profile
    "profile_title": ("企业档案", "Enterprise profile"),
    "name": ("企业名称", "Name"),
    "uscc": ("统一社会信用代码", "USCC"),
    "industry": ("行业", "Industry"),
    "address": ("地址", "Address"),
    "legal_representative": ("法定代表人", "Legal representative"),
    "contact_name": ("联系人", "Contact person"),
    "contact_phone": ("联系电话", "Contact phone"),
    "employees": ("从业人数", "Employees"),
    "annual_export_usd": ("年出口额（美元）", "Annual exports (US$)"),
    "products": ("产品", "Products"),
    "export_markets": ("出口市场", "Export markets"),
    "edit_profile": ("修改档案", "Edit the profile"),
    "markets_hint": ("国家代码，以逗号分隔，如 US,DE", "Country codes, comma-separated: US,DE"),
    "credit_level": ("信用等级", "Credit level"),
    # credit
    "credit_title": ("企业信用", "Credit"),
    "score": ("信用分", "Score"),
    "band_level": ("按分数的信用等级", "Level by score"),
    "overrides": ("降级规则", "Overrides in force"),
    "contributions": ("信用分构成（各事实贡献）", "Each fact's contribution"),
    "base_score": ("基础分", "Base score"),
    "fact": ("事实", "Fact"),
    "severity": ("严重程度", "Severity"),
    "points": ("分值", "Points"),
    "state": ("状态", "State"),
    "history": ("信用等级变化记录", "Level history"),
    "from_level": ("原信用等级", "From"),
    "to_level": ("新信用等级", "To"),
    "cause": ("原因", "Cause"),
    "measures": ("本信用等级适用的联合奖惩措施", "Measures at this level"),
    "repairable": ("可申请信用修复的事实", "Facts you may ask to repair"),
    "occurred_at": ("发生时间", "Occurred"),
    "earliest_repair": ("最早可修复日期", "Repairable from"),
    "repair_now": ("现可申请", "may be asked now"),
    "repair_wait": ("等待期未满", "waiting period runs"),
    "apply_repair": ("申请信用修复", "Apply for repair"),
    "repair_reason": ("整改情况说明", "What was rectified, how"),
    "evidence_ref": ("证据编号", "Evidence reference"),
    "repairs": ("信用修复申请", "Repair requests"),
    "repair_sent": ("修复申请已提交", "Repair request sent"),
    # zones
    "zones_title": ("示范区与成员资格", "Zones and memberships"),
    "memberships": ("本企业的成员资格", "Your memberships"),
    "zone": ("示范区", "Zone"),
    "status": ("状态", "Status"),
    "applied_at": ("申请时间", "Applied"),
    "decided_at": ("决定时间", "Decided"),
    "reason": ("原因", "Reason"),
    "apply_join": ("申请加入示范区", "Apply to join a zone"),
    "note": ("备注", "Note"),
    "apply": ("申请", "Apply"),
    "applied_ok": ("已提交入区申请", "Application sent"),
    "membership_history": ("办理记录", "History"),
    "stage": ("建设阶段", "Stage"),
    # commitments
    "commitments_title": ("质量诚信承诺书", "Integrity commitments"),
    "commitment_text": ("承诺书文本", "The commitment's text"),
    "text_version": ("文本版本", "Text version"),
    "text_sha256": ("文本 SHA-256", "Text SHA-256"),
    "sign": ("签署承诺书", "Sign the commitment"),
    "signatory": ("签署人姓名", "Signatory's name"),
    "confirm_sign": (
        "本人已阅读并代表本企业签署上述承诺",
        "I have read the text above and sign it for the enterprise",
    ),
    "signed_ok": ("承诺书已签署", "Commitment signed"),
    "signed_on": ("签署日期", "Signed on"),
    "version": ("版本", "Version"),
    "countersigned": ("会签", "Countersignature"),
    "awaiting_countersign": ("待示范区办公室会签", "Awaiting the zone office"),
    "no_zone_to_sign": (
        "本企业尚未申请或加入任何示范区，暂无可签署的承诺书",
        "The enterprise has applied to no zone yet: nothing to sign",
    ),
    # capas
    "capas_title": ("整改（纠正与预防措施）", "Corrective actions (CAPAs)"),
    "findings": ("检查结果", "Findings"),
    "due_at": ("整改截止时间", "Due"),
    "overdue": ("已逾期", "overdue"),
    "root_cause": ("原因分析", "Root cause"),
    "actions": ("整改措施", "Actions taken"),
    "respond": ("提交整改报告", "Send the response"),
    "responded_ok": ("整改报告已提交", "Response sent"),
    "attachments": ("附件", "Attachments"),
    "attachments_hint": (
        "照片或 PDF（JPEG、PNG、WebP、HEIC），每个不超过 20 MiB",
        "Photos or PDFs (JPEG, PNG, WebP, HEIC), up to 20 MiB each",
    ),
    "verification_note": ("验证意见", "Verification note"),
    # batches
    "batches_title": ("出口批次", "Export batches"),
    "upload": ("批量上传批次（CSV 或 Excel）", "Upload batches (CSV or Excel)"),
    "upload_hint": (  # the headings from the one table of field labels (kit.problem_text)
        "第一行为列名（中文列名或英文字段名均可）：" + "、".join(uploads.HEADINGS.values()),
        "First row names the columns: " + ", ".join(uploads.FIELDS),
    ),
    "file": ("文件", "File"),
    "upload_submit": ("上传", "Upload"),
    "upload_result": ("上传结果", "Upload result"),
    "received": ("收到", "Received"),
    "accepted": ("已接收", "Accepted"),
    "duplicates": ("重复", "Duplicates"),
    "rejected": ("未接收", "Rejected"),
    "line": ("行号", "Line"),
    "problem": ("问题", "Problem"),
    "upload_unreadable": ("文件无法读取：", "The file cannot be read: "),
    "batch": ("批次号", "Batch"),
    "kind": ("类型", "Kind"),
    "product": ("产品", "Product"),
    "destination": ("目的国", "Destination"),
    "ship_date": ("出运日期", "Shipped"),
    "trace": ("追溯图", "Trace graph"),
    "trace_upstream": ("向上游追溯", "Upstream"),
    "trace_downstream": ("向下游追溯", "Downstream"),
    "trace_truncated": ("追溯结果已截断", "The trace was cut short"),
    "trace_root": ("本批次", "This batch"),
    "trace_nonconformant": ("不合格", "Non-conformant"),
    "others_same_lots": (
        "使用相同原辅料批次的其他企业数",
        "Other enterprises that received the same supplier lots",
    ),
    # tests
    "tests_title": ("检测申请", "Lab test requests"),
    "lab": ("实验室", "Lab"),
    "standard": ("标准", "Standard"),
    "request_test": ("申请检测", "Ask for a test"),
    "requested_ok": ("检测申请已提交", "Test request sent"),
    "outcome": ("检测结果", "Outcome"),
    "report_no": ("报告编号", "Report"),
    # inbox
    "inbox_title": ("消息", "Inbox"),
    "unread": ("未读", "Unread"),
    "read": ("已读", "Read"),
    "mark_read": ("标为已读", "Mark read"),
    "received_at": ("时间", "Received"),
    # webhooks
    "webhooks_title": ("Webhook 订阅", "Webhook subscriptions"),
    "event_types": ("事件类型", "Event types"),
    "event_types_hint": (
        "以逗号分隔，可用通配符，如 inspection.alert.*",
        "Comma-separated, wildcards allowed: inspection.alert.*",
    ),
    "url": ("接收地址（URL）", "URL"),
    "language": ("语言", "Language"),
    "subscribe": ("新建订阅", "Subscribe"),
    "secret_once": (
        "签名密钥仅显示这一次，请立即妥善保存：",
        "The signing secret is shown only this once; keep it now:",
    ),
    "delete": ("删除", "Delete"),
    "rotate": ("更换密钥", "Rotate the secret"),
}

TABLES: dict[str, dict[str, tuple[str, str]]] = {
    "ui": UI,
    "industries": vocabulary.INDUSTRIES,
    "zone_levels": vocabulary.ZONE_LEVELS,
    "stages": vocabulary.STAGES,
    "credit_levels": vocabulary.CREDIT_LEVELS,
    "fact_kinds": vocabulary.FACT_KINDS,
    "severities": vocabulary.SEVERITIES,
    "statuses": vocabulary.STATUSES | {k: vocabulary.INSPECTIONS[k] for k in ("pass", "fail")},
    "lot_kinds": vocabulary.LOT_KINDS,
    "notices": vocabulary.NOTICES,
    "agencies": vocabulary.AGENCIES,
    "measures": vocabulary.MEASURES,
}


def words(lang: str) -> dict[str, Words]:
    """Every table in `lang`, for the templates: `t.ui.logout`, `t.statuses[m.status]`."""
    return in_language(TABLES, lang)


# The credit service explains a level change (`cause`) and an override in force in English
# sentences that carry codes ("fact return/serious from commerce"): read back into names.
_FACT = re.compile(r"^fact (\w+)/(\w+) from ([\w-]+)$")
_REPAIR = re.compile(r"^credit repair of (\w+) fact$")
_ENDED = re.compile(r"^commitment ended \((.*)\)$")
_MODEL = re.compile(r"^model v(\d+) in force$")
_OVERRIDE = re.compile(r"^(\w+)/(\w+) fact ([\w-]+): at best ([A-D]) for (\d+) days$")
_CAUSES = {
    "registered: base score": ("登记：基础分", "Registered: base score"),
    "time decay and expiries": ("随时间衰减与失效", "Time decay and expiries"),
    "rescored": ("重新评分", "Rescored"),
}


def cause(text: str, lang: str) -> str:
    """A level change's cause in `lang`, its codes named; an unknown form as written."""
    en = vocabulary.index(lang) == 1

    def named(table: vocabulary.Names, code: str) -> str:
        return vocabulary.name(table, code, lang)

    if text in _CAUSES:
        return _CAUSES[text][1 if en else 0]
    if found := _FACT.match(text):
        kind, severity, agency = found.groups()
        kind, severity = named(vocabulary.FACT_KINDS, kind), named(vocabulary.SEVERITIES, severity)
        source = named(vocabulary.AGENCIES, agency)
        return (
            f"Fact: {kind} ({severity}), from {source}"
            if en
            else (f"信用事实：{kind}（{severity}），来源：{source}")
        )
    if found := _REPAIR.match(text):
        kind = named(vocabulary.FACT_KINDS, found.group(1))
        return f"Credit repair of a fact: {kind}" if en else f"信用修复：{kind}"
    if found := _ENDED.match(text):
        why = found.group(1)
        if why == "zone revoked":  # credit's words when the commitment gives none
            why = "zone revoked" if en else "示范区资格撤销"
        return f"Commitment ended ({why})" if en else f"承诺终止（{why}）"
    if found := _MODEL.match(text):
        v = found.group(1)
        return f"Credit model v{v} in force" if en else f"信用评价模型第 {v} 版生效"
    return text


def override(text: str, lang: str) -> str:
    """An override in force ("return/serious fact …: at best C for 365 days") in `lang`."""
    found = _OVERRIDE.match(text)
    if found is None:
        return text
    kind, severity, _fact, level, days = found.groups()
    kind_name = vocabulary.name(vocabulary.FACT_KINDS, kind, lang)
    severity_name = vocabulary.name(vocabulary.SEVERITIES, severity, lang)
    level_name = vocabulary.name(vocabulary.CREDIT_LEVELS, level, lang)
    if vocabulary.index(lang) == 1:
        return f"{kind_name} ({severity_name}): at best {level_name} for {days} days"
    return f"{kind_name}（{severity_name}）：{days} 天内最高为{level_name}"
