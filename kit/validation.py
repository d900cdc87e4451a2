"""Request-shape helpers shared by every service's schemas."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Annotated, Any, ClassVar

from fastapi import Path, Query
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from kit import vocabulary
from kit.db import utcnow
from kit.iso3166 import ALPHA2
from kit.problem_text import BilingualError, label_zh
from kit.problems import ProblemError
from kit.uscc import Uscc

AGENCY_PATTERN = r"^[a-z][a-z0-9_]{1,39}$"
AgencyCode = Annotated[
    str,
    Field(
        pattern=AGENCY_PATTERN,
        description="Agency code as in registry's /v1/agencies, e.g. ciq",
        examples=["ciq"],
    ),
]

# Agency systems' clocks differ: this much ahead of ours still counts as now.
CLOCK_SKEW = timedelta(minutes=5)
CHINA = vocabulary.CHINA  # China's day: kit.vocabulary holds the zone, for dates and for people


def _country(value: str) -> str:
    value = value.strip().upper()
    if value not in ALPHA2:
        raise BilingualError(
            f"'{value}' is not an ISO 3166-1 alpha-2 country code",
            f"不是 ISO 3166-1 两位字母国家或地区代码：“{value}”",
        )
    return value


Country = Annotated[
    str,
    AfterValidator(_country),
    Field(
        examples=["US", "DE"],
        pattern="^[A-Za-z]{2}$",
        json_schema_extra={"format": "iso3166-alpha2", "enum": sorted(ALPHA2)},
        description="ISO 3166-1 alpha-2 country code",
    ),
]
# 联系电话: a mainland mobile (optionally +86) or a landline with its area code (010 and 02x
# have three digits, the rest four), then a local number of 7-8 digits and an extension.
PHONE_PATTERN = (
    r"^(?:(?:\+86-?)?(1[3-9]\d{9})|(0(?:10|2\d|[3-9]\d{2}))-?([2-9]\d{6,7})(?:-(\d{1,6}))?)$"
)
_PHONE = re.compile(PHONE_PATTERN)


def _phone(value: str) -> str:
    match = _PHONE.match(value.strip())
    if match is None:
        raise BilingualError(
            "must be a mainland mobile number (11 digits from 13 to 19, +86 allowed) or a "
            "landline with its area code, such as 0574-65512345 (extension after a hyphen)",
            "应为大陆手机号（13–19 开头的 11 位数字，可带 +86）或带区号的固定电话，"
            "如 0574-65512345（分机号用连字符隔开）",
        )
    mobile, area, number, extension = match.groups()
    if mobile:
        return str(mobile)
    return "-".join(p for p in (area, number, extension) if p)


Phone = Annotated[
    str,
    AfterValidator(_phone),
    Field(
        json_schema_extra={"pattern": PHONE_PATTERN},
        description="Mainland mobile (13812345678, +86 allowed) or landline with area code "
        "(0574-65512345, extension after a hyphen); stored as 13812345678 or 0574-65512345",
        examples=["13812345678", "0574-65512345"],
    ),
]
HsCode = Annotated[
    str, Field(pattern=r"^\d{6,10}$", description="HS code, 6–10 digits", examples=["960810"])
]


def _not_future(value: datetime) -> datetime:
    if value > utcnow() + CLOCK_SKEW:
        raise BilingualError("must not be in the future", "不能晚于当前时间")
    return value


def _not_future_date(value: date) -> date:
    # a date is a calendar day in China: "today" in Ninghai begins at 16:00 UTC the day before
    if value > (utcnow() + CLOCK_SKEW).astimezone(CHINA).date():
        raise BilingualError("must not be in the future", "不能晚于今天")
    return value


PastDatetime = Annotated[
    AwareDatetime,
    AfterValidator(_not_future),
    Field(description="ISO-8601 with offset; not in the future (5 minutes of clock skew allowed)"),
]
PastDate = Annotated[date, AfterValidator(_not_future_date)]


def _drop_null_for_not_null(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """In the published schema, fields listed in `not_null` do not accept null."""
    for name in getattr(model, "not_null", ()):
        prop = schema.get("properties", {}).get(name)
        if prop and "anyOf" in prop:
            options = [o for o in prop.pop("anyOf") if o.get("type") != "null"]
            prop.update(options[0] if len(options) == 1 else {"anyOf": options})
            prop.pop("default", None)


class Input(BaseModel):
    """A request body: a field the model does not know is refused (422 naming it), so a
    misspelt optional field is never dropped in silence, and the schema says so
    (`additionalProperties: false`)."""

    model_config = ConfigDict(extra="forbid")


class PatchModel(Input):
    """A partial update: omitted fields stay as they are; `null` only where the field allows it.

    Subclasses list in `not_null` the fields that may be omitted but never set to null.
    """

    model_config = ConfigDict(json_schema_extra=_drop_null_for_not_null)

    not_null: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _no_null_for_required(self) -> PatchModel:
        nulled = [
            f for f in self.not_null if f in self.model_fields_set and getattr(self, f) is None
        ]
        if nulled:
            raise ValueError(f"{', '.join(nulled)} cannot be null; omit a field to leave it as is")
        return self


def refuse_fields(*names: str) -> Any:
    """A `mode="before"` model validator refusing server-owned fields (e.g. a credit level).

    Unknown fields are refused anyway (`Input`); these get their own message because a caller
    who sends them expects an effect they cannot have (OWASP API3: property-level
    authorization).
    """

    def check(cls: type[BaseModel], data: Any) -> Any:
        if isinstance(data, dict):
            sent = sorted(n for n in names if n in data)
            if sent:
                raise ValueError(f"{', '.join(sent)} cannot be set by a client")
        return data

    return model_validator(mode="before")(classmethod(check))  # type: ignore[arg-type]


# Path parameters and filters are validated like body fields: a malformed one is a 422 naming
# the reason; a well-formed one that names nothing is a 404 (path) or a 422 (filter).
ZONE_CODE_PATTERN = r"^[a-z0-9][a-z0-9_-]{1,59}$"
UsccPath = Annotated[
    Uscc, Path(description="统一社会信用代码 (18 characters, GB 32100-2015 check character)")
]
ZoneCodePath = Annotated[str, Path(pattern=ZONE_CODE_PATTERN, description="Zone code")]
AgencyCodePath = Annotated[str, Path(pattern=AGENCY_PATTERN, description="Agency code")]
ZoneFilter = Annotated[
    str | None,
    Query(pattern=ZONE_CODE_PATTERN, description="Zone code; an unknown zone is a 422"),
]


def unknown_value(
    field: str, value: str, allowed: list[str], *, what: str, what_zh: str
) -> ProblemError:
    """A 422 for a filter naming a value its closed vocabulary lacks, listing the allowed."""
    shown = ", ".join(allowed)
    return ProblemError(
        "validation",
        f"{field}: no such {what} '{value}'; allowed: {shown}",
        detail_zh=f"{label_zh(field)}：没有此{what_zh}“{value}”；可选值：{'、'.join(allowed)}",
        errors=[
            {
                "field": f"query.{field}",
                "reason": f"no such {what} '{value}'; allowed: {shown}",
                "reason_zh": f"没有此{what_zh}“{value}”；可选值：{'、'.join(allowed)}",
                "type": "unknown_value",
                "allowed": allowed,
            }
        ],
    )
