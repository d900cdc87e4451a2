"""Public testing platform API shapes: labs with their accreditation, test requests."""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kit.validation import AgencyCode, HsCode, PastDatetime, PatchModel

CNAS = Field(
    default=None,
    pattern=r"^CNAS ?L\d{4,6}$",
    description="中国合格评定国家认可委员会 lab accreditation number, e.g. CNAS L1234",
    examples=["CNAS L1234"],
)
CMA = Field(
    default=None,
    pattern=r"^\d{12}$",
    description="检验检测机构资质认定 (CMA) certificate number, 12 digits",
    examples=["201511000123"],
)
STANDARD = Field(
    min_length=2,
    max_length=60,
    pattern=r"^[A-Za-z][A-Za-z/ ]{0,15}[ ]?[A-Za-z0-9.:/\- ]{1,44}$",
    description="Standard code with its edition, e.g. GB 7000.1-2015, EN 60598-1:2015; in a "
    "scope entry an edition-less code (GB 7000.1) covers every edition",
    examples=["GB 7000.1-2015"],
)


class ScopeEntry(BaseModel):
    """One line of the accreditation scope: a product (by HS code prefix or by name) and a
    standard."""

    model_config = ConfigDict(extra="forbid")

    hs_prefix: str | None = Field(
        default=None, pattern=r"^\d{2,10}$", description="HS code prefix (2–10 digits)"
    )
    product: str | None = Field(
        default=None, min_length=1, max_length=200, description="Product name, e.g. 灯具"
    )
    standard: str = STANDARD
    title: str | None = Field(default=None, max_length=200, description="What is tested")

    @model_validator(mode="after")
    def _names_a_product(self) -> "ScopeEntry":
        if not self.hs_prefix and not self.product:
            raise ValueError("a scope entry names the product by hs_prefix or product")
        return self


class LabIn(BaseModel):
    """A lab joining the platform with its accreditation (admin)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, examples=["宁波检验检疫科学技术研究院"])
    name_en: str | None = Field(default=None, min_length=1, max_length=200)
    cnas_number: str | None = CNAS
    cma_number: str | None = CMA
    agency: AgencyCode | None = Field(
        default=None,
        description="The agency operating the lab; its tokens accept requests and record results",
    )
    address: str | None = Field(default=None, max_length=300)
    scope: list[ScopeEntry] = Field(min_length=1, max_length=500)
    valid_from: date = Field(description="Accreditation valid from (inclusive)")
    valid_to: date = Field(description="Accreditation valid until (inclusive)")
    active: bool = True

    @model_validator(mode="after")
    def _accredited(self) -> "LabIn":
        if not self.cnas_number and not self.cma_number:
            raise ValueError("a lab needs a CNAS or a CMA number")
        if self.valid_to < self.valid_from:
            raise ValueError("valid_to must not be before valid_from")
        return self


class LabPatch(PatchModel):
    """Editable lab fields (send `If-Match`); a new scope replaces the old one whole."""

    model_config = ConfigDict(extra="forbid")
    not_null = ("name", "scope", "valid_from", "valid_to", "active")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    name_en: str | None = Field(default=None, min_length=1, max_length=200)
    cnas_number: str | None = CNAS
    cma_number: str | None = CMA
    address: str | None = Field(default=None, max_length=300)
    scope: list[ScopeEntry] | None = Field(default=None, min_length=1, max_length=500)
    valid_from: date | None = None
    valid_to: date | None = None
    active: bool | None = None

    @model_validator(mode="after")
    def _period(self) -> "LabPatch":
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError("valid_to must not be before valid_from")
        return self


class LabOut(BaseModel):
    """A lab, its accreditation and whether it is valid today."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    name_en: str | None
    cnas_number: str | None
    cma_number: str | None
    agency: str | None
    address: str | None
    scope: list[ScopeEntry]
    valid_from: date
    valid_to: date
    active: bool
    valid_today: bool = Field(default=False, description="Active and within validity (China time)")
    created_at: datetime
    updated_at: datetime
    version: int


class TestStatus(StrEnum):
    """已申请 → 已受理 → 已检测 | 已拒绝."""

    requested = "requested"
    accepted = "accepted"
    tested = "tested"
    rejected = "rejected"


class TestRequestIn(BaseModel):
    """An enterprise asks a lab to test a sample of one of its export batches."""

    model_config = ConfigDict(extra="forbid")

    lab_id: uuid.UUID
    batch_id: uuid.UUID = Field(description="An export batch recorded in registry")
    standard: str = STANDARD
    hs_code: HsCode | None = Field(
        default=None, description="Defaults to the batch's; must agree with it when both exist"
    )
    product: str | None = Field(
        default=None, min_length=1, max_length=200, description="Defaults to the batch's"
    )
    note: str | None = Field(default=None, max_length=2000)


class RejectIn(BaseModel):
    """The lab declines (or cannot test) the request."""

    reason: str = Field(min_length=1, max_length=2000)


class MeasuredValue(BaseModel):
    """One tested item of the report."""

    model_config = ConfigDict(extra="forbid")

    item: str = Field(min_length=1, max_length=200, examples=["耐压试验 electric strength"])
    value: str = Field(min_length=1, max_length=100, examples=["1500 V 1 min, 无击穿"])
    unit: str | None = Field(default=None, max_length=20)
    limit: str | None = Field(default=None, max_length=100, description="The standard's limit")
    outcome: Literal["pass", "fail"]


class ResultIn(BaseModel):
    """The lab's report: outcome, report number and the values; a fail names a failing
    value, a pass none."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["pass", "fail"]
    report_number: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9/_.-]{2,59}$", examples=["WT2026-0815"]
    )
    tested_at: PastDatetime | None = Field(default=None, description="Defaults to now")
    values: list[MeasuredValue] = Field(min_length=1, max_length=200)
    risk_level: Literal["serious", "high", "medium", "low"] = Field(
        default="medium", description="For a fail: the risk of the nonconformity"
    )

    @model_validator(mode="after")
    def _consistent(self) -> "ResultIn":
        failing = [v.item for v in self.values if v.outcome == "fail"]
        if self.outcome == "fail" and not failing:
            raise ValueError("a failed report names at least one failing value")
        if self.outcome == "pass" and failing:
            raise ValueError(
                f"a passed report has no failing value (failing: {', '.join(failing)})"
            )
        return self


class TestRequestOut(BaseModel):
    """A test request, its status and its result."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    uscc: str
    lab_id: uuid.UUID
    batch_id: uuid.UUID
    batch_number: str
    hs_code: str
    product: str | None
    standard: str
    note: str | None
    status: TestStatus
    requested_by: str
    requested_at: datetime
    accepted_at: datetime | None
    decided_by: str | None
    reason: str | None = Field(description="Why it was rejected")
    outcome: Literal["pass", "fail"] | None
    report_number: str | None
    values: list[dict[str, Any]]
    tested_at: datetime | None
    signal_id: uuid.UUID | None = Field(description="A failed result's risk signal")
    alert_id: uuid.UUID | None = Field(description="The alert the failed result raised")
    updated_at: datetime
    version: int
