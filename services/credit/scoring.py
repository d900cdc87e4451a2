"""The scoring model (versioned data) and the pure function that turns facts into a level.

score = clamp(base + Σ contributions); a fact contributes its weight (by kind and severity,
plus points per 10,000 CNY for amounts) halved every `half_life_days` of its kind; the total
of one kind is capped; expired and repaired facts contribute nothing. The level is the band the
score falls in, made worse by any override in force (e.g. a serious penalty forces D for a
year). The same function serves live scoring, the rescoring job, simulation and the
explanation of a stored score (recomputed at its `computed_at`, so it sums to the stored score).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kit.measures import DEFAULTS, EFFECTS, LevelEffects
from kit.problem_text import BilingualError, reason_zh
from kit.validation import CHINA
from services.credit.domain import (
    LEVEL_ORDER,
    SEVERITY_RANK,
    FactKind,
    Level,
    Severity,
    worse,
)

DAY_S = 86_400.0
Points = Annotated[float, Field(ge=-10_000, le=10_000, allow_inf_nan=False)]


class Band(BaseModel):
    """Scores from `min` (inclusive) to `max` (exclusive; inclusive for the top band)."""

    model_config = ConfigDict(extra="forbid")

    min: Points
    max: Points


class Override(BaseModel):
    """While a fact of `kind` at or above `min_severity` is younger than `days`, the level is
    at best `level` (联合惩戒: a serious violation forces D for a period)."""

    model_config = ConfigDict(extra="forbid")

    kind: FactKind
    min_severity: Severity = Severity.serious
    level: Level
    days: int = Field(ge=1, le=3650)


class Measure(BaseModel):
    """A joint reward or punishment (联合奖惩) attached to a level."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,59}$")
    kind: Literal["reward", "punishment"]
    title_zh: str = Field(min_length=1, max_length=200, description="Title in Chinese (zh-CN)")
    title_en: str = Field(min_length=1, max_length=200, description="Title in English")
    params: dict[str, float | int | bool | str] = Field(
        default={},
        description="The effects it sets: inspection_ratio (0–1), honours_eligible (bool), "
        "zone_admission (allowed | review | refused), removal_review (bool)",
    )


