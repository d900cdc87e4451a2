"""One spreadsheet row → the inputs the registry's service functions take, or the reason
(field, zh-CN, en) it is refused. Pure: no database."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from kit.industries import INDUSTRY_NAMES, Industry
from kit.problem_text import FIELD_LABELS, reason_zh
from kit.uscc import UsccError
from kit.uscc import validate as validate_uscc
from services.registry.enterprises.schemas import EnterpriseIn, EnterprisePatch, SurveyIn
from services.registry.memberships.schemas import Decision

M = TypeVar("M", bound=BaseModel)


class Kind(StrEnum):
    """What a file holds."""

    enterprises = "enterprises"  # 企业名录 (with a year: that year's survey figures too)
    surveys = "surveys"  # 摸底调查 by year
    memberships = "memberships"  # 申请/准入 in bulk


# fields each kind reads; the others present in a file are reported as not used
FIELDS: dict[Kind, tuple[str, ...]] = {
    Kind.enterprises: (
        "uscc",
        "name",
        "legal_representative",
        "address",
        "contact_name",
        "contact_phone",
        "industry",
        "employees",
        "annual_export_usd",
        "hs_codes",
        "export_markets",
        "year",
        "annual_output_cny",
    ),
    Kind.surveys: (
        "uscc",
        "year",
        "employees",
        "annual_output_cny",
        "annual_export_usd",
        "hs_codes",
        "export_markets",
        "note",
    ),
    Kind.memberships: ("uscc", "zone", "decision", "note"),
}
REQUIRED: dict[Kind, tuple[str, ...]] = {
    Kind.enterprises: ("uscc", "name"),
    Kind.surveys: ("uscc", "year"),
    Kind.memberships: ("uscc", "zone"),
}
SURVEY_FIGURES = ("employees", "annual_output_cny", "annual_export_usd")
ENTERPRISE_FIELDS = (
    "name",
    "legal_representative",
    "address",
    "contact_name",
    "contact_phone",
    "industry",
    "employees",
    "annual_export_usd",
)
_INDUSTRY = {
    **{i.value: i for i in Industry},
    **{zh: i for i, (zh, _en) in INDUSTRY_NAMES.items()},
    **{en.casefold(): i for i, (_zh, en) in INDUSTRY_NAMES.items()},
    "汽配": Industry.auto_parts,
    "五金": Industry.hardware,
    "家具": Industry.furniture,
    "户外休闲用品": Industry.outdoor,
}
_DECISION = {"申请": "apply", "apply": "apply", "准入": "admit", "admit": "admit", "入区": "admit"}
_SPLIT = re.compile(r"[,，;；、/\s]+")


class RowError(Exception):
    """Why a row is refused: the field, and the reason in zh-CN and en."""

    def __init__(self, field: str | None, zh: str, en: str):
        super().__init__(en)
        self.field = field
        self.zh = zh
        self.en = en


@dataclass
class EnterpriseRow:
    """An enterprise row: the registration, the fields the file gives, a survey if a year."""

    uscc: str
    register: EnterpriseIn
    data: dict[str, Any]
    hs_codes: list[str] | None
    survey: SurveyIn | None

    @cached_property
    def given(self) -> EnterprisePatch:
        """The fields the file gives, as an update: validated only when the enterprise is
        registered already (a new one needs the registration alone), or `RowError`."""
        return _validated(EnterprisePatch, self.data)


@dataclass
class SurveyRow:
    """A survey row: whose, and the figures the file gives."""

    uscc: str
    survey: SurveyIn
    given: set[str]


@dataclass
class MembershipRow:
    """A membership row: apply, or apply and admit."""

    uscc: str
    zone: str
    admit: bool
    note: str | None


def zh_field(field: str | None) -> str:
    """A field's Chinese name, for reasons: its canonical heading (kit.problem_text's one
    table of field labels, which the import's heading table starts each field with)."""
    return FIELD_LABELS.get(field or "", field or "")


def _missing(field: str) -> RowError:
    return RowError(field, f"缺少必填项：{zh_field(field)}", f"{field} is required")


def _uscc(values: dict[str, str]) -> str:
    try:
        return validate_uscc(values["uscc"])
    except UsccError as exc:
        raise RowError("uscc", f"统一社会信用代码无效：{exc.zh}", f"invalid USCC: {exc}") from exc


