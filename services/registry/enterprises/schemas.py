"""Enterprise and survey API shapes."""

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kit.uscc import Uscc
from kit.validation import Country, HsCode, Input, PatchModel, Phone, refuse_fields
from services.registry.domain import Industry

MAX_AMOUNT = 10**14  # larger than any county enterprise's figures; fits BIGINT
PERSONAL = (
    " Personal information (个人信息): stored encrypted; shown in full to the enterprise "
    "itself, the zone office and the owning agency (`owner_agency`), masked for anyone else "
    "(张*, 欧阳**, 138****5678)."
)
LEGAL_REPRESENTATIVE = "法定代表人: the legal representative's name." + PERSONAL
CONTACT_NAME = "联系人: the person the agencies contact at the enterprise." + PERSONAL
CONTACT_PHONE = (
    "联系电话: a mainland mobile (13812345678, +86 allowed) or a landline with its area code "
    "(0574-65512345, an extension after a hyphen); stored as 13812345678 or 0574-65512345."
    + PERSONAL
)


class Product(Input):
    """An exported product line."""

    hs_code: HsCode
    name: str = Field(min_length=1, max_length=200)
    brand: str | None = Field(default=None, max_length=100)


class Certification(Input):
    """A certification held (ISO 9001, CE, AEO tier, lab accreditation …)."""

    kind: str = Field(min_length=1, max_length=60, examples=["ISO9001", "AEO-advanced", "CNAS"])
    number: str | None = Field(default=None, max_length=100)
    valid_until: date | None = None


class EnterpriseBase(BaseModel):
    """Fields shared by create and read."""

    name: str = Field(min_length=1, max_length=200)
    address: str | None = Field(default=None, max_length=400)
    legal_representative: str | None = Field(
        default=None, max_length=100, description=LEGAL_REPRESENTATIVE
    )
    contact_name: str | None = Field(
        default=None, min_length=1, max_length=100, description=CONTACT_NAME
    )
    industry: Industry | None = None
    employees: int | None = Field(default=None, ge=0, le=10_000_000)
    annual_export_usd: int | None = Field(
        default=None, ge=0, le=MAX_AMOUNT, description="Annual exports, US$"
    )
    products: list[Product] = Field(default_factory=list, max_length=200)
    export_markets: list[Country] = Field(default_factory=list, max_length=250)
    certifications: list[Certification] = Field(default_factory=list, max_length=100)


def _flatten_scale(data: Any) -> Any:
    """Accept the scale as a nested object too: `{"scale": {"employees", "annual_export_usd"}}`."""
    if isinstance(data, dict) and isinstance(data.get("scale"), dict):
        data = {**data.pop("scale"), **data}
    return data


class EnterpriseIn(EnterpriseBase, Input):
    """An enterprise to register. Products may also be given as bare `hs_codes`."""

    uscc: Uscc
    contact_phone: Phone | None = Field(default=None, description=CONTACT_PHONE)
    hs_codes: list[HsCode] = Field(
        default_factory=list,
        max_length=200,
        description="HS codes of exported products, in addition to `products`",
    )

    _scale = model_validator(mode="before")(_flatten_scale)
    _server_owned = refuse_fields(
        "credit_level", "version", "zones", "owner_agency", "created_at", "updated_at"
    )


class EnterprisePatch(PatchModel):
    """Editable enterprise fields (send `If-Match`)."""

    not_null = ("name", "products", "export_markets", "certifications")
    _scale = model_validator(mode="before")(_flatten_scale)
    _server_owned = refuse_fields(
        "credit_level", "version", "zones", "owner_agency", "created_at", "updated_at"
    )

    name: str | None = Field(default=None, min_length=1, max_length=200)
    address: str | None = Field(default=None, max_length=400)
    legal_representative: str | None = Field(
        default=None, max_length=100, description=LEGAL_REPRESENTATIVE
    )
    contact_name: str | None = Field(
        default=None, min_length=1, max_length=100, description=CONTACT_NAME
    )
    contact_phone: Phone | None = Field(default=None, description=CONTACT_PHONE)
    industry: Industry | None = None
    employees: int | None = Field(default=None, ge=0, le=10_000_000)
    annual_export_usd: int | None = Field(default=None, ge=0, le=MAX_AMOUNT)
    products: list[Product] | None = Field(default=None, max_length=200)
    export_markets: list[Country] | None = Field(default=None, max_length=250)
    certifications: list[Certification] | None = Field(default=None, max_length=100)


class EnterpriseOut(EnterpriseBase):
    """A registered enterprise."""

    model_config = ConfigDict(from_attributes=True)

    uscc: str
    contact_phone: str | None = Field(default=None, description=CONTACT_PHONE)
    owner_agency: str | None = Field(
        default=None,
        description="The agency whose system or staff registered it, which with the enterprise "
        "itself and the zone office sees its personal information in full",
    )
    hs_codes: list[str]
    credit_level: str | None = Field(description="Latest level from the credit service, if any")
    zones: list[str] = Field(
        default_factory=list, description="Zones where it is an admitted member"
    )
    version: int
    created_at: datetime
    updated_at: datetime


class SurveyIn(Input):
    """One year's survey (摸底调查)."""

    year: int = Field(ge=2000, le=2100)
    employees: int | None = Field(default=None, ge=0, le=10_000_000)
    annual_output_cny: int | None = Field(default=None, ge=0, le=MAX_AMOUNT)
    annual_export_usd: int | None = Field(default=None, ge=0, le=MAX_AMOUNT)
    products: list[Product] = Field(default_factory=list, max_length=200)
    export_markets: list[Country] = Field(default_factory=list, max_length=250)
    quality: dict[str, Any] = Field(
        default_factory=dict,
        description="Quality and safety information, e.g. {management_system, complaints, returns}",
    )
    lab: dict[str, Any] = Field(
        default_factory=dict, description="Laboratory information, e.g. {has_lab, accreditation}"
    )
    notes: str | None = Field(default=None, max_length=4000)


class SurveyOut(SurveyIn):
    """A recorded survey."""

    model_config = ConfigDict(from_attributes=True)

    uscc: str
    recorded_by: str
    created_at: datetime
