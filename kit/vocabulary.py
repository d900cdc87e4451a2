"""One vocabulary: the zh-CN and en name of every code a user can see.

Each table maps a code to `(zh, en)`. The codes themselves are declared where they are
decided (the services' enums and Literals); a unit test walks every one of them and fails on
a code missing here, so a new stage, status or kind cannot reach a page, a notice or a
document as a bare code. Zone names are data (registry's zones carry `name_zh`/`name_en`);
everything else is a closed vocabulary and lives here, used by the API's `*_name` fields, the
dashboard, notify's templates, the dossier and the CLI.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal
from zoneinfo import ZoneInfo

Names = dict[str, tuple[str, str]]

# The languages people read the platform in: every name below has one text for each, in this
# order. Chinese is the default; English when asked for.
Language = Literal["zh-CN", "en"]
LANGUAGES: Final[tuple[Language, ...]] = ("zh-CN", "en")
DEFAULT_LANGUAGE: Final[Language] = "zh-CN"
# China's time (Asia/Shanghai): what people read times in, and the day a rule's "today" is.
CHINA: Final = ZoneInfo("Asia/Shanghai")


def language(value: str | None) -> Language:
    """A supported language from a query parameter, a cookie, a subscription or a header's
    first choice: English when it asks for English, zh-CN otherwise."""
    return "en" if value and value.lower().startswith("en") else DEFAULT_LANGUAGE


INDUSTRIES: Names = {
    "auto_parts": ("汽车及零部件", "Auto & parts"),
    "stationery": ("文具", "Stationery"),
    "molds": ("模具", "Molds"),
    "lighting": ("灯具", "Lighting"),
    "hardware": ("五金机械", "Hardware & machinery"),
    "electronics": ("电子电器", "Electronics & electrical"),
    "furniture": ("家具（木制品）", "Furniture (wood)"),
    "outdoor": ("户外休闲用品（运动杖）", "Outdoor leisure (trekking poles)"),
}

ZONE_LEVELS: Names = {
    "provincial": ("省级", "Provincial"),
    "national": ("国家级", "National"),
}

STAGES: Names = {
    "planned": ("规划", "Planned"),
    "launching": ("启动建设", "Launching"),
    "implementing": ("推进实施", "Implementing"),
    "assessing": ("总结考核", "Assessing"),
    "accepted": ("验收通过", "Accepted"),
    "revoked": ("撤销", "Revoked"),
}

# The member agencies and accepting authorities the platform is set up with (工作方案 职责分工;
# 指导意见 四(四)). Registry keeps the agencies as data; these are the names shown for them.
AGENCIES: Names = {
    "county_gov_office": ("县政府办公室", "County Government Office"),
    "commerce": ("县商务局", "County Commerce Bureau (zone office)"),
    "ciq": ("宁海检验检疫局（海关）", "Ninghai Inspection and Quarantine Bureau (Customs)"),
    "econ_it": ("县经信局", "County Economy and Information Technology Bureau"),
    "sci_tech": ("县科技局", "County Science and Technology Bureau"),
    "finance": ("县财政局", "County Finance Bureau"),
    "market_supervision": ("县市场监管局", "County Market Supervision Bureau"),
    "ningbo_ciq": ("宁波检验检疫局", "Ningbo Entry-Exit Inspection and Quarantine Bureau"),
    "aqsiq": (
        "国家质量监督检验检疫总局",
        "General Administration of Quality Supervision, Inspection and Quarantine",
    ),
}

# One name per credit level, in SAMR's risk-class wording (企业信用风险分类管理: A 类信用风险低,
# B 类一般, C 类较高, D 类高), with the letter a reader meets on documents.
CREDIT_LEVELS: Names = {
    "A": ("A类（信用风险低）", "A (low credit risk)"),
    "B": ("B类（信用风险一般）", "B (general credit risk)"),
    "C": ("C类（信用风险较高）", "C (higher credit risk)"),
    "D": ("D类（信用风险高）", "D (high credit risk)"),
}

FACT_KINDS: Names = {
    "spot_check_pass": ("监督抽查合格", "Spot check passed"),
    "spot_check_fail": ("监督抽查不合格", "Spot check failed"),
    "foreign_notification": ("国外通报", "Foreign notification"),
    "return": ("退运", "Return of exported goods"),
    "recall": ("召回", "Recall"),
    "penalty": ("行政处罚", "Administrative penalty"),
    "award": ("表彰奖励", "Award"),
    "certification": ("认证", "Certification"),
    "lab_accreditation": ("实验室认可", "Lab accreditation"),
    "lab_test_pass": ("检测合格", "Lab test passed"),
    "lab_test_fail": ("检测不合格", "Lab test failed"),
    "training": ("培训", "Training completed"),
    "commitment_signed": ("签署诚信承诺", "Integrity commitment signed"),
    "commitment_breached": ("违反诚信承诺", "Integrity commitment breached"),
    "tax_arrears": ("欠税", "Tax arrears"),
}

# Joint rewards and punishments (联合奖惩): a measure's kind, its effects and their values.
MEASURES: Names = {
    "reward": ("激励", "Reward"),
    "punishment": ("惩戒", "Punishment"),
    "inspection_ratio": ("抽查比例", "Inspection ratio"),
    "honours_eligible": ("可参评表彰", "Eligible for honours"),
    "zone_admission": ("示范区准入", "Zone admission"),
    "removal_review": ("除名审查", "Removal review"),
    "allowed": ("准予", "Allowed"),
    "review": ("需审查", "Review"),
    "refused": ("不予", "Refused"),
}

# The work plan's tasks per stage (二、实施步骤及任务), by code.
TASKS: Names = {
    "survey": (
        "摸底调查示范区企业基本情况（经营规模、产品结构、质量安全）",
        "Survey member enterprises: scale, products, quality and safety",
    ),
    "apply_upward": (
        "向上级相关部门提出建设申请并制定落实工作方案",
        "Apply upward to build the zone and draw up the work plan",
    ),
    "kickoff_meeting": ("组织召开示范区建设推进会", "Hold the zone kickoff meeting"),
    "assess_applicants": ("对申请加入示范区企业进行考核", "Assess enterprises applying to join"),
    "policies_supervision": (
        "落实各种扶持政策和监管措施",
        "Put support policies and supervision measures in place",
    ),
    "spot_checks_brand": (
        "开展产品质量监督抽查和质量品牌提升行动",
        "Run quality spot checks and the brand improvement campaign",
    ),
    "commitments_awards": (
        "开展质量诚信承诺和推优评优活动",
        "Collect integrity commitments and run awards",
    ),
    "guidance_visit": ("邀请上级职能部门调研指导", "Host a guidance visit by higher authorities"),
    "self_check": ("组织开展自查总结", "Carry out the self-check and summary"),
    "dossier": ("提交示范区验收申报材料", "Submit the acceptance dossier"),
    "acceptance": (
        "接受上级检验检疫机构考核验收",
        "Acceptance assessment by the inspection authority",
    ),
    "national_application": (
        "总结完善并组织国家级示范区验收申报",
        "Consolidate and prepare the national-level application",
    ),
}

# Inspection tasks, campaigns and their verdicts.
INSPECTIONS: Names = {
    "random": ("双随机抽查", "Random check"),
    "targeted": ("定向检查", "Targeted check"),
    "county": ("县级", "County"),
    "city": ("市级", "City"),
    "province": ("省级", "Provincial"),
    "national": ("国家级", "National"),
    "pass": ("合格", "Pass"),
    "minor": ("轻微问题", "Minor nonconformity"),
    "fail": ("不合格", "Fail"),
    "not_applicable": ("不适用", "Not applicable"),  # a checklist item's outcome
}

SIGNAL_KINDS: Names = {
    "foreign_notification": ("国外通报", "Foreign notification"),
    "return": ("退运", "Return"),
    "recall": ("召回", "Recall"),
    "complaint": ("投诉", "Complaint"),
    "lab_test": ("检测不合格", "Failed lab test"),
}

# Alert severities (the notifier's risk level) and the severities of facts and breaches.
SEVERITIES: Names = {
    "serious": ("严重", "Serious"),
    "high": ("高", "High"),
    "medium": ("中", "Medium"),
    "low": ("低", "Low"),
    "general": ("一般", "General"),
    "minor": ("轻微", "Minor"),
}

# What notify sends: inbox kinds, template codes and bulletin kinds.
NOTICES: Names = {
    "warning": ("风险预警", "Risk warning"),
    "precaution": ("预防性提示", "Precautionary notice"),
    "bulletin": ("通报", "Bulletin"),
    "event": ("事件", "Event"),
    "system": ("系统消息", "System message"),
    "risk.warning": ("风险预警", "Risk warning"),
    "risk.precaution": ("预防性提示", "Precautionary notice"),
    "webhook.disabled": ("Webhook 已停用", "Webhook disabled"),
    "wto_tbt": ("WTO/TBT 通报", "WTO/TBT notification"),
    "regulation": ("技术法规", "Technical regulation"),
}

LOT_KINDS: Names = {
    "export": ("出口批次", "Export batch"),
    "supplier": ("原辅料批次", "Supplier lot"),
    "intermediate": ("半成品批次", "Intermediate lot"),
    "shipment": ("货运批次", "Shipment"),
}

STATUSES: Names = {
    # alerts, signals, CAPAs, tasks, campaigns
    "open": ("待处理", "Open"),
    "investigating": ("调查中", "Investigating"),
    "closed": ("已关闭", "Closed"),
    "responded": ("已整改待验证", "Responded"),
    "planned": ("计划中", "Planned"),
    "drawn": ("已抽取", "Drawn"),
    "cancelled": ("已取消", "Cancelled"),
    "completed": ("已完成", "Completed"),
    "unmatched": ("未关联", "Unmatched"),
    "matched": ("已关联", "Matched"),
    "dismissed": ("已驳回", "Dismissed"),
    # memberships and commitments
    "applied": ("已申请", "Applied"),
    "assessing": ("考核中", "Assessing"),
    "admitted": ("已准入", "Admitted"),
    "rejected": ("已驳回", "Rejected"),
    "suspended": ("已暂停", "Suspended"),
    "removed": ("已除名", "Removed"),
    "signed": ("有效", "Signed"),
    "countersigned": ("已会签", "Countersigned"),
    "superseded": ("已被新版本取代", "Superseded"),
    "breached": ("已违约", "Breached"),
    "ended": ("已终止", "Ended"),
    # lab tests
    "requested": ("已申请", "Requested"),
    "accepted": ("已受理", "Accepted"),
    "tested": ("已检测", "Tested"),
    # schedule
    "on_schedule": ("按计划", "On schedule"),
    "overdue": ("已逾期", "Overdue"),
    # audit outcomes
    "success": ("成功", "Success"),
    "denied": ("拒绝", "Denied"),
    "failed": ("失败", "Failed"),
    "intent": ("转发前登记", "Recorded before forwarding"),
    # imports and credit rescore jobs
    "queued": ("排队中", "Queued"),
    "running": ("处理中", "Running"),
    "done": ("已完成", "Done"),
    # an imported row's outcome
    "created": ("新建", "Created"),
    "updated": ("已更新", "Updated"),
    "unchanged": ("未变更", "Unchanged"),
    # credit repairs, recognitions, acceptance applications, honours
    "pending": ("待处理", "Pending"),
    "approved": ("已批准", "Approved"),
    "active": ("有效", "Active"),
    "revoked": ("已撤销", "Revoked"),
    "filed": ("已报送", "Filed"),
    "returned": ("已退回", "Returned"),
    "nominated": ("已提名", "Nominated"),
    "granted": ("已授予", "Granted"),
    # webhook subscriptions and deliveries
    "paused": ("已暂停", "Paused"),
    "disabled": ("已停用", "Disabled"),
    "delivered": ("已送达", "Delivered"),
    # credit facts' contributions
    "counted": ("计入", "Counted"),
    "capped": ("封顶", "Capped"),
    "expired": ("已失效", "Expired"),
    "repaired": ("已修复", "Repaired"),
    "future": ("未生效", "Not yet in force"),
}

VOCABULARIES: dict[str, Names] = {
    "industries": INDUSTRIES,
    "zone_levels": ZONE_LEVELS,
    "stages": STAGES,
    "agencies": AGENCIES,
    "credit_levels": CREDIT_LEVELS,
    "fact_kinds": FACT_KINDS,
    "measures": MEASURES,
    "tasks": TASKS,
    "inspections": INSPECTIONS,
    "signal_kinds": SIGNAL_KINDS,
    "severities": SEVERITIES,
    "notices": NOTICES,
    "lot_kinds": LOT_KINDS,
    "statuses": STATUSES,
}


def index(lang: str) -> int:
    """0 for Chinese (the default), 1 for English."""
    return 1 if lang.lower().startswith("en") else 0


def name(vocabulary: Names, code: str | None, lang: str = "zh-CN") -> str:
    """The name of `code` in `lang`; an unknown code shows itself rather than failing."""
    if code is None:
        return ""
    found = vocabulary.get(str(code))
    return found[index(lang)] if found else str(code)


def bilingual(vocabulary: Names, code: str | None) -> str:
    """`中文 English`, for documents read in both languages."""
    if code is None:
        return ""
    found = vocabulary.get(str(code))
    return f"{found[0]} {found[1]}" if found else str(code)


# People read times in China's (Asia/Shanghai): documents, pages and notices; the API keeps
# ISO 8601 with its offset.
def china_time(value: datetime | str | None, *, seconds: bool = False) -> str:
    """A timestamp as a person in China reads it: `2026-12-07 03:24` in Asia/Shanghai.

    Accepts a datetime or an ISO 8601 string (the API's form); a naive value is taken as UTC;
    anything unparseable is returned as given."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    else:
        moment = value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
