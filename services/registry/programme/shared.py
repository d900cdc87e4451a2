"""What the programme's rooms share: person-written text that refuses blanks, the zone
code's pattern, the China calendar day, an insert that tolerates a concurrent twin, and the
HTTP dependencies (who reads and writes, paging, the common query parameters)."""

from datetime import date
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query
from pydantic import AfterValidator, Field
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal, ensure_office, require
from kit.db import get_or_404, utcnow
from kit.pagination import PageParams, page_params
from kit.problem_text import BilingualError
from kit.uscc import normalize
from kit.validation import AGENCY_PATTERN, CHINA
from services.registry.agencies.models import Agency
from services.registry.base import Base
from services.registry.zones.filters import KnownZone

# --- schemas: shared field types ------------------------------------------------------

ZONE_CODE = r"^[a-z0-9][a-z0-9_-]{1,59}$"


def _stripped(value: str) -> str:
    stripped = value.strip()
    if not stripped:
        raise BilingualError("must not be blank", "不能为空白")
    return stripped


def _not_blank(value: str) -> str:
    if not value.strip():
        raise BilingualError("must not be blank", "不能为空白")
    return value


# The schema says "has a non-space character", so generated clients and fuzzers know.
_HAS_TEXT = Field(json_schema_extra={"pattern": r"\S"})
# Text a person wrote (a title, a duty, evidence): kept without surrounding whitespace; blank
# (only whitespace) is refused, as agenda items are.
NonBlank = Annotated[str, AfterValidator(_stripped), _HAS_TEXT]
# Text kept with its SHA-256 (minutes, a standard's text): blank is refused, the rest is
# kept exactly as sent so the caller's own hash of it matches.
NonBlankExact = Annotated[str, AfterValidator(_not_blank), _HAS_TEXT]


# --- service: shared helpers ---------------------------------------------------------

M = TypeVar("M", bound=Base)


def today() -> date:
    """Today in Ninghai (China calendar day): deadlines and 'overdue' are counted in it."""
    return utcnow().astimezone(CHINA).date()


async def get_agency(session: AsyncSession, code: str) -> Agency:
    """An agency, or 404."""
    return await get_or_404(session, Agency, code, "agency")


def round4(numerator: int, denominator: int) -> float | None:
    """A rate to 4 decimals; None when there is nothing to divide by."""
    return round(numerator / denominator, 4) if denominator else None


async def insert_new(session: AsyncSession, model: type[M], **values: Any) -> M | None:
    """Insert a row unless one with the same key exists, a concurrent request's included:
    the new row, or None. ON CONFLICT DO NOTHING waits for the other transaction and leaves
    this one usable, where a failed flush would roll it back (and a 500 would follow)."""
    statement = insert(model).values(**values).on_conflict_do_nothing().returning(model)
    return await session.scalar(statement)


# --- router: shared dependencies ------------------------------------------------------

Reader = Annotated[Principal, Depends(require("registry:read"))]
Writer = Annotated[Principal, Depends(require("registry:write"))]
Admin = Annotated[Principal, Depends(require("admin"))]
Paging = Annotated[PageParams, Depends(page_params)]


async def officer_reader(principal: Reader) -> Principal:
    """registry:read held by the zone office or an agency (the group's own records)."""
    ensure_office(principal)
    return principal


async def officer_writer(principal: Writer) -> Principal:
    """registry:write held by the zone office or an agency, not an enterprise or inspector."""
    ensure_office(principal)
    return principal


OfficerReader = Annotated[Principal, Depends(officer_reader)]
OfficerWriter = Annotated[Principal, Depends(officer_writer)]
ZoneQuery = KnownZone  # a zone the registry does not hold is a 422 listing those it does
AgencyQuery = Annotated[str | None, Query(pattern=AGENCY_PATTERN, description="Agency code")]
UsccQuery = Annotated[str | None, Query(max_length=18, description="Enterprise (USCC)")]


def not_found(what: str) -> dict[int | str, dict[str, Any]]:
    """The `responses` entry of an endpoint that answers 404 for `what`."""
    return {404: {"description": f"{what} not found"}}


def own_uscc(principal: Principal, uscc: str | None) -> str | None:
    """An enterprise token sees only its own rows, whatever it asked for."""
    if principal.uscc is not None:
        return principal.uscc
    return normalize(uscc) if uscc else None