class ScoringModel(BaseModel):
    """A scoring model version's content (PUT /v1/credit/model)."""

    model_config = ConfigDict(extra="forbid")

    base_score: Points = 100
    min_score: Points = 0
    max_score: Points = 200
    weights: dict[FactKind, dict[Severity, Points]] = Field(
        description="Points per fact by kind and severity; a missing entry counts 0"
    )
    amount_points_per_10k: dict[FactKind, Points] = Field(
        default={}, description="Extra points per 10,000 CNY of a fact's amount (penalties)"
    )
    half_life_days: dict[FactKind, Annotated[float, Field(gt=0, le=36_500)] | None] = Field(
        default={}, description="Per kind; null means no decay"
    )
    default_half_life_days: Annotated[float, Field(gt=0, le=36_500)] | None = 730
    caps: dict[FactKind, Annotated[float, Field(gt=0, le=10_000)]] = Field(
        default={}, description="Largest absolute total one kind may contribute"
    )
    levels: dict[Level, Band] = Field(description="Score band of each level A–D")
    overrides: list[Override] = Field(default=[], max_length=50)
    measures: dict[Level, list[Measure]] = Field(default={}, description="联合奖惩 per level")
    repair_waiting_days: dict[Severity, Annotated[int, Field(ge=0, le=3650)]] = Field(
        default={Severity.general: 90, Severity.serious: 365},
        description="信用修复: days after an adverse fact before its repair may be asked for, "
        "by severity; a severity not listed (minor by default) needs no repair",
    )
    repair_waiting_days_by_kind: dict[
        FactKind, dict[Severity, Annotated[int, Field(ge=0, le=3650)]]
    ] = Field(default={}, description="Per kind, where it differs from repair_waiting_days")

    @model_validator(mode="after")
    def _bands_cover_the_range(self) -> ScoringModel:
        if self.min_score >= self.max_score:
            raise BilingualError(
                f"min_score {self.min_score} must be below max_score {self.max_score}",
                f"最低分 min_score（{self.min_score}）必须低于最高分 max_score（{self.max_score}）",
            )
        if not self.min_score <= self.base_score <= self.max_score:
            raise BilingualError(
                "base_score must lie between min_score and max_score",
                "基础分 base_score 必须在最低分 min_score 与最高分 max_score 之间",
            )
        missing = [lv.value for lv in LEVEL_ORDER if lv not in self.levels]
        if missing:
            raise BilingualError(
                f"levels: no band for {', '.join(missing)}",
                f"levels：信用等级 {'、'.join(missing)} 没有分数段",
            )
        for lv in LEVEL_ORDER:
            band = self.levels[lv]
            if band.min >= band.max:
                raise BilingualError(
                    f"levels: band {lv} is empty ({band.min} ≥ {band.max})",
                    f"levels：信用等级 {lv} 的分数段为空（{band.min} ≥ {band.max}）",
                )
        top, bottom = self.levels[Level.A], self.levels[Level.D]
        if top.max != self.max_score:
            raise BilingualError(
                f"levels: A ends at {top.max}, not at max_score {self.max_score}",
                f"levels：信用等级 A 的分数段止于 {top.max}，而不是最高分 max_score（{self.max_score}）",
            )
        if bottom.min != self.min_score:
            raise BilingualError(
                f"levels: D starts at {bottom.min}, not at min_score {self.min_score}",
                f"levels：信用等级 D 的分数段始于 {bottom.min}，而不是最低分 min_score（{self.min_score}）",
            )
        for better, lower in pairwise(LEVEL_ORDER):
            b, w = self.levels[better], self.levels[lower]
            if w.max > b.min:
                raise BilingualError(
                    f"levels: {lower} (up to {w.max}) overlaps {better} (from {b.min})",
                    f"levels：信用等级 {lower}（至 {w.max} 分）与 {better}（自 {b.min} 分）的分数段重叠",
                )
            if w.max < b.min:
                raise BilingualError(
                    f"levels: scores from {w.max} to {b.min} fall between {lower} and {better}",
                    f"levels：{w.max} 至 {b.min} 分落在信用等级 {lower} 与 {better} 之间，不属于任何等级",
                )
        return self

    def measures_in_force(self) -> dict[str, LevelEffects]:
        """Each level's effects: the platform default, overlaid by its measures' params (a
        stored version may hold label-only measures from before #17: they change nothing)."""
        resolved = {}
        for lv in LEVEL_ORDER:
            params: dict[str, object] = DEFAULTS[lv.value].model_dump()
            for measure in self.measures.get(lv, []):
                params.update({k: v for k, v in measure.params.items() if k in EFFECTS})
            resolved[lv.value] = LevelEffects.model_validate(params)
        return resolved

    def level_of(self, score: float) -> Level:
        """The band a score falls in."""
        for lv in LEVEL_ORDER:
            if score >= self.levels[lv].min:
                return lv
        return Level.D


def check_measures(model: ScoringModel) -> None:
    """Every measure must have an effect (联合奖惩 that bite): its params set only known
    effects, with values of their type, at least one each, never two values for one level."""
    for lv, measures in model.measures.items():
        seen: dict[str, object] = {}
        for measure in measures:
            where = f"measures.{lv.value}.{measure.code}"
            if not measure.params:
                raise BilingualError(
                    f"{where}: a measure must set at least one of {', '.join(EFFECTS)}; "
                    "a measure nothing reads is a label",
                    f"{where}：措施必须至少设定 {'、'.join(EFFECTS)} 中的一项；"
                    "不产生任何效果的措施只是一个标签",
                )
            unknown = sorted(set(measure.params) - set(EFFECTS))
            if unknown:
                raise BilingualError(
                    f"{where}: unknown effect {', '.join(unknown)} (known: {', '.join(EFFECTS)})",
                    f"{where}：未知的效果 {'、'.join(unknown)}（可用：{'、'.join(EFFECTS)}）",
                )
            for key, value in measure.params.items():
                if key in seen and seen[key] != value:
                    raise BilingualError(
                        f"{where}: {key} is already {seen[key]!r} for level {lv}",
                        f"{where}：信用等级 {lv} 的 {key} 已设为 {seen[key]!r}",
                    )
                seen[key] = value
            try:
                LevelEffects.model_validate(
                    {**DEFAULTS[lv.value].model_dump(), **measure.params}, strict=True
                )
            except ValidationError as exc:
                first = exc.errors()[0]
                raise BilingualError(
                    f"{where}: {first['loc'][0]}: {first['msg']}", f"{where}：{reason_zh(first)}"
                ) from None