def _number(text: str) -> str:
    return text.replace(",", "").replace("，", "").strip()


def _list(text: str, *, upper: bool = False) -> list[str]:
    items = [t for t in _SPLIT.split(text) if t]
    return [t.upper() for t in items] if upper else items


def _industry(text: str) -> str:
    found = _INDUSTRY.get(text.strip()) or _INDUSTRY.get(text.strip().casefold())
    if found is None:
        names = "、".join(zh for zh, _ in INDUSTRY_NAMES.values())
        raise RowError(
            "industry",
            f"行业“{text}”不在目录中（可填：{names}）",
            f"unknown industry '{text}' (one of: {', '.join(i.value for i in Industry)})",
        )
    return found.value


def _validated(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(p) for p in first["loc"]]
        field = loc[0] if loc else None
        msg, zh = first["msg"], reason_zh(first)
        if field == "uscc":
            raise RowError(field, f"统一社会信用代码无效：{zh}", f"invalid USCC: {msg}") from exc
        raise RowError(field, f"{zh_field(field)}取值无效：{zh}", f"{field}: {msg}") from exc


def _required(kind: Kind, values: dict[str, str]) -> None:
    for field in REQUIRED[kind]:
        if not values.get(field):
            raise _missing(field)


def _survey_data(values: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {"year": _number(values["year"])}
    for field in SURVEY_FIGURES:
        if values.get(field):
            data[field] = _number(values[field])
    if values.get("hs_codes"):
        data["products"] = [
            {"hs_code": c, "name": c} for c in dict.fromkeys(_list(values["hs_codes"]))
        ]
    if values.get("export_markets"):
        data["export_markets"] = _list(values["export_markets"], upper=True)
    if values.get("note"):
        data["notes"] = values["note"]
    return data


def parse_enterprise(values: dict[str, str]) -> EnterpriseRow:
    """An enterprise row, or `RowError`."""
    _required(Kind.enterprises, values)
    uscc = _uscc(values)
    # with a year, the figures are that year's survey's, not the enterprise's current ones
    fields = [f for f in ENTERPRISE_FIELDS if not (values.get("year") and f in SURVEY_FIGURES)]
    data: dict[str, Any] = {f: values[f] for f in fields if values.get(f)}
    if "industry" in data:
        data["industry"] = _industry(data["industry"])
    for field in ("employees", "annual_export_usd"):
        if field in data:
            data[field] = _number(data[field])
    hs_codes = _list(values["hs_codes"]) if values.get("hs_codes") else None
    markets = _list(values["export_markets"], upper=True) if values.get("export_markets") else None
    if markets is not None:
        data["export_markets"] = markets
    register = _validated(EnterpriseIn, {**data, "uscc": uscc, "hs_codes": hs_codes or []})
    survey = None
    if values.get("year"):
        survey = _validated(SurveyIn, _survey_data(values))
    return EnterpriseRow(uscc, register, data, hs_codes and register.hs_codes, survey)


def parse_survey(values: dict[str, str]) -> SurveyRow:
    """A survey row, or `RowError`."""
    _required(Kind.surveys, values)
    uscc = _uscc(values)
    data = _survey_data(values)
    return SurveyRow(uscc, _validated(SurveyIn, data), set(data) - {"year"})


def parse_membership(values: dict[str, str]) -> MembershipRow:
    """A membership row, or `RowError`."""
    _required(Kind.memberships, values)
    uscc = _uscc(values)
    decision = _DECISION.get(values.get("decision", "apply").strip().casefold())
    if decision is None:
        raise RowError(
            "decision",
            f"决定“{values['decision']}”无效（可填：申请、准入）",
            f"unknown decision '{values['decision']}' (apply or admit)",
        )
    return MembershipRow(
        uscc, values["zone"].strip(), decision == Decision.admit.value, values.get("note")
    )


def key_of(kind: Kind, values: dict[str, str]) -> str | None:
    """The key a row is idempotent by (a second row with it in one file is a duplicate):
    the USCC, with the year for surveys, with the zone for memberships."""
    uscc = values.get("uscc", "").strip().upper()
    if not uscc:
        return None
    if kind is Kind.surveys or (kind is Kind.enterprises and values.get("year")):
        return f"{uscc}/{_number(values.get('year', ''))}"
    if kind is Kind.memberships:
        return f"{uscc}/{values.get('zone', '').strip()}"
    return uscc
