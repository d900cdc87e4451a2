"""The dossier's sections as plain tables, shared by the PDF and the workbook so both say
the same thing. Titles and headers are bilingual (zh-CN first, as the office files them)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from gateway.dossier.gather import MAX_ITEMS, Dossier, Part
from kit import vocabulary

UNAVAILABLE = "不可用 unavailable"
TRUNCATED = (
    f"仅列出前 {MAX_ITEMS:,} 条，完整数据请通过接口分页获取 · only the first {MAX_ITEMS:,} are "
    "listed; page through the API for all of them"
)
# Every code is shown by its names, zh-CN first (kit/vocabulary.py); times in China time.
TIME_ZONE = "北京时间 China time (Asia/Shanghai, UTC+8)"
TIMES_NOTE = "本材料中的时间均为北京时间 · All times in this dossier are China time (UTC+8)"


def named(table: vocabulary.Names, code: Any) -> str:
    """`中文 English` for a code; what is not a known code is shown as given."""
    return vocabulary.bilingual(table, code) if code else ""


@dataclass
class Section:
    """One section: a bilingual title, a short sheet name, a header row and the rows; or
    the reason it is unavailable (不可用)."""

    key: str
    title: str
    sheet: str
    headers: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    unavailable: str | None = None
    widths: list[float] | None = None  # relative column widths in the PDF
    note: str | None = None  # shown above the rows (a list cut short)


def _when(value: Any) -> str:
    """An ISO time (the services send UTC) as `YYYY-MM-DD HH:MM` China time; dates unchanged."""
    text = str(value or "")
    return vocabulary.china_time(text) if "T" in text else text


def _rate(value: Any) -> str:
    return "—" if value is None else f"{float(value) * 100:.1f}%"


def _num(value: Any) -> str:
    return "—" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _guard(part: Part, section: Section) -> bool:
    if not part.ok:
        section.unavailable = f"{UNAVAILABLE}: {part.error}"
        return False
    if part.truncated:
        section.note = TRUNCATED
    return True


def overview(d: Dossier) -> Section:
    """示范区概况: name, level, stage, plan and acceptance authority."""
    z = d.zone
    authority = z.get("acceptance_authority") or {}
    rows = [
        ["示范区名称 Name (zh)", z.get("name_zh", "")],
        ["英文名称 Name (en)", z.get("name_en", "")],
        ["代码 Code", z.get("code", "")],
        ["行业 Industry", named(vocabulary.INDUSTRIES, z.get("industry"))],
        ["级别 Level", named(vocabulary.ZONE_LEVELS, z.get("level"))],
        ["当前阶段 Stage", named(vocabulary.STAGES, z.get("stage"))],
        ["实施阶段 Phase", _num(z.get("phase"))],
        ["计划起止 Plan", f"{z.get('plan_start') or '—'} … {z.get('plan_end') or '—'}"],
        [
            "验收单位 Acceptance authority",
            " / ".join(v for v in (authority.get("zh"), authority.get("en")) if v),
        ],
        ["生成时间 Generated", vocabulary.china_time(d.generated_at)],
        ["时区 Time zone", TIME_ZONE],
    ]
    return Section(
        "zone", "示范区概况 Zone", "概况 Zone", ["项目 Item", "内容 Value"], rows, widths=[1, 3]
    )


def history(d: Dossier) -> Section:
    """阶段历程: every transition with who moved the zone, and the tasks it left open."""
    s = Section(
        "history",
        "阶段历程 Stage history",
        "阶段历程 History",
        [
            "时间 At",
            "从 From",
            "到 To",
            "操作人 By",
            "部门 Agency",
            "理由 Reason",
            "未完成任务 Open tasks",
        ],
        widths=[1.3, 1.2, 1.2, 1, 1, 1.6, 1.2],
    )
    if _guard(d.transitions, s):
        s.rows = [
            [
                _when(t.get("at")),
                named(vocabulary.STAGES, t.get("from_stage")),
                named(vocabulary.STAGES, t.get("to_stage")),
                t.get("actor") or "",
                named(vocabulary.AGENCIES, t.get("agency")),
                t.get("reason") or "",
                "；".join(vocabulary.name(vocabulary.TASKS, c) for c in t.get("open_tasks") or []),
            ]
            for t in d.transitions.data
        ]
    return s


def checklist(d: Dossier) -> Section:
    """阶段任务清单: the work plan's tasks per stage, with completion and evidence notes; a
    task by its names (its code is the API's, not the reader's)."""
    rows = [
        [
            named(vocabulary.STAGES, t.get("stage")),
            f"{t.get('title_zh', '')} {t.get('title_en', '')}".strip(),
            "✓" if t.get("done_at") else "",
            _when(t.get("done_at")),
            t.get("done_by") or "",
            t.get("note") or "",
        ]
        for t in d.zone.get("tasks") or []
    ]
    return Section(
        "checklist",
        "阶段任务清单 Stage checklist",
        "任务清单 Checklist",
        [
            "阶段 Stage",
            "任务 Task",
            "完成 Done",
            "完成时间 Done at",
            "完成人 By",
            "证明材料 Evidence",
        ],
        rows,
        widths=[1.1, 2.9, 0.5, 1.1, 0.9, 1.9],
    )


def members(d: Dossier) -> Section:
    """成员企业: admitted members and their credit levels."""
    s = Section(
        "members",
        "成员企业 Members",
        "成员企业 Members",
        [
            "统一社会信用代码 USCC",
            "企业名称 Name",
            "信用等级 Credit level",
            "行业 Industry",
            "法定代表人 Legal rep.",
        ],
        widths=[1.6, 2.6, 0.9, 1, 0.9],
    )
    if _guard(d.members, s):
        s.rows = [
            [
                m.get("uscc", ""),
                m.get("name", ""),
                named(vocabulary.CREDIT_LEVELS, m.get("credit_level")) or "—",
                named(vocabulary.INDUSTRIES, m.get("industry")),
                m.get("legal_representative") or "",
            ]
            for m in d.members.data
        ]
    return s


KPI_HEADERS = [
    "年度 Year",
    "企业数 Enterprises",
    "出口额 Exports (US$)",
    "国外通报 Notifications",
    "退运 Returns",
    "通报/亿美元 Notif. per US$100M",
    "退运/亿美元 Returns per US$100M",
    "抽查 Spot checks",
    "抽查合格率 Pass rate",
    "整改 CAPAs",
    "整改关闭率 CAPA closure",
    "未结预警 Open alerts",
]


def kpis(d: Dossier) -> Section:
    """年度指标: the zone's KPIs per year from inspection (numbers stay numbers in Excel)."""
    s = Section(
        "kpis",
        "年度指标 KPIs by year",
        "年度指标 KPIs",
        KPI_HEADERS,
        widths=[0.7, 0.8, 1.3, 0.9, 0.7, 1, 1, 0.8, 0.9, 0.7, 0.9, 0.8],
    )
    if _guard(d.kpis, s):
        s.rows = [
            [
                k.get("year"),
                k.get("enterprises", 0),
                k.get("exports_usd", 0),
                k.get("notifications", 0),
                k.get("returns", 0),
                k.get("notifications_per_100m_usd"),
                k.get("returns_per_100m_usd"),
                k.get("spot_checks", 0),
                k.get("spot_check_pass_rate"),
                k.get("capas", 0),
                k.get("capa_closure_rate"),
                k.get("open_alerts", 0),
            ]
            for k in d.kpis.data
        ]
    return s


