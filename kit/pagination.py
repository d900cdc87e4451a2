"""Cursor pagination: `?cursor=&limit=` in, `{items, next_cursor}` out."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from kit.problems import ProblemError

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class Page(BaseModel, Generic[T]):
    """A page of results; pass `next_cursor` back as `cursor` for the next page (null at the end)."""

    items: list[T]
    next_cursor: str | None = None


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
        raise ProblemError("bad-request", "cursor is not one this API issued") from exc
    if not isinstance(value, dict):
        raise ProblemError("bad-request", "cursor is not one this API issued")
    return value


def page_params(
    cursor: Annotated[
        str | None, Query(description="Opaque cursor from a previous page's next_cursor")
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="Page size, 1–500")
    ] = DEFAULT_LIMIT,
) -> PageParams:
    """FastAPI dependency for the paging query parameters."""
    return PageParams(cursor=decode_cursor(cursor) if cursor else None, limit=limit)


def make_page(rows: list[T], limit: int, key: Any) -> tuple[list[T], str | None]:
    """Split a `limit + 1` fetch into the page and the next cursor built by `key(last_row)`."""
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor(key(rows[-1]))
    return rows, None
