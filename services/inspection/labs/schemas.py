"""Public testing platform API shapes: labs with their accreditation, test requests."""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kit.problem_text import BilingualError
from kit.validation import AgencyCode, HsCode, Input, PastDatetime, PatchModel

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
            raise BilingualError(
                "a scope entry names the product by hs_prefix or product",
                "能力范围条目须用 hs_prefix 或 product 指明产品",
            )
        return self


class LabIn(BaseModel):
    """A lab joining the platform with its accreditation (admin)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        min_length=1,
        max_length=200,
        examples=["宁波检验检疫科学技术研究院"],
        description="The lab's name (Chinese)",
    )
    name_en: str | None = Field(
        default=None, min_length=1, max_length=200, description="The lab's English name"
    )
    cnas_number: str | None = CNAS
    cma_number: str | None = CMA
    agency: AgencyCode | None = Field(
        default=None,
        description="The agency operating the lab: a member agency registry announced "
        "(`registry.agency.registered`; another code is a 404); its tokens accept requests "
        "and record results",
    )
    address: str | None = Field(default=None, max_length=300, description="Postal address")
    scope: list[ScopeEntry] = Field(
        min_length=1, max_length=500, description="Accreditation scope: product and standard"
    )
    valid_from: date = Field(description="Accreditation valid from (inclusive)")
    valid_to: date = Field(description="Accreditation valid until (inclusive)")
    active: bool = Field(default=True, description="Takes requests on the platform")

    @model_validator(mode="after")
    def _accredited(self) -> "LabIn":
        if not self.cnas_number and not self.cma_number:
            raise BilingualError(
                "a lab needs a CNAS or a CMA number", "实验室须有 CNAS 或 CMA 编号"
            )
        if self.valid_to < self.valid_from:
            raise BilingualError(
                "valid_to must not be before valid_from",
                "有效期止（valid_to）不能早于有效期起（valid_from）",
            )
        return self


class LabPatch(PatchModel):
    """Editable lab fields (send `If-Match`); a new scope replaces the old one whole."""

    model_config = ConfigDict(extra="forbid")
    not_null = ("name", "scope", "valid_from", "valid_to", "active")

    name: str | None = Field(default=None, min_length=1, max_length=200, description="Name")
    name_en: str | None = Field(
        default=None, min_length=1, max_length=200, description="English name"
    )
    cnas_number: str | None = CNAS
    cma_number: str | None = CMA
    address: str | None = Field(default=None, max_length=300, description="Postal address")
    scope: list[ScopeEntry] | None = Field(
        default=None, min_length=1, max_length=500, description="The new scope, whole"
    )
    valid_from: date | None = Field(default=None, description="Valid from (inclusive)")
    valid_to: date | None = Field(default=None, description="Valid until (inclusive)")
    active: bool | None = Field(default=None, description="false takes the lab off the platform")

    @model_validator(mode="after")
    def _period(self) -> "LabPatch":
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise BilingualError(
                "valid_to must not be before valid_from",
                "有效期止（valid_to）不能早于有效期起（valid_from）",
            )
        return self


class LabOut(BaseModel):
    """A lab, its accreditation and whether it is valid today."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="Lab id")
    name: str = Field(description="Name")
    name_en: str | None = Field(description="English name")
    cnas_number: str | None = Field(description="CNAS accreditation number")
    cma_number: str | None = Field(description="CMA certificate number")
    agency: str | None = Field(description="The operating agency (accepts and reports)")
    address: str | None = Field(description="Postal address")
    scope: list[ScopeEntry] = Field(description="Accreditation scope: product and standard")
    valid_from: date = Field(description="Accreditation valid from (inclusive)")
    valid_to: date = Field(description="Accreditation valid until (inclusive)")
    active: bool = Field(description="Takes requests on the platform")
    valid_today: bool = Field(default=False, description="Active and within validity (China time)")
    created_at: datetime = Field(description="When registered")
    updated_at: datetime = Field(description="Last change")
    version: int = Field(description="Version, the ETag")


class TestStatus(StrEnum):
    """已申请 → 已受理 → 已检测 | 已拒绝."""

    requested = "requested"
    accepted = "accepted"
    tested = "tested"
    rejected = "rejected"