def checks(d: Dossier) -> Section:
    """抽查与整改统计: the members' inspection tasks and corrective actions, counted."""
    s = Section(
        "checks",
        "抽查与整改统计 Spot checks and CAPAs",
        "抽查整改 Checks",
        ["指标 Figure", "数量 Count"],
        widths=[3, 1],
    )
    rows: list[list[Any]] = []
    if d.tasks.ok:
        tasks = d.tasks.data
        kinds = Counter(t.get("kind") for t in tasks)
        status = Counter(t.get("status") for t in tasks)
        verdicts = Counter(t.get("verdict") for t in tasks if t.get("status") == "completed")
        rows += [
            ["检查任务 Inspection tasks", len(tasks)],
            ["其中双随机抽查 Random spot checks", kinds["random"]],
            ["其中风险定向检查 Targeted (risk) checks", kinds["targeted"]],
            ["已完成 Completed", status["completed"]],
            ["待检查 Open", status["open"]],
            ["已撤销 Cancelled", status["cancelled"]],
            ["合格 Passed", verdicts["pass"]],
            ["轻微不符合 Minor nonconformity", verdicts["minor"]],
            ["不合格 Failed", verdicts["fail"]],
        ]
    else:
        rows.append(["检查任务 Inspection tasks", f"{UNAVAILABLE}: {d.tasks.error}"])
    if d.capas.ok:
        capas = d.capas.data
        status = Counter(c.get("status") for c in capas)
        closure = status["closed"] / len(capas) if capas else None
        rows += [
            ["整改措施 CAPAs", len(capas)],
            ["待整改 Open", status["open"]],
            ["已答复待验证 Responded", status["responded"]],
            ["已关闭 Closed", status["closed"]],
            ["逾期 Overdue", sum(1 for c in capas if c.get("overdue"))],
            ["关闭率 Closure rate", _rate(closure)],
        ]
    else:
        rows.append(["整改措施 CAPAs", f"{UNAVAILABLE}: {d.capas.error}"])
    s.rows = rows
    return s


