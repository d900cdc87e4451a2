"""Credit vocabulary: fact kinds, severities, levels, recognisable result kinds."""

from __future__ import annotations

from enum import StrEnum

from kit.events import RESULT_FACT_KINDS
from kit.vocabulary import CREDIT_LEVELS, FACT_KINDS


class FactKind(StrEnum):
    """What an agency found or granted (信用信息归集)."""

    spot_check_pass = "spot_check_pass"  # noqa: S105 (监督抽查合格)
    spot_check_fail = "spot_check_fail"  # 监督抽查不合格
    foreign_notification = "foreign_notification"  # 国外通报
    product_return = "return"  # 退运
    recall = "recall"  # 召回
    penalty = "penalty"  # 行政处罚 (amount in CNY)
    award = "award"  # 表彰奖励
    certification = "certification"  # 认证, e.g. customs AEO tier (details.tier)
    lab_accreditation = "lab_accreditation"  # 实验室认可 (CNAS)
    lab_test_pass = "lab_test_pass"  # noqa: S105 (检测报告合格)
    lab_test_fail = "lab_test_fail"  # 检测报告不合格
    training = "training"  # 培训完成
    commitment_signed = "commitment_signed"  # 签署质量诚信承诺书
    commitment_breached = "commitment_breached"  # 违反承诺
    tax_arrears = "tax_arrears"  # 欠税 (amount in CNY)


FACT_NAMES: dict[FactKind, tuple[str, str]] = {FactKind(k): v for k, v in FACT_KINDS.items()}

# Facts that count against an enterprise: only these can be repaired (信用修复).
ADVERSE = frozenset(
    {
        FactKind.spot_check_fail,
        FactKind.foreign_notification,
        FactKind.product_return,
        FactKind.recall,
        FactKind.penalty,
        FactKind.lab_test_fail,
        FactKind.commitment_breached,
        FactKind.tax_arrears,
    }
)
# Facts that may carry an amount in CNY.
WITH_AMOUNT = frozenset({FactKind.penalty, FactKind.tax_arrears})


class Severity(StrEnum):
    """轻微 / 一般 / 严重, in increasing order."""

    minor = "minor"
    general = "general"
    serious = "serious"


SEVERITY_RANK = {Severity.minor: 0, Severity.general: 1, Severity.serious: 2}


class Level(StrEnum):
    """SAMR's credit-risk classes: A low, B general, C higher, D high risk (from best to worst)."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"


LEVEL_NAMES: dict[Level, tuple[str, str]] = {Level(k): v for k, v in CREDIT_LEVELS.items()}
LEVEL_ORDER = [Level.A, Level.B, Level.C, Level.D]


def worse(a: Level, b: Level) -> Level:
    """The worse of two levels."""
    return max(a, b, key=LEVEL_ORDER.index)


class ResultKind(StrEnum):
    """Results one agency may recognise from another (监管互认), and the facts that carry them."""

    inspection_result = "inspection_result"
    certification = "certification"
    lab_report = "lab_report"


RESULT_FACTS: dict[ResultKind, frozenset[FactKind]] = {
    ResultKind(kind): frozenset(FactKind(f) for f in facts)
    for kind, facts in RESULT_FACT_KINDS.items()
}