def earliest_repair_date(
    model: ScoringModel, *, kind: str, severity: str, occurred_at: datetime
) -> date | None:
    """The first day (China time) a repair of the fact may be asked for and approved; None
    when the fact needs no repair (minor facts, by default). Pure."""
    sev = Severity(severity)
    days = model.repair_waiting_days_by_kind.get(FactKind(kind), {}).get(
        sev, model.repair_waiting_days.get(sev)
    )
    if days is None:
        return None
    return occurred_at.astimezone(CHINA).date() + timedelta(days=days)


@dataclass(frozen=True, slots=True)
class FactInput:
    """What scoring needs of a fact."""

    id: str
    kind: str
    severity: str
    occurred_at: datetime
    expires_at: datetime | None = None
    ended_at: datetime | None = None  # credit repair: no effect from then on
    amount: float | None = None


@dataclass(slots=True)
class Contribution:
    """One fact's part in a score."""

    fact_id: str
    kind: str
    severity: str
    weight: float
    decay: float
    points: float
    state: Literal["counted", "capped", "expired", "repaired", "future"] = "counted"


@dataclass(slots=True)
class Evaluation:
    """A score, its level, and why."""

    score: float
    level: Level
    band_level: Level
    at: datetime
    contributions: list[Contribution] = field(default_factory=list)
    overrides: list[str] = field(default_factory=list)


def evaluate(
    model: ScoringModel, facts: Iterable[FactInput], at: datetime, *, explain: bool = True
) -> Evaluation:
    """Score facts under `model` as of `at`. Pure: no I/O, no clock."""
    totals: dict[str, float] = {}
    counted: list[tuple[FactInput, float, float, float]] = []
    contributions: list[Contribution] = []
    overrides: list[str] = []
    level_cap = Level.A
    weights, half_lives, amounts = model.weights, model.half_life_days, model.amount_points_per_10k
    for fact in facts:
        kind = FactKind(fact.kind)
        state: Literal["expired", "repaired", "future"] | None = None
        if fact.occurred_at > at:
            state = "future"
        elif fact.ended_at is not None and fact.ended_at <= at:
            state = "repaired"
        elif fact.expires_at is not None and fact.expires_at <= at:
            state = "expired"
        if state is not None:
            if explain:
                contributions.append(
                    Contribution(fact.id, fact.kind, fact.severity, 0.0, 0.0, 0.0, state)
                )
            continue
        weight = weights.get(kind, {}).get(Severity(fact.severity), 0.0)
        if fact.amount and kind in amounts:
            weight += amounts[kind] * fact.amount / 10_000
        half_life = half_lives.get(kind, model.default_half_life_days)
        age_days = (at - fact.occurred_at).total_seconds() / DAY_S
        decay = 0.5 ** (age_days / half_life) if half_life else 1.0
        points = weight * decay
        totals[kind] = totals.get(kind, 0.0) + points
        counted.append((fact, weight, decay, points))
        for rule in model.overrides:
            if (
                rule.kind == kind
                and SEVERITY_RANK[Severity(fact.severity)] >= SEVERITY_RANK[rule.min_severity]
                and age_days < rule.days
            ):
                level_cap = worse(level_cap, rule.level)
                if explain:
                    overrides.append(
                        f"{kind.value}/{fact.severity} fact {fact.id}: at best {rule.level.value} "
                        f"for {rule.days} days"
                    )
    scale = {
        kind: model.caps[FactKind(kind)] / abs(total)
        for kind, total in totals.items()
        if FactKind(kind) in model.caps and abs(total) > model.caps[FactKind(kind)]
    }
    raw = model.base_score + sum(total * scale.get(kind, 1.0) for kind, total in totals.items())
    score = round(min(max(raw, model.min_score), model.max_score), 2)
    band_level = model.level_of(score)
    if explain:
        for fact, weight, decay, points in counted:
            factor = scale.get(fact.kind)
            contributions.append(
                Contribution(
                    fact.id,
                    fact.kind,
                    fact.severity,
                    round(weight, 4),
                    round(decay, 4),
                    round(points * (factor or 1.0), 4),
                    "capped" if factor is not None else "counted",
                )
            )
    return Evaluation(
        score=score,
        level=worse(band_level, level_cap),
        band_level=band_level,
        at=at,
        contributions=contributions,
        overrides=overrides,
    )