def alerts(d: Dossier) -> Section:
    """风险预警及结论: alerts about the members, with their conclusions."""
    s = Section(
        "alerts",
        "风险预警及结论 Risk alerts and conclusions",
        "风险预警 Alerts",
        [
            "发布时间 Raised",
            "企业 Enterprise",
            "严重程度 Severity",
            "状态 Status",
            "摘要 Summary",
            "结论 Conclusion",
            "关闭时间 Closed",
        ],
        widths=[1.1, 1.6, 0.8, 0.9, 2, 1.6, 1.1],
    )
    if _guard(d.alerts, s):
        names = d.member_names
        s.rows = [
            [
                _when(a.get("raised_at")),
                names.get(a.get("uscc", ""), a.get("uscc", "")),
                named(vocabulary.SEVERITIES, a.get("severity")),
                named(vocabulary.STATUSES, a.get("status")),
                a.get("summary") or "",
                a.get("conclusion") or "",
                _when(a.get("closed_at")),
            ]
            for a in d.alerts.data
        ]
    return s


def commitments(d: Dossier) -> Section:
    """质量诚信承诺: the members' signed commitments for this zone, breaches included."""
    s = Section(
        "commitments",
        "质量诚信承诺 Integrity commitments",
        "诚信承诺 Commitments",
        [
            "企业 Enterprise",
            "签署人 Signatory",
            "签署日期 Signed on",
            "文本版本 Version",
            "状态 Status",
            "违诺原因 Breach reason",
        ],
        widths=[2, 1, 1, 0.9, 0.9, 1.8],
    )
    if _guard(d.commitments, s):
        names = d.member_names
        s.rows = [
            [
                names.get(c.get("uscc", ""), c.get("uscc", "")),
                c.get("signatory", ""),
                c.get("signed_on", ""),
                c.get("text_version", ""),
                named(vocabulary.STATUSES, c.get("status")),
                c.get("breach_reason") or "",
            ]
            for c in d.commitments.data
        ]
    return s


def sections(d: Dossier) -> list[Section]:
    """Every section, in the order the dossier files them."""
    return [
        overview(d),
        history(d),
        checklist(d),
        members(d),
        kpis(d),
        checks(d),
        alerts(d),
        commitments(d),
    ]


def kpi_cell(header_index: int, value: Any) -> str:
    """A KPI value as the PDF prints it (rates as percentages, missing as —)."""
    if header_index in (8, 10):
        return _rate(value)
    if header_index == 2 and isinstance(value, int):
        return f"{value:,}"
    return _num(value)
