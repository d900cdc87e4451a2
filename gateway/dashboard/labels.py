"""The dashboard's words in zh-CN (the default) and English.

One table per kind of word, each entry `key: (zh, en)`, so a missing translation cannot hide:
every key has both by construction, and a unit test checks none is empty.
"""

from __future__ import annotations

from gateway.webui.words import COMMON, in_language
from gateway.webui.words import Words as Words
from kit import vocabulary
from kit.vocabulary import DEFAULT_LANGUAGE as DEFAULT_LANGUAGE
from kit.vocabulary import LANGUAGES as LANGUAGES
from kit.vocabulary import language as language

UI: dict[str, tuple[str, str]] = {
    **COMMON,  # sign-in, paging, errors: the same in both front ends
    # chrome
    "app_title": ("宁海县出口产品质量安全示范区平台", "Ninghai export quality demonstration zones"),
    "office": ("示范区办公室", "Zone office"),
    "nav_overview": ("总览", "Overview"),
    "nav_campaigns": ("双随机抽查", "Campaigns"),
    "nav_alerts": ("风险预警", "Alerts"),
    "nav_audit": ("审计日志", "Audit trail"),
    "nav_enterprise": ("企业查询", "Enterprises"),
    "api_docs": ("接口文档", "API documentation"),
    "public_zones": ("公开示范区名单", "Public zone list"),
    "unavailable": ("不可用", "unavailable"),
    "rejected": ("请求未被接受：", "The request was not accepted: "),
    "forbidden": ("无权限查看", "You may not see this"),
    "not_yet": ("暂未提供", "Not available yet"),
    "not_found": ("未找到", "Not found"),
    "back_overview": ("返回总览", "Back to the overview"),
    "action_done": ("已完成", "Done"),
    # login
    "login_title": ("办公室人员登录", "Office staff sign-in"),
    "login_office_only": (
        "仪表盘仅供示范区办公室和各部门人员使用",
        "The dashboard is for the zone office and member agencies only",
    ),
    # overview
    "overview_title": ("示范区建设总览", "Zones at a glance"),
    "zones_timeline": ("示范区建设阶段（按工作方案阶段）", "Zones on the work plan's phases"),
    "zones_by_stage": ("各阶段示范区数（按级别）", "Zones per stage, by level"),
    "phase": ("阶段", "Phase"),
    "phase_n": ("第{n}阶段", "Phase {n}"),
    "phase_none": ("已建成/计划外", "Built earlier / outside the plan"),
    "targets_title": ("建设目标与进度（十三五）", "Targets and progress (13th Five-Year Plan)"),
    "target": ("目标数", "Target"),
    "accepted_toward": ("已通过验收", "Accepted"),
    "building": ("在建", "Being built"),
    "target_due": ("目标期限", "Due"),
    "target_met": ("已完成", "Met"),
    "target_open": ("未完成", "Not met"),
    "overdue_zones": ("逾期未验收示范区", "Zones overdue for acceptance"),
    "plan_end": ("计划结束", "Planned end"),
    "days_overdue": ("逾期天数", "Days overdue"),
    "plan_period": ("计划时间", "Planned period"),
    "zones": ("示范区", "Zones"),
    "enterprises": ("企业数", "Enterprises"),
    "enterprises_registered": ("在册企业", "Registered enterprises"),
    "enterprises_scored": ("已评信用企业", "Enterprises with a credit level"),
    "credit_distribution": ("信用等级分布", "Credit levels"),
    "open_alerts": ("待处理风险预警", "Open risk alerts"),
    "pass_rate_trend": ("监督抽查合格率趋势（随机抽查）", "Spot-check pass rate (random checks)"),
    "pass_rate": ("合格率", "Pass rate"),
    "spot_checks": ("抽查次数", "Spot checks"),
    "year": ("年度", "Year"),
    "count": ("数量", "Count"),
    "at_least": ("至少", "at least"),
    "more_alerts": ("查看全部预警", "All alerts"),
    # zone
    "zone_title": ("示范区详情", "Zone"),
    "industry": ("行业", "Industry"),
    "level": ("级别", "Level"),
    "stage": ("当前阶段", "Stage"),
    "acceptance_authority": ("验收机构", "Acceptance authority"),
    "dossier": ("验收申报材料", "Acceptance dossier"),
    "dossier_pdf": ("下载 PDF", "Download PDF"),
    "dossier_xlsx": ("下载 Excel 工作簿", "Download Excel workbook"),
    "export": ("导出（按当前筛选）", "Export (with these filters)"),
    "lifecycle": ("建设进程", "Lifecycle"),
    "checklist": ("阶段任务清单", "Stage checklist"),
    "task": ("任务", "Task"),
    "done_by": ("完成人", "Done by"),
    "done_at": ("完成时间", "Done at"),
    "open_task": ("未完成", "Open"),
    "history": ("阶段变更记录", "Stage history"),
    "from_stage": ("原阶段", "From"),
    "to_stage": ("新阶段", "To"),
    "moved_by": ("操作人", "Moved by"),
    "agency": ("部门", "Agency"),
    "reason": ("原因", "Reason"),
    "when": ("时间", "When"),
    "open_tasks_left": ("遗留未完成任务", "Tasks left open"),
    "move_zone": ("推进阶段", "Move the zone"),
    "move_to": ("推进至", "Move to"),
    "move_submit": ("提交", "Submit"),
    "moved_ok": ("已推进至", "Moved to"),
    "no_moves": ("该示范区已无可推进的阶段", "This zone has no further stage"),
    "mark_done": ("标记完成", "Mark done"),
    "reopen_task": ("重新打开", "Reopen"),
    "note": ("备注", "Note"),
    "members": ("成员企业", "Member enterprises"),
    "name": ("名称", "Name"),
    "uscc": ("统一社会信用代码", "USCC"),
    "credit_level": ("信用等级", "Credit level"),
    "kpis": ("考核指标", "KPIs"),
    "exports_usd": ("出口额（美元）", "Exports (US$)"),
    "figures_source": ("出口及通报退运数据来源", "Exports, notifications and returns from"),
    "source_batches": ("出口批次", "export batches"),
    "source_surveys": ("摸底调查", "surveys"),
    "notifications": ("国外通报", "Foreign notifications"),
    "returns": ("退运", "Returns"),
    "notifications_per_100m": ("每亿美元出口通报数", "Notifications per US$100M exports"),
    "returns_per_100m": ("每亿美元出口退运数", "Returns per US$100M exports"),
    "capa_closure_rate": ("整改关闭率", "CAPA closure rate"),
    "open_capas": ("未关闭整改（纠正与预防措施）", "Open corrective actions (CAPAs)"),
    "findings": ("检查结果", "Findings"),
    "due_at": ("截止时间", "Due"),
    "status": ("状态", "Status"),
    "overdue": ("已逾期", "overdue"),
    # enterprise
    "enterprise_title": ("企业档案", "Enterprise profile"),
    "enterprise_lookup": ("按统一社会信用代码查询企业", "Look up an enterprise by USCC"),
    "search": ("查询", "Search"),
    "profile_partial": ("部分信息暂不可用", "Some parts are not available"),
    "address": ("地址", "Address"),
    "legal_representative": ("法定代表人", "Legal representative"),
    "memberships": ("入区记录", "Zone memberships"),
    "score": ("信用分", "Score"),
    "contributions": ("信用分构成（各事实贡献）", "Credit contributions per fact"),
    "points": ("分值", "Points"),
    "measures": ("联合奖惩措施", "Joint rewards and punishments"),
    "commitments": ("质量诚信承诺书", "Integrity commitments"),
    "signatory": ("签署人", "Signatory"),
    "signed_on": ("签署日期", "Signed on"),
    "open_tasks": ("未完成检查任务", "Open inspection tasks"),
    "batches": ("出口批次", "Export batches"),
    "batch": ("批次", "Batch"),
    "kind": ("类型", "Kind"),
    "product": ("产品", "Product"),
    "destination": ("目的国", "Destination"),
    "ship_date": ("出运日期", "Shipped"),
    "trace": ("追溯图", "Trace graph"),
    "trace_upstream": ("向上游追溯", "Upstream"),
    "trace_downstream": ("向下游追溯", "Downstream"),
    "trace_truncated": ("追溯结果已截断", "The trace was cut short"),
    "show_trace": ("追溯", "Trace"),
    "trace_root": ("所选批次", "Selected batch"),
    "trace_lot": ("关联批次", "Linked lot"),
    "trace_nonconformant": ("不合格", "Non-conformant"),
    # campaigns
    "campaigns_title": ("双随机抽查计划", "Random inspection campaigns"),
    "campaign": ("抽查计划", "Campaign"),
    "window": ("实施期间", "Window"),
    "agencies": ("参与部门", "Agencies"),
    "joint": ("联合抽查", "joint"),
    "draw": ("抽取结果", "Draw"),
    "draw_list": ("抽取名单", "Draw list"),
    "not_drawn": ("尚未抽取", "Not drawn yet"),
    "population": ("抽查对象库", "Population"),
    "sampled": ("抽中", "Drawn"),
    "seed": ("随机种子", "Seed"),
    "verify": ("复核抽取", "Verify the draw"),
    "verify_ok": ("复核一致：抽取可重现", "Verified: the draw replays exactly"),
    "verify_bad": ("复核不一致", "Verification failed"),
    "results": ("检查结果", "Results"),
    "verdict": ("结论", "Verdict"),
    "badges": ("执法证号", "Badge numbers"),
    "completed_at": ("完成时间", "Completed"),
    "show": ("查看", "Show"),
    # alerts
    "alerts_title": ("风险预警处置", "Risk alerts queue"),
    "unmatched_signals": ("待关联的风险信号", "Unmatched risk signals"),
    "signal": ("风险信号", "Signal"),
    "reference": ("编号", "Reference"),
    "candidates": ("候选企业", "Candidates"),
    "link": ("关联", "Link"),
    "dismiss": ("驳回", "Dismiss"),
    "batch_id": ("批次编号（可选）", "Batch id (optional)"),
    "linked": ("已关联", "Linked"),
    "dismissed": ("已驳回", "Dismissed"),
    "alerts_to_triage": ("待处置预警", "Alerts to triage"),
    "severity": ("严重程度", "Severity"),
    "summary": ("摘要", "Summary"),
    "raised_at": ("发布时间", "Raised"),
    "investigate": ("开始调查", "Investigate"),
    "close": ("关闭", "Close"),
    "conclusion": ("处置结论", "Conclusion"),
    # audit
    "audit_title": ("审计日志", "Audit trail"),
    "actor": ("操作者", "Actor"),
    "method": ("方法", "Method"),
    "path": ("路径", "Path"),
    "outcome": ("结果", "Outcome"),
    "filter": ("筛选", "Filter"),
    "all": ("全部", "All"),
}