def _weights(minor: float, general: float, serious: float) -> dict[Severity, float]:
    return {Severity.minor: minor, Severity.general: general, Severity.serious: serious}


# Version 1, installed when the service first starts: a starting point for the county to
# tune; every number is data, changed by PUT /v1/credit/model (which rescores everyone).
DEFAULT_MODEL = ScoringModel(
    base_score=100,
    min_score=0,
    max_score=200,
    weights={
        FactKind.spot_check_pass: _weights(2, 3, 4),
        FactKind.spot_check_fail: _weights(-5, -12, -30),
        FactKind.foreign_notification: _weights(-5, -15, -35),
        FactKind.product_return: _weights(-4, -10, -25),
        FactKind.recall: _weights(-8, -18, -40),
        FactKind.penalty: _weights(-5, -15, -40),
        FactKind.award: _weights(5, 10, 15),
        FactKind.certification: _weights(5, 10, 15),
        FactKind.lab_accreditation: _weights(5, 8, 10),
        FactKind.lab_test_pass: _weights(1, 2, 3),
        FactKind.lab_test_fail: _weights(-3, -8, -20),
        FactKind.training: _weights(1, 2, 3),
        FactKind.commitment_signed: _weights(5, 5, 5),
        FactKind.commitment_breached: _weights(-10, -25, -50),
        FactKind.tax_arrears: _weights(-3, -10, -25),
    },
    amount_points_per_10k={FactKind.penalty: -1, FactKind.tax_arrears: -0.5},
    half_life_days={
        FactKind.spot_check_pass: 365,
        FactKind.lab_test_pass: 365,
        FactKind.training: 365,
        FactKind.commitment_signed: None,
        FactKind.certification: None,
        FactKind.lab_accreditation: None,
    },
    default_half_life_days=730,
    caps={
        FactKind.spot_check_pass: 20,
        FactKind.lab_test_pass: 10,
        FactKind.training: 10,
        FactKind.award: 30,
        FactKind.certification: 30,
        FactKind.penalty: 80,
    },
    levels={
        Level.A: Band(min=110, max=200),
        Level.B: Band(min=90, max=110),
        Level.C: Band(min=60, max=90),
        Level.D: Band(min=0, max=60),
    },
    overrides=[
        Override(kind=FactKind.penalty, min_severity=Severity.serious, level=Level.D, days=365),
        Override(
            kind=FactKind.commitment_breached,
            min_severity=Severity.serious,
            level=Level.D,
            days=365,
        ),
        Override(
            kind=FactKind.foreign_notification,
            min_severity=Severity.serious,
            level=Level.C,
            days=180,
        ),
    ],
    measures={
        Level.A: [
            Measure(
                code="reduced_inspection",
                kind="reward",
                title_zh="降低抽查比例",
                title_en="Reduced spot-check ratio",
                params={"inspection_ratio": 0.05},
            ),
        ],
        Level.B: [
            Measure(
                code="regular_inspection",
                kind="reward",
                title_zh="常规抽查比例",
                title_en="Regular spot-check ratio",
                params={"inspection_ratio": 0.10},
            )
        ],
        Level.C: [
            Measure(
                code="increased_inspection",
                kind="punishment",
                title_zh="提高抽查比例",
                title_en="Increased spot-check ratio",
                params={"inspection_ratio": 0.30},
            ),
            Measure(
                code="admission_review",
                kind="punishment",
                title_zh="示范区准入须审查并说明理由",
                title_en="Zone admission only after review, with a reason",
                params={"zone_admission": "review"},
            ),
        ],
        Level.D: [
            Measure(
                code="intensified_inspection",
                kind="punishment",
                title_zh="重点监管、逐批检验",
                title_en="Intensified inspection of every batch",
                params={"inspection_ratio": 1.0},
            ),
            Measure(
                code="honours_excluded",
                kind="punishment",
                title_zh="取消示范区评优资格",
                title_en="Excluded from zone honours",
                params={"honours_eligible": False},
            ),
            Measure(
                code="admission_refused",
                kind="punishment",
                title_zh="不予准入示范区",
                title_en="Refused admission to zones",
                params={"zone_admission": "refused"},
            ),
            Measure(
                code="removal_review",
                kind="punishment",
                title_zh="启动示范区退出审查",
                title_en="Zone removal review",
                params={"removal_review": True},
            ),
        ],
    },
)