class TestRequestIn(BaseModel):
    """An enterprise asks a lab to test a sample of one of its export batches."""

    model_config = ConfigDict(extra="forbid")

    lab_id: uuid.UUID = Field(description="The lab asked (see /v1/labs)")
    batch_id: uuid.UUID = Field(description="An export batch recorded in registry")
    standard: str = STANDARD
    hs_code: HsCode | None = Field(
        default=None, description="Defaults to the batch's; must agree with it when both exist"
    )
    product: str | None = Field(
        default=None, min_length=1, max_length=200, description="Defaults to the batch's"
    )
    note: str | None = Field(default=None, max_length=2000, description="A note for the lab")


class RejectIn(Input):
    """The lab declines (or cannot test) the request."""

    reason: str = Field(min_length=1, max_length=2000, description="Why the lab declines")


class MeasuredValue(BaseModel):
    """One tested item of the report."""

    model_config = ConfigDict(extra="forbid")

    item: str = Field(
        min_length=1,
        max_length=200,
        examples=["耐压试验 electric strength"],
        description="The tested item",
    )
    value: str = Field(
        min_length=1, max_length=100, examples=["1500 V 1 min, 无击穿"], description="Measured"
    )
    unit: str | None = Field(default=None, max_length=20, description="Unit of the value")
    limit: str | None = Field(default=None, max_length=100, description="The standard's limit")
    outcome: Literal["pass", "fail"] = Field(description="The item's outcome")


class ResultIn(BaseModel):
    """The lab's report: outcome, report number and the values; a fail names a failing
    value, a pass none."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["pass", "fail"] = Field(description="The report's conclusion")
    report_number: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9/_.-]{2,59}$",
        examples=["WT2026-0815"],
        description="The lab's report number, once per lab whatever its case (WT-1 and wt-1 "
        "are one report); surrounding spaces are ignored",
    )
    tested_at: PastDatetime | None = Field(default=None, description="Defaults to now")
    values: list[MeasuredValue] = Field(
        min_length=1, max_length=200, description="The tested items and their values"
    )
    risk_level: Literal["serious", "high", "medium", "low"] = Field(
        default="medium", description="For a fail: the risk of the nonconformity"
    )

    @field_validator("report_number", mode="before")
    @classmethod
    def _trimmed(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _consistent(self) -> "ResultIn":
        failing = [v.item for v in self.values if v.outcome == "fail"]
        if self.outcome == "fail" and not failing:
            raise BilingualError(
                "a failed report names at least one failing value",
                "不合格报告须至少列出一项不合格值",
            )
        if self.outcome == "pass" and failing:
            raise BilingualError(
                f"a passed report has no failing value (failing: {', '.join(failing)})",
                f"合格报告不能有不合格值（不合格：{'、'.join(failing)}）",
            )
        return self


class TestRequestOut(BaseModel):
    """A test request, its status and its result."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="Request id")
    uscc: str = Field(description="The enterprise")
    lab_id: uuid.UUID = Field(description="The lab")
    batch_id: uuid.UUID = Field(description="The export batch")
    batch_number: str = Field(description="The batch's number")
    hs_code: str = Field(description="The product's HS code")
    product: str | None = Field(description="The product")
    standard: str = Field(description="The standard tested to")
    note: str | None = Field(description="The requester's note")
    status: TestStatus = Field(description="requested → accepted → tested | rejected")
    requested_by: str = Field(description="Who requested it")
    requested_at: datetime = Field(description="When")
    accepted_at: datetime | None = Field(description="When the lab accepted it")
    decided_by: str | None = Field(description="Who at the lab last moved it")
    reason: str | None = Field(description="Why it was rejected")
    outcome: Literal["pass", "fail"] | None = Field(description="The report's conclusion")
    report_number: str | None = Field(description="The lab's report number")
    values: list[dict[str, Any]] = Field(description="The tested items and their values")
    tested_at: datetime | None = Field(description="When tested")
    signal_id: uuid.UUID | None = Field(description="A failed result's risk signal")
    alert_id: uuid.UUID | None = Field(description="The alert the failed result raised")
    updated_at: datetime = Field(description="Last change")
    version: int = Field(description="Version, the ETag")
