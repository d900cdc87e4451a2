"""Cursor pagination: `?cursor=&limit=` in, `{items, next_cursor}` out."""

from __future__ import annotations

import base64
import binascii
import json
import operator
import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from kit.problems import ProblemError

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
# The pages a list's export (kit/exports.py) asks its own route for: larger than a client may
# ask (each page pays the whole request path once), still one page held at a time. Only the
# export sets the scope key that asks for them; a client's `limit` stays within MAX_LIMIT.
EXPORT_LIMIT = 2000
EXPORT_PAGE = "kit.export_page"


class Page(BaseModel, Generic[T]):
    """A page of results; pass `next_cursor` back as `cursor` for the next page (null at the end)."""

    items: list[T]
    next_cursor: str | None = None


def page_json(items: list[dict[str, Any]], next_cursor: str | None) -> bytes:
    """A page of plain rows as the JSON that FastAPI makes of `Page[Model]`, byte for byte,
    when each row holds the model's fields in its order with JSON-ready values (datetimes
    aware, dates, enums, nested dicts and lists): for the lists served most, which skip
    validating and serialising the page's models (the rows are read in that shape)."""
    return orjson.dumps({"items": items, "next_cursor": next_cursor}, option=orjson.OPT_UTC_Z)


def page_response(items: list[dict[str, Any]], next_cursor: str | None) -> Response:
    """`page_json` as the route's response (its `response_model` still documents it)."""
    return Response(page_json(items, next_cursor), media_type="application/json")


class PageParams(BaseModel):
    """Parsed paging parameters."""

    cursor: dict[str, Any] | None
    limit: int


def encode_cursor(key: dict[str, Any]) -> str:
    """Opaque cursor for the last row's sort key."""
    raw = json.dumps(key, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    """Inverse of `encode_cursor`; a tampered cursor is a 400 problem."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise ProblemError(
            "bad-request",
            "cursor is not one this API issued",
            detail_zh="翻页游标不是本接口签发的",
        ) from exc
    if not isinstance(value, dict):
        raise ProblemError(
            "bad-request",
            "cursor is not one this API issued",
            detail_zh="翻页游标不是本接口签发的",
        )
    return value


async def page_params(
    request: Request,
    cursor: Annotated[
        str | None,
        Query(
            description="Opaque cursor from a previous page's next_cursor",
            max_length=2000,
            pattern="^[A-Za-z0-9_-]*$",
            json_schema_extra={"format": "page-cursor"},
        ),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="Page size, 1–500")
    ] = DEFAULT_LIMIT,
) -> PageParams:
    """FastAPI dependency for the paging query parameters (an export's own pages are
    `EXPORT_LIMIT` long). A coroutine although it awaits nothing: FastAPI runs a plain
    `def` dependency in a worker thread, a hand-off that cost each list request more than
    the parsing (seen in py-spy profiles of the list routes)."""
    if request.scope.get(EXPORT_PAGE):
        limit = EXPORT_LIMIT
    return PageParams(cursor=decode_cursor(cursor) if cursor else None, limit=limit)


async def keyset_page(
    session: AsyncSession,
    query: Select[Any],
    *,
    keys: Sequence[InstrumentedAttribute[Any]],
    page: PageParams,
    descending: bool = False,
) -> tuple[list[Any], str | None]:
    """One page of `query` ordered by `keys` (unique together), resuming after the cursor.

    The cursor holds the last row's key values; a cursor from another list or a tampered one
    is a 400 problem.
    """
    values = cursor_values(page, keys)
    if values is not None:
        after = tuple_(*keys) < tuple_(*values) if descending else tuple_(*keys) > tuple_(*values)
        query = query.where(after)
    order = [k.desc() for k in keys] if descending else list(keys)
    rows = list((await session.scalars(query.order_by(*order).limit(page.limit + 1))).all())
    return page_of(rows, page, [k.key for k in keys], getattr)


def cursor_values(page: PageParams, keys: Sequence[InstrumentedAttribute[Any]]) -> list[Any] | None:
    """The key values the page resumes after (None on the first page), each of its column's
    type; a cursor from another list or a tampered one is a 400 problem."""
    if page.cursor is None:
        return None
    try:
        return [_from_json(k, page.cursor[k.key]) for k in keys]
    except (KeyError, ValueError, TypeError) as exc:
        raise ProblemError(
            "bad-request",
            "cursor is not one this list issued",
            detail_zh="翻页游标不是本列表签发的",
        ) from exc


def page_of(
    rows: list[R],
    page: PageParams,
    names: Sequence[str],
    get: Callable[[R, str], Any] = operator.getitem,  # type: ignore[assignment]
) -> tuple[list[R], str | None]:
    """`rows` fetched `page.limit + 1` at most, cut to the page, with the cursor after its last
    row (`get(row, name)` reads a key: `getitem` for dicts, `getattr` for ORM objects); no
    cursor when nothing is left."""
    if len(rows) <= page.limit:
        return rows, None
    rows = rows[: page.limit]
    last = rows[-1]
    return rows, encode_cursor({n: _to_json(get(last, n)) for n in names})


def _to_json(value: Any) -> Any:
    if isinstance(value, date):  # datetimes too
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _from_json(column: InstrumentedAttribute[Any], value: Any) -> Any:
    python_type = column.type.python_type
    if python_type is datetime:
        return datetime.fromisoformat(value)
    if python_type is date:
        return date.fromisoformat(value)
    if python_type is uuid.UUID:
        return uuid.UUID(str(value))
    if not isinstance(value, python_type):
        raise TypeError(f"cursor value for {column.key} has the wrong type")
    return value
