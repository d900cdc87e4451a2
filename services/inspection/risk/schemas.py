"""Risk signal, alert and KPI API shapes."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kit.problem_text import BilingualError
from kit.uscc import Uscc
from kit.validation import AgencyCode, Country, HsCode, Input, PastDatetime
from services.inspection.analysis.schemas import CreditLevels


class SignalKind(StrEnum):
    """国外通报, 退运, 召回, 投诉, 检测不合格 (a failed test on the public testing platform;
    credit counts the test result itself, not the signal)."""

    foreign_notification = "foreign_notification"
    return_ = "return"
    recall = "recall"
    complaint = "complaint"
    lab_test = "lab_test"


class RiskLevel(StrEnum):
    """The notifier's risk level (EU Safety Gate uses serious, high, medium, low)."""

    serious = "serious"
    high = "high"
    medium = "medium"
    low = "low"


# What identifies the product; at least one must be given for a signal to be matchable.
IDENTIFYING = (
    "uscc",
    "batch_number",
    "declaration_no",
    "barcode",
    "brand",
    "model",
    "hs_code",
)


class SignalIn(BaseModel):
    """A risk signal. Foreign notifications follow EU Safety Gate's fields; returns carry
    the declaration number, quantity and reason. CSV imports use these names as headers."""

    model_config = ConfigDict(extra="forbid")

    kind: SignalKind
    reference: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="The notifier's reference (e.g. Safety Gate A12/01234/26); a second "
        "signal with the same reference from the same agency is a duplicate",
    )
    source_agency: AgencyCode | None = Field(
        default=None, description="Defaults to the token's agency; only an admin names another"
    )
    notified_at: PastDatetime | None = Field(default=None, description="Defaults to now")
    notifying_country: Country | None = None
    risk_type: str | None = Field(default=None, max_length=60, examples=["chemical", "choking"])
    risk_level: RiskLevel = RiskLevel.medium
    product_category: str | None = Field(default=None, max_length=100, examples=["Toys"])
    product: str | None = Field(default=None, max_length=200)
    name: str | None = Field(
        default=None, max_length=200, description="The product's name (Safety Gate: Name)"
    )
    country_of_origin: Country | None = None
    brand: str | None = Field(default=None, min_length=1, max_length=100)
    model: str | None = Field(default=None, min_length=1, max_length=100)
    batch_number: str | None = Field(default=None, min_length=1, max_length=64)
    barcode: str | None = Field(default=None, pattern=r"^\d{8,14}$")
    hs_code: HsCode | None = None
    destination: Country | None = Field(default=None, description="The market concerned")
    uscc: Uscc | None = Field(default=None, description="The exporter, when the notice names it")
    declaration_no: str | None = Field(default=None, pattern=r"^[A-Za-z0-9-]{6,40}$")
    quantity: float | None = Field(default=None, gt=0, lt=1e15)
    unit: str | None = Field(default=None, min_length=1, max_length=20)
    reason: str | None = Field(default=None, max_length=1000, description="Why it was returned")
    measures_taken: str | None = Field(default=None, max_length=1000)
    description: str | None = Field(default=None, max_length=4000)

    @model_validator(mode="after")
    def _matchable(self) -> "SignalIn":
        if not any(getattr(self, f) for f in IDENTIFYING):
            raise BilingualError(
                f"name the product by at least one of: {', '.join(IDENTIFYING)}",
                f"请至少用以下一项指明产品：{'、'.join(IDENTIFYING)}",
            )
        return self

    def facts(self) -> dict[str, Any]:
        """What the signal says, as stored."""
        return self.model_dump(
            mode="json",
            exclude={"kind", "reference", "source_agency", "notified_at"},
            exclude_none=True,
        )


class Candidate(BaseModel):
    """A batch or enterprise the signal might be about, with its score."""

    uscc: str
    batch_id: uuid.UUID | None = None
    batch_number: str | None = None
    confidence: float
    matched_on: list[str]


class SignalOut(BaseModel):
    """A recorded signal and its match."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: SignalKind
    source_agency: str
    reference: str | None
    notified_at: datetime
    facts: dict[str, Any]
    severity: str
    status: Literal["unmatched", "matched", "dismissed"]
    uscc: str | None
    batch_id: uuid.UUID | None
    match_method: str | None = Field(
        description="declaration_no, batch_number, barcode, uscc, attributes or manual"
    )
    match_confidence: float | None
    candidates: list[Candidate]
    alert_id: uuid.UUID | None
    recorded_by: str
    linked_by: str | None
    note: str | None = Field(description="Why it was dismissed")
    created_at: datetime
    version: int


class LinkIn(Input):
    """A person links an unmatched signal to an enterprise, and a batch if known."""

    uscc: Uscc
    batch_id: uuid.UUID | None = None


class DismissIn(Input):
    """A signal that concerns no zone enterprise."""

    reason: str = Field(min_length=1, max_length=1000)


class AlertStatus(StrEnum):
    """open → investigating → closed."""

    open = "open"
    investigating = "investigating"
    closed = "closed"


class AlertOut(BaseModel):
    """A risk alert with the trace registry attached and the possibly affected enterprises."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    signal_id: uuid.UUID
    kind: SignalKind
    uscc: str
    batch_id: uuid.UUID | None
    batch_number: str | None
    severity: str
    agency: str
    status: AlertStatus
    summary: str
    task_id: uuid.UUID | None = Field(description="The targeted inspection task it opened")
    trace: dict[str, Any] | None = Field(
        description="Steps, failing steps and supplier lots upstream of the batch; null until "
        "registry has traced it (seconds)"
    )
    traced_at: datetime | None
    affected: list[dict[str, Any]] = Field(
        description="Other enterprises that received the same supplier lots"
    )
    conclusion: str | None
    raised_at: datetime
    closed_at: datetime | None
    closed_by: str | None
    version: int


class AlertPatch(Input):
    """Move an alert on: investigating, or closed with a conclusion."""

    status: Literal[AlertStatus.investigating, AlertStatus.closed]
    conclusion: str | None = Field(default=None, min_length=1, max_length=4000)

    @model_validator(mode="after")
    def _conclusion(self) -> "AlertPatch":
        if self.status == AlertStatus.closed and not self.conclusion:
            raise BilingualError("closing an alert needs a conclusion", "关闭风险预警须填写结论")
        return self


class Kpi(BaseModel):
    """One zone's (or enterprise's) figures for a year."""

    zone: str | None
    uscc: str | None = None
    year: int
    enterprises: int = Field(description="Members at some moment of the year (as of then)")
    source: Literal["batches", "surveys"] = Field(
        default="batches",
        description="Where exports, notifications and returns come from: `batches` (export "
        "batches shipped that year, matched signals) when any member shipped a batch that "
        "year, else `surveys` (the members' surveys of the year) when any has one",
    )
    exports_usd: int = Field(description="Export value of the year, from `source`")
    notifications: int = Field(description="Foreign notifications (国外通报), from `source`")
    returns: int = Field(description="Returns (退运), from `source`")
    notifications_per_100m_usd: float | None = Field(
        description="Foreign notifications per US$100M of exports (null without exports)"
    )
    returns_per_100m_usd: float | None
    spot_checks: int
    spot_check_pass_rate: float | None
    capas: int
    capa_closure_rate: float | None
    open_alerts: int
    credit_levels: CreditLevels = Field(
        default_factory=CreditLevels,
        description="Members per credit level at the year's end (credit's level history)",
    )


class KpiPage(BaseModel):
    """KPIs for a year, one item per zone (or the one enterprise asked for)."""

    year: int
    items: list[Kpi]