# The codes' names come from the one vocabulary (kit/vocabulary.py). A badge looks its code up
# in the table of its kind (`status(value, t, "severities")`): one code may name two things
# (`minor` is a severity, 轻微, and a verdict, 轻微问题), so kinds are never merged into one.
VERDICTS: dict[str, tuple[str, str]] = {
    k: vocabulary.INSPECTIONS[k] for k in ("pass", "minor", "fail")
}

KINDS: dict[str, tuple[str, str]] = (
    vocabulary.LOT_KINDS
    | vocabulary.SIGNAL_KINDS
    | {k: vocabulary.INSPECTIONS[k] for k in ("random", "targeted")}
    | {k: vocabulary.MEASURES[k] for k in ("reward", "punishment")}
)

TABLES: dict[str, dict[str, tuple[str, str]]] = {
    "ui": UI,
    "stages": vocabulary.STAGES,
    "zone_levels": vocabulary.ZONE_LEVELS,
    "credit_levels": vocabulary.CREDIT_LEVELS,
    "statuses": vocabulary.STATUSES,
    "severities": vocabulary.SEVERITIES,
    "verdicts": VERDICTS,
    "industries": vocabulary.INDUSTRIES,
    "kinds": KINDS,
    "agencies": vocabulary.AGENCIES,
    "fact_kinds": vocabulary.FACT_KINDS,
    "tasks": vocabulary.TASKS,
}


def words(lang: str) -> dict[str, Words]:
    """Every table in `lang`, for the templates: `t.ui.logout`, `t.stages[zone.stage]`."""
    return in_language(TABLES, lang)
