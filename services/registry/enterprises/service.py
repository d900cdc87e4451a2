"""Enterprises: register, read, search, update; yearly surveys."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import orjson
from pydantic import BaseModel, TypeAdapter
from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    Table,
    Text,
    any_,
    bindparam,
    func,
    insert,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import NullType

from kit.auth import Principal
from kit.crypto import EncryptedString
from kit.db import Prepared, Reads, get_or_404, utcnow
from kit.events import (
    CloudEvent,
    EnterpriseRegistered,
    EnterpriseUpdated,
    SurveyRecorded,
    make_event,
)
from kit.outbox import emit, emit_for, outbox_row
from kit.pagination import PageParams, cursor_values, keyset_page, page_of
from kit.pii import masked, sees_personal_data
from kit.problems import Conflict, NotFound, invalid
from kit.uscc import UsccError, normalize, validate_organisation_code
from services.registry import personal
from services.registry.config import settings
from services.registry.enterprises.models import Enterprise, Survey
from services.registry.enterprises.schemas import (
    Certification,
    EnterpriseIn,
    EnterpriseOut,
    EnterprisePatch,
    Product,
    SurveyIn,
)
from services.registry.events import SOURCE, publish
from services.registry.memberships.models import Membership


def _hs_codes(products: Sequence[dict[str, object]]) -> list[str]:
    return sorted({str(p["hs_code"]) for p in products})


async def admitted_zones(session: AsyncSession, usccs: list[str]) -> dict[str, list[str]]:
    """Zones where each enterprise is an admitted member."""
    if not usccs:
        return {}
    zones: dict[str, list[str]] = {}
    for row in await _ADMITTED_OF.all(session, usccs=usccs):
        zones.setdefault(row["uscc"], []).append(row["zone_code"])
    return zones


# A page's memberships, in one statement compiled once (kit.db.Prepared)
_ADMITTED_OF = Prepared(
    select(Membership.uscc, Membership.zone_code)
    .where(
        Membership.uscc == any_(bindparam("usccs", type_=ARRAY(String))),
        Membership.status == "admitted",
    )
    .order_by(Membership.zone_code)
)
_VIEWS = TypeAdapter(list[EnterpriseOut])


async def to_out(
    session: AsyncSession,
    enterprises: list[Enterprise],
    *,
    principal: Principal,
    zones: dict[str, list[str]] | None = None,
) -> list[EnterpriseOut]:
    """API views, each with its admitted zones (looked up unless given), personal fields
    masked unless `principal` may see them (the enterprise itself, the office, the owning
    agency)."""
    if zones is None:
        zones = await admitted_zones(session, [e.uscc for e in enterprises])
    items = _VIEWS.validate_python(enterprises, from_attributes=True)  # a page in one call
    for item in items:
        item.zones = zones.get(item.uscc, [])
    return await _shown(session, items, principal)


async def _shown(
    session: Reads, items: list[EnterpriseOut], principal: Principal
) -> list[EnterpriseOut]:
    owners = {i.uscc: i.owner_agency for i in items}
    view = await personal.viewer(session, principal, owners=owners)
    return [view.show(i, i.uscc, personal.ENTERPRISE_MASKS) for i in items]


# The zones an enterprise is admitted to, beside it in the same statement.
_ADMITTED = (
    select(func.array_agg(aggregate_order_by(Membership.zone_code, Membership.zone_code)))
    .where(Membership.uscc == Enterprise.uscc, Membership.status == "admitted")
    .scalar_subquery()
)


# One enterprise and its admitted zones, the statement the key lookup runs (kit.db.Prepared).
_ONE = Prepared(
    select(Enterprise.__table__, _ADMITTED.label("zones")).where(
        Enterprise.uscc == bindparam("uscc")
    )
)


async def view(session: Reads, uscc: str, principal: Principal) -> EnterpriseOut:
    """An enterprise by USCC (normalised) with its admitted zones, as `principal` may see
    it, in one round trip (the key lookup runs it on the read pool, without a session);
    or 404."""
    key = normalize(uscc)
    rows = await _ONE.all(session, uscc=key)
    if not rows:
        raise NotFound("enterprise", key)
    row = rows[0]
    row["zones"] = row["zones"] or []
    return (await _shown(session, [EnterpriseOut.model_validate(row)], principal))[0]


async def get(session: AsyncSession, uscc: str, *, for_update: bool = False) -> Enterprise:
    """An enterprise by USCC (normalised), or 404; `for_update` locks the row."""
    key = normalize(uscc)
    return await get_or_404(session, Enterprise, key, "enterprise", for_update=for_update)


def _new_row(enterprise_in: EnterpriseIn, owner_agency: str | None) -> dict[str, Any]:
    data = enterprise_in.model_dump(mode="json")
    listed = {p["hs_code"] for p in data["products"]}
    data["products"] += [  # bare HS codes become product lines named by their code
        {"hs_code": code, "name": code, "brand": None}
        for code in dict.fromkeys(data.pop("hs_codes"))
        if code not in listed
    ]
    return {**data, "hs_codes": _hs_codes(data["products"]), "owner_agency": owner_agency}


def _new_enterprise(enterprise_in: EnterpriseIn, owner_agency: str | None) -> Enterprise:
    return Enterprise(**_new_row(enterprise_in, owner_agency))


REGISTERED_FIELDS = ("uscc", "name", "industry", "hs_codes", "export_markets")
RECORDED_FIELDS = ("uscc", "year", "annual_export_usd", "quality")


def _fields(row: object, names: Sequence[str]) -> dict[str, Any]:
    """An ORM row's fields as an event reads them from a dict (an import's inserted rows)."""
    return {n: getattr(row, n) for n in names}


def _registered(enterprise: Enterprise | dict[str, Any]) -> CloudEvent:
    row = enterprise if isinstance(enterprise, dict) else _fields(enterprise, REGISTERED_FIELDS)
    return make_event(
        source=SOURCE,
        type="registry.enterprise.registered.v1",
        subject=row["uscc"],
        data=EnterpriseRegistered(
            uscc=row["uscc"],
            name=row["name"],
            industry=row["industry"],
            hs_codes=row["hs_codes"],
            export_markets=row["export_markets"],
        ),
    )


async def register(
    session: AsyncSession, *, enterprise_in: EnterpriseIn, owner_agency: str | None = None
) -> Enterprise:
    """Register an enterprise, owned by `owner_agency` (the registering agency; none when it
    registers itself); 409 if its USCC is already registered (the primary key says so)."""
    return (await register_many(session, [enterprise_in], owner_agency=owner_agency))[0]


# A registration and its `registry.enterprise.registered` event in one prebuilt statement
# (kit.db.Prepared): the row if its USCC is free (else nothing, and so no event), the event
# for the row inserted. Encryption of the personal fields is the columns' bind processing.
_ENTERPRISES = cast(Table, Enterprise.__table__)
_INSERTED = (
    "uscc",
    "name",
    "address",
    "legal_representative",
    "contact_name",
    "contact_phone",
    "owner_agency",
    "industry",
    "employees",
    "annual_export_usd",
    "products",
    "hs_codes",
    "export_markets",
    "certifications",
    "version",
    "created_at",
    "updated_at",
)
_NEW = (
    pg_insert(_ENTERPRISES)
    .values({n: bindparam(f"e_{n}", type_=_ENTERPRISES.c[n].type) for n in _INSERTED})
    .on_conflict_do_nothing(index_elements=[_ENTERPRISES.c.uscc])
    .returning(_ENTERPRISES.c.uscc)
    .cte("registered")
)
_REGISTER = Prepared(select(_NEW.c.uscc).add_cte(emit_for(_NEW)))


async def register_one(
    session: AsyncSession,
    *,
    enterprise_in: EnterpriseIn,
    owner_agency: str | None,
    principal: Principal,
) -> EnterpriseOut:
    """`register` for `POST /v1/enterprises`, as `principal` sees the result: the same row
    and event in one round trip, no ORM object, and nothing read back (the row is what was
    sent; a new enterprise is in no zone). When the request has run no statement before it,
    that statement is its transaction; run nothing after it. 409 if the USCC is registered,
    422 naming `uscc` if it fails the enforced organisation-code check."""
    check_organisation(enterprise_in.uscc)
    now = utcnow()
    row = {**_new_row(enterprise_in, owner_agency), "version": 1}
    row["created_at"] = row["updated_at"] = now
    event = outbox_row(_registered(row), now)
    inserted = await _REGISTER.all(
        session,
        **{f"e_{n}": row[n] for n in _INSERTED},
        **{f"event_{n}": v for n, v in event.items()},
    )
    if not inserted:
        raise Conflict(
            f"enterprise {row['uscc']} is already registered",
            detail_zh=f"企业 {row['uscc']} 已登记",
            uscc=row["uscc"],
        )
    out = EnterpriseOut.model_validate({**row, "credit_level": None, "zones": []})
    # The registering caller owns the record (or is the enterprise, an admin, an inspector):
    # whether it sees the personal fields never depends on the zone office, so no lookup.
    if sees_personal_data(principal, uscc=out.uscc, owner_agency=owner_agency, office_agencies=()):
        return out
    return masked(out, personal.ENTERPRISE_MASKS)


def organisation_check_error(uscc: str) -> UsccError | None:
    """Why a new registration's USCC fails the GB 11714 check of its embedded organisation
    code, when `REGISTRY_USCC_ORG_CHECK` enforces it (rows already registered are never
    rechecked); None when it passes or is not enforced."""
    if not settings.uscc_org_check:
        return None
    try:
        validate_organisation_code(uscc)
    except UsccError as exc:
        return exc
    return None


def check_organisation(uscc: str) -> None:
    """422 naming `uscc` when a new registration's USCC fails the enforced GB 11714 check
    (`organisation_check_error`)."""
    error = organisation_check_error(uscc)
    if error is not None:
        raise invalid(
            "uscc",
            f"invalid unified social credit code (USCC) {uscc}: {error}",
            f"统一社会信用代码 {uscc} 无效：{error.zh}",
        )


async def register_many(
    session: AsyncSession, enterprises_in: Sequence[EnterpriseIn], *, owner_agency: str | None
) -> list[Enterprise]:
    """Register several enterprises at once (an import's batch): one INSERT for the rows and
    one for their `registry.enterprise.registered` events; 409 if any USCC is registered,
    422 naming `uscc` if one fails the enforced organisation-code check."""
    for enterprise_in in enterprises_in:
        check_organisation(enterprise_in.uscc)
    enterprises = [_new_enterprise(e, owner_agency) for e in enterprises_in]
    session.add_all(enterprises)
    try:
        await session.flush()
    except IntegrityError as exc:
        usccs = [e.uscc for e in enterprises_in]
        if len(usccs) == 1:
            raise Conflict(
                f"enterprise {usccs[0]} is already registered",
                detail_zh=f"企业 {usccs[0]} 已登记",
                uscc=usccs[0],
            ) from exc
        raise Conflict(
            f"one of {', '.join(usccs[:5])}{' …' if len(usccs) > 5 else ''} is already registered",
            detail_zh=f"{'、'.join(usccs[:5])}{'等' if len(usccs) > 5 else ''}中有企业已登记",
        ) from exc
    await emit(session, *(_registered(e) for e in enterprises))
    return enterprises


async def insert_registrations(
    session: AsyncSession, enterprises_in: Sequence[EnterpriseIn], *, owner_agency: str | None
) -> None:
    """`register_many` for an import's batch, without ORM objects: the same rows and the
    same events, as one multi-row INSERT of the rows and one of their events. Returns
    nothing: a caller that needs one of them reads it."""
    for enterprise_in in enterprises_in:
        check_organisation(enterprise_in.uscc)
    rows = [_new_row(e, owner_agency) for e in enterprises_in]
    if not rows:
        return
    try:
        await session.execute(insert(cast(Table, Enterprise.__table__)), rows)
    except IntegrityError as exc:
        usccs = [r["uscc"] for r in rows]
        raise Conflict(
            f"one of {', '.join(usccs[:5])}{' …' if len(usccs) > 5 else ''} is already registered",
            detail_zh=f"{'、'.join(usccs[:5])}{'等' if len(usccs) > 5 else ''}中有企业已登记",
        ) from exc
    await emit(session, *(_registered(r) for r in rows))


async def update(
    session: AsyncSession, enterprise: Enterprise, *, patch: EnterprisePatch
) -> Enterprise:
    """Apply a partial update and emit `registry.enterprise.updated`."""
    changes = patch.model_dump(mode="json", exclude_unset=True)
    changed = [f for f, v in changes.items() if getattr(enterprise, f) != v]
    for field in changed:
        setattr(enterprise, field, changes[field])
    if "products" in changed:
        enterprise.hs_codes = _hs_codes(enterprise.products)
    if not changed:
        return enterprise
    await session.flush()
    await publish(
        session,
        "registry.enterprise.updated.v1",
        enterprise.uscc,
        EnterpriseUpdated(
            uscc=enterprise.uscc,
            changed=changed,
            version=enterprise.version,
        ),
    )
    return enterprise


async def search(
    on: Reads,
    *,
    page: PageParams,
    principal: Principal,
    q: str | None,
    industry: str | None,
    zone: str | None,
    level: str | None,
    hs_code: str | None,
    market: str | None,
    only_uscc: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Filtered keyset page ordered by USCC, as `principal` may see it: the rows and their
    admitted zones in one statement (kit.db.Prepared, one per set of filters given, on a
    session or the read pool), each row already `EnterpriseOut`'s fields in its order with
    JSON-ready values (`kit.pagination.page_json`), its personal fields masked unless
    `principal` may see them. No model is built: the products and certifications come as
    JSON text in their models' field order, decoded by orjson."""
    params: dict[str, Any] = {
        "only_uscc": only_uscc or None,
        "q": _like(q) if q else None,
        "industry": industry or None,
        "level": level or None,
        "hs_code": [hs_code] if hs_code else None,
        "market": [market.upper()] if market else None,
        "zone": zone or None,
    }
    after = cursor_values(page, [Enterprise.uscc])
    if after is not None:
        params["after"] = after[0]
    given = {k: v for k, v in params.items() if v is not None}
    rows = await _listing(frozenset(given)).all(on, **given, limit=page.limit + 1)
    rows, next_cursor = page_of(rows, page, ["uscc"])
    view = await personal.viewer(on, principal, owners={r["uscc"]: r["owner_agency"] for r in rows})
    for row in rows:
        row["products"] = orjson.loads(row["products"])
        row["certifications"] = orjson.loads(row["certifications"])
        row["zones"] = row["zones"] or []
        shown = view.sees(row["uscc"])
        for field, encrypted, mask in _PERSONAL:  # the page's rows only, not the one past it
            value = row[field]
            if value is None:
                continue
            if encrypted is not None:
                value = encrypted.keys.get().decrypt(value, context=encrypted.context)
            row[field] = value if shown or mask is None else mask(value)
    return rows, next_cursor


def _like(q: str) -> str:
    """`q` as an ILIKE pattern matching it anywhere, its wildcards taken literally."""
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


# the list's statement for each set of filters given, built and compiled once
_LISTINGS: dict[frozenset[str], Prepared] = {}


def _listing(given: frozenset[str]) -> Prepared:
    prepared = _LISTINGS.get(given)
    if prepared is None:
        prepared = _LISTINGS[given] = Prepared(_list_statement(given))
    return prepared


def _in_order(column: str, model: type[BaseModel]) -> ColumnElement[str]:
    """A JSONB array of objects as JSON text with each object's members in `model`'s field
    order (missing ones null, as the model would default them), in the array's order."""
    members = ", ".join(f"'{name}', e->'{name}'" for name in model.model_fields)
    sql = (  # names are the code's: a model's fields, a column
        f"(SELECT coalesce(json_agg(json_build_object({members}) ORDER BY n), '[]')::text "  # noqa: S608
        f"FROM jsonb_array_elements(enterprises.{column}) WITH ORDINALITY AS x(e, n))"
    )
    return literal_column(sql, type_=Text)


def _as_read(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """`column` read as asyncpg gives it, without SQLAlchemy's result processing: an array
    is already a list (the processor copied it, twice); an encrypted column stays as
    stored, for `search` to decrypt only what a page shows."""
    if isinstance(column.type, ARRAY | EncryptedString):
        return type_coerce(column, NullType())
    return column


# A list row's columns: `EnterpriseOut`'s fields, in its order
_NESTED: dict[str, type[BaseModel]] = {"products": Product, "certifications": Certification}
_LIST_COLUMNS = [
    _as_read(_ADMITTED).label("zones")
    if name == "zones"
    else _in_order(name, _NESTED[name]).label(name)
    if name in _NESTED
    else _as_read(_ENTERPRISES.c[name]).label(name)
    for name in EnterpriseOut.model_fields
]
# A list row's personal fields: each with its column's type if encrypted (read as stored;
# the type decrypts) and its mask for callers not shown it in full
_PERSONAL = [
    (name, column_type if isinstance(column_type, EncryptedString) else None, mask)
    for name in EnterpriseOut.model_fields
    if name in _ENTERPRISES.c
    for column_type, mask in [(_ENTERPRISES.c[name].type, personal.ENTERPRISE_MASKS.get(name))]
    if isinstance(column_type, EncryptedString) or mask is not None
]


def _list_statement(given: frozenset[str]) -> Select[Any]:
    """The enterprises matching the filters in `given`, with their admitted zones, after the
    cursor's USCC, in USCC order, `limit` of them."""
    conditions: dict[str, ColumnElement[bool]] = {
        "only_uscc": Enterprise.uscc == bindparam("only_uscc", type_=String),
        "q": Enterprise.name.ilike(bindparam("q", type_=String)),
        "industry": Enterprise.industry == bindparam("industry", type_=String),
        "level": Enterprise.credit_level == bindparam("level", type_=String),
        "hs_code": Enterprise.hs_codes.contains(bindparam("hs_code", type_=ARRAY(String))),
        "market": Enterprise.export_markets.contains(bindparam("market", type_=ARRAY(String))),
        "zone": select(Membership.id)
        .where(
            Membership.uscc == Enterprise.uscc,
            Membership.zone_code == bindparam("zone", type_=String),
            Membership.status == "admitted",
        )
        .exists(),
        "after": Enterprise.uscc > bindparam("after", type_=String),
    }
    return (
        select(*_LIST_COLUMNS)
        .where(*(condition for name, condition in conditions.items() if name in given))
        .order_by(Enterprise.uscc)
        .limit(bindparam("limit", type_=Integer))
    )


async def add_survey(
    session: AsyncSession, enterprise: Enterprise, *, survey_in: SurveyIn, principal: Principal
) -> Survey:
    """Record a year's survey; 409 if that year is already recorded (use PUT to replace)."""
    existing = await session.scalar(
        select(Survey).where(Survey.uscc == enterprise.uscc, Survey.year == survey_in.year)
    )
    if existing is not None:
        raise Conflict(
            f"a {survey_in.year} survey of {enterprise.uscc} exists; PUT replaces it",
            detail_zh=f"{enterprise.uscc} 的 {survey_in.year} 年摸底调查已存在；用 PUT 替换",
        )
    survey = Survey(
        uscc=enterprise.uscc, recorded_by=principal.subject, **survey_in.model_dump(mode="json")
    )
    session.add(survey)
    await session.flush()
    await _survey_recorded(session, survey)
    return survey


async def add_surveys(
    session: AsyncSession, surveys_in: Sequence[tuple[str, SurveyIn]], *, principal: Principal
) -> list[Survey]:
    """Record the first survey of each year for enterprises just registered (an import's
    batch, `(uscc, survey)` with no survey of that year yet): one INSERT for the rows and one
    for their `registry.survey.recorded` events; 409 if one exists."""
    surveys = [
        Survey(uscc=uscc, recorded_by=principal.subject, **s.model_dump(mode="json"))
        for uscc, s in surveys_in
    ]
    if not surveys:
        return []
    session.add_all(surveys)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("a survey of that year exists; PUT replaces it") from exc
    await emit(session, *(_recorded(s) for s in surveys))
    return surveys


def _count(quality: dict[str, object], key: str) -> int | None:
    value = quality.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _recorded(survey: Survey | dict[str, Any]) -> CloudEvent:
    row = survey if isinstance(survey, dict) else _fields(survey, RECORDED_FIELDS)
    quality = row.get("quality") or {}
    return make_event(
        source=SOURCE,
        type="registry.survey.recorded.v1",
        subject=row["uscc"],
        data=SurveyRecorded(
            uscc=row["uscc"],
            year=row["year"],
            annual_export_usd=row.get("annual_export_usd"),
            foreign_notifications=_count(quality, "foreign_notifications"),
            returns=_count(quality, "returns"),
        ),
    )


async def insert_surveys(
    session: AsyncSession, surveys_in: Sequence[tuple[str, SurveyIn]], *, principal: Principal
) -> None:
    """Record the first survey of each year for enterprises just registered (an import's
    batch, `(uscc, survey)` with no survey of that year yet), without ORM objects: one
    multi-row INSERT for the rows and one for their `registry.survey.recorded` events; 409
    if one exists."""
    rows = [
        {"uscc": uscc, "recorded_by": principal.subject, **s.model_dump(mode="json")}
        for uscc, s in surveys_in
    ]
    if not rows:
        return
    try:
        await session.execute(insert(cast(Table, Survey.__table__)), rows)
    except IntegrityError as exc:
        raise Conflict("a survey of that year exists; PUT replaces it") from exc
    await emit(session, *(_recorded(r) for r in rows))


async def _survey_recorded(session: AsyncSession, survey: Survey) -> None:
    """Announce the survey's yearly figures (zone KPIs fall back on them without batches)."""
    await emit(session, _recorded(survey))


async def put_survey(
    session: AsyncSession, enterprise: Enterprise, *, survey_in: SurveyIn, principal: Principal
) -> Survey:
    """Create or replace the survey of `survey_in.year`."""
    survey = await session.scalar(
        select(Survey).where(Survey.uscc == enterprise.uscc, Survey.year == survey_in.year)
    )
    if survey is None:
        return await add_survey(session, enterprise, survey_in=survey_in, principal=principal)
    for field, value in survey_in.model_dump(mode="json").items():
        setattr(survey, field, value)
    survey.recorded_by = principal.subject
    await session.flush()
    await _survey_recorded(session, survey)
    return survey


async def list_surveys(
    session: AsyncSession, uscc: str, *, page: PageParams
) -> tuple[list[Survey], str | None]:
    """An enterprise's surveys, newest year first."""
    query = select(Survey).where(Survey.uscc == uscc)
    return await keyset_page(session, query, keys=[Survey.year], page=page, descending=True)
