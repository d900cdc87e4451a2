"""Every list as a spreadsheet: `Accept: text/csv` or `?format=csv|xlsx` on any `GET` route
whose answer is a `Page[...]` streams the whole list, with the JSON's filters and access rules.

`ExportMiddleware` sits just outside the routes of every app (`kit.app`). For an export it
calls the same route again and again as an ordinary JSON request (the `next_cursor` of the
last page as `cursor`), so the route's own dependencies check the token, its filters apply
and its keyset pages walk the list: at most two pages are held, the next one read while
this one's rows are written out. Those pages are `kit.pagination.EXPORT_LIMIT` (2,000) rows long,
longer than a client may ask for: each page pays the route's whole request path once. The first page decides the answer: a problem
there (401, 403, 422…) is the answer as it is; after it, the file streams.

Columns are the item schema's fields in its order; a `*_name…` field of a code stands beside
the code, and a code with a vocabulary (industry, stage, status…) gets its name in the
caller's language beside it. Headings are in the negotiated language (`Accept-Language`):
Chinese from `kit.problem_text.FIELD_LABELS`, English as the JSON field names. Times are
China time (Asia/Shanghai), said in the heading; text cells go through
`kit.spreadsheets.neutralise` (formula injection). The file name is the list's path and the
China date (`Content-Disposition: attachment; filename*=UTF-8''…`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import quote, urlencode

import orjson
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter
from starlette.datastructures import Headers, QueryParams
from starlette.requests import Request
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kit import vocabulary
from kit.http import routes_of
from kit.pagination import EXPORT_PAGE, MAX_LIMIT, Page
from kit.problem_text import FIELD_LABELS
from kit.problems import problem_response, wants_chinese
from kit.spreadsheets import BOM, CSV_TYPE, XLSX_TYPE, XlsxStream, csv_chunk
from kit.validation import CHINA

log = logging.getLogger("kit.exports")

Format = Literal["json", "csv", "xlsx"]
FORMATS: tuple[Format, ...] = ("json", "csv", "xlsx")
JSON_TYPES = ("application/json", "application/problem+json", "application/*", "*/*")
MEDIA: dict[str, Format] = {"text/csv": "csv", XLSX_TYPE: "xlsx"}
# the query parameters an export leaves out of the pages it asks for
PAGING = frozenset({"format", "limit"})

LEADING = ("id", "code", "uscc")
# a code field -> the vocabulary its names come from (kit/vocabulary.py)
NAMED_CODES: dict[str, vocabulary.Names] = {
    "industry": vocabulary.INDUSTRIES,
    "industries": vocabulary.INDUSTRIES,
    "stage": vocabulary.STAGES,
    "from_stage": vocabulary.STAGES,
    "to_stage": vocabulary.STAGES,
    "status": vocabulary.STATUSES,
    "severity": vocabulary.SEVERITIES,
    "outcome": vocabulary.STATUSES,
    "verdict": vocabulary.INSPECTIONS,
    "credit_level": vocabulary.CREDIT_LEVELS,
}


class NotAcceptable(Exception):
    """The `Accept` header names neither JSON nor a spreadsheet."""


def negotiate(format_param: str | None, accept: str | None) -> Format:
    """The answer's format: `?format=` when given, else the `Accept` header's most preferred
    of JSON, CSV and .xlsx (JSON on a tie or no header); `NotAcceptable` when it names none.
    An unknown `format` is the caller's to check (`ValueError`)."""
    if format_param is not None:
        if format_param not in FORMATS:
            raise ValueError(format_param)
        return format_param
    if not accept or not accept.strip():
        return "json"
    best: Format | None = None
    best_key: tuple[float, bool, int] = (0.0, False, 0)
    for order, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        media = media.lower()
        found: Format | None = "json" if media in JSON_TYPES else MEDIA.get(media)
        if found is None or q <= 0:
            continue
        # the caller's preference; on equal q a type named outright over a wildcard, then
        # the one named first
        key = (q, media not in ("*/*", "application/*"), -order)
        if best is None or key > best_key:
            best, best_key = found, key
    if best is None:
        raise NotAcceptable(accept)
    return best


@dataclass(frozen=True)
class Column:
    """One column: the JSON field it reads (or names a code of), its heading, how to write it."""

    key: str
    heading: str
    kind: Literal["value", "scalar", "time", "name"] = "value"
    names: vocabulary.Names | None = None


def _label(key: str, chinese: bool) -> str:
    if not chinese:
        return key
    if key in FIELD_LABELS:
        return FIELD_LABELS[key]
    for suffix, zh in (
        ("_name_zh", "名称（中文）"),
        ("_name_en", "名称（英文）"),
        ("_name", "名称"),
    ):
        if key.endswith(suffix) and key.removesuffix(suffix) in FIELD_LABELS:
            return FIELD_LABELS[key.removesuffix(suffix)] + zh
    for suffix, zh in (("_zh", "（中文）"), ("_en", "（英文）"), ("_id", "编号"), ("_at", "时间")):
        if key.endswith(suffix) and key.removesuffix(suffix) in FIELD_LABELS:
            return FIELD_LABELS[key.removesuffix(suffix)] + zh
    return key


def _is_time(schema: dict[str, Any]) -> bool:
    options = schema.get("anyOf", [schema])
    return any(o.get("format") == "date-time" for o in options if isinstance(o, dict))


SCALARS = frozenset({"string", "integer", "number", "boolean", "null"})


def _is_scalar(schema: dict[str, Any], defs: dict[str, Any]) -> bool:
    """A field that is a string, a number, a boolean or an enum (or null): written as it is."""
    for option in schema.get("anyOf", [schema]):
        if not isinstance(option, dict):
            return False
        if "$ref" in option:
            option = defs.get(str(option["$ref"]).rsplit("/", 1)[-1], {})
        if option.get("type") not in SCALARS:
            return False
    return True


def columns(item: type[BaseModel], *, chinese: bool) -> list[Column]:
    """The columns of a list of `item`s, in the caller's language."""
    schema = TypeAdapter(item).json_schema(mode="serialization")
    properties: dict[str, Any] = schema.get("properties", {})
    defs: dict[str, Any] = schema.get("$defs", {})
    # the row's key first (a person finds a row by it), then the schema's order
    keys = [k for k in LEADING if k in properties] + [k for k in properties if k not in LEADING]
    # a code's names (`level_name_zh`, `industry_name`) move beside the code
    ordered: list[str] = []
    for key in keys:
        if key in ordered:
            continue
        ordered.append(key)
        ordered += [k for k in keys if k.startswith(f"{key}_name") and k not in ordered]
    out: list[Column] = []
    for key in ordered:
        time = _is_time(properties[key])
        heading = _label(key, chinese)
        if time:
            heading += "（北京时间）" if chinese else " (China time)"
        kind: Literal["value", "scalar", "time"] = (
            "time" if time else "scalar" if _is_scalar(properties[key], defs) else "value"
        )
        out.append(Column(key, heading, kind))
        names = NAMED_CODES.get(key)
        if names is not None and not any(k.startswith(f"{key}_name") for k in keys):
            out.append(Column(key, _label(f"{key}_name", chinese), "name", names))
    return out


# China has kept UTC+8 without daylight saving since 1991: a fixed offset reads the same as
# Asia/Shanghai (kit.vocabulary.china_time) for every time the platform holds, and is cheaper
# a hundred thousand times over
CHINA_OFFSET = timezone(timedelta(hours=8))


@lru_cache(maxsize=4096)
def _time(value: Any) -> Any:
    """An ISO 8601 time as `2026-12-07 16:30:00` China time; anything else as given.
    Remembered: the rows of an import or a day's work share their times, and a row's
    `created_at` is often its `updated_at`."""
    if not isinstance(value, str):
        return value
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(CHINA_OFFSET).isoformat(sep=" ", timespec="seconds")[:19]


def _nested(value: Any) -> Any:
    """A list of codes joined with `; `; objects (and lists of them) as JSON text."""
    if isinstance(value, list):
        if all(not isinstance(v, dict | list) for v in value):
            return "; ".join(str(v) for v in value)
        return orjson.dumps(value).decode()
    if isinstance(value, dict):
        return orjson.dumps(value).decode()
    return value


def row_maker(cols: Sequence[Column], *, lang: str) -> Callable[[dict[str, Any]], list[Any]]:
    """A function making one row from a JSON item: each column's value as a person reads it
    in a spreadsheet, decided once per column, not once per cell. It is one generated
    expression (`[item.get('uscc'), _time(item.get('created_at')), …]`): a hundred thousand
    rows through a getter per cell spent most of the export's formatting time in calls."""
    index = vocabulary.index(lang)

    def named(names: vocabulary.Names) -> Callable[[Any], Any]:
        def name(value: Any) -> Any:
            codes = value if isinstance(value, list) else [value]
            return "; ".join(
                names[c][index] if c in names else str(c) for c in codes if c is not None
            )

        return name

    helpers: dict[str, Any] = {"_time": _time, "_nested": _nested}
    cells: list[str] = []
    for n, col in enumerate(cols):
        value = f"item.get({col.key!r})"  # the key is a schema's field name, quoted by repr
        if col.kind == "name" and col.names is not None:
            helpers[f"_name{n}"] = named(col.names)
            cells.append(f"_name{n}({value})")
        elif col.kind == "time":
            cells.append(f"_time({value})")
        elif col.kind == "scalar":
            cells.append(value)
        else:
            cells.append(f"_nested({value})")
    source = f"lambda item: [{', '.join(cells)}]"
    made: Callable[[dict[str, Any]], list[Any]] = eval(source, helpers)  # noqa: S307
    return made


def cells(item: dict[str, Any], cols: Sequence[Column], *, lang: str) -> list[Any]:
    """One row from a JSON item (`row_maker`, for a single row)."""
    return row_maker(cols, lang=lang)(item)


def file_name(path: str, suffix: str, now: datetime | None = None) -> str:
    """`enterprises_2026-12-07.csv`: the list's path after `/v1/` and the China date."""
    day = (now or datetime.now(UTC)).astimezone(CHINA).date().isoformat()
    stem = "_".join(p for p in path.removeprefix("/v1/").split("/") if p) or "list"
    return f"{stem}_{day}.{suffix}"


def content_disposition(name: str) -> str:
    """RFC 6266: an ASCII fallback and the exact name in RFC 8187 encoding."""
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def page_item(route: APIRoute) -> type[BaseModel] | None:
    """The item model of a route answering `Page[item]`, else None."""
    model = route.response_model
    if isinstance(model, type) and issubclass(model, Page):
        item = model.model_fields["items"].annotation
        args = getattr(item, "__args__", ())
        if args and isinstance(args[0], type) and issubclass(args[0], BaseModel):
            return args[0]
    return None


def _may_export(accept: str | None) -> bool:
    """An `Accept` that may ask for a file, or for nothing served (406): one naming CSV or
    .xlsx, or naming neither JSON nor a wildcard. The others are JSON without routing."""
    if not accept:
        return False
    return (
        "csv" in accept
        or "spreadsheetml" in accept
        or ("json" not in accept and "*/*" not in accept and "application/*" not in accept)
    )


class _Captured:
    """One page's answer, caught from the route."""

    def __init__(self) -> None:
        self.start: Message | None = None
        self.body: list[bytes] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
        elif message["type"] == "http.response.body":
            self.body.append(message.get("body", b""))

    @property
    def status(self) -> int:
        return int(self.start["status"]) if self.start else 500

    async def replay(self, send: Send) -> None:
        assert self.start is not None
        await send(self.start)
        await send({"type": "http.response.body", "body": b"".join(self.body)})


class ExportMiddleware:
    """Answers a list route's export requests by walking its JSON pages (module docstring);
    every other request passes untouched."""

    def __init__(self, app: ASGIApp):
        self.app = app
        self._routes: list[tuple[APIRoute, type[BaseModel]]] | None = None

    def _list_route(self, scope: Scope) -> tuple[APIRoute, type[BaseModel]] | None:
        if self._routes is None:
            found = []
            for route in routes_of(scope["app"]):
                if isinstance(route, APIRoute) and "GET" in (route.methods or ()):
                    item = page_item(route)
                    if item is not None:
                        found.append((route, item))
            self._routes = found
        for route, item in self._routes:
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return route, item
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        query = QueryParams(scope.get("query_string", b""))
        headers = Headers(scope=scope)
        accept = headers.get("accept")
        if "format" not in query and not _may_export(accept):
            await self.app(scope, receive, send)  # the common case, decided without routing
            return
        listed = self._list_route({**scope, "method": "GET"})
        if listed is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        try:
            chosen = negotiate(query.get("format"), accept)
        except NotAcceptable:
            await problem_response(
                request,
                "not-acceptable",
                "a list is served as JSON (application/json), CSV (text/csv) or .xlsx "
                f"({XLSX_TYPE}); Accept named none of them",
                detail_zh="列表可提供 JSON、CSV 或 Excel（.xlsx）格式；Accept 请求头未包含其中任何一种",
                acceptable=["application/json", "text/csv", XLSX_TYPE],
            )(scope, receive, send)
            return
        except ValueError:
            await problem_response(
                request,
                "validation",
                f"format must be one of {', '.join(FORMATS)}",
                detail_zh=f"格式（format）只能是 {'、'.join(FORMATS)} 之一",
                errors=[
                    {
                        "field": "query.format",
                        "reason": f"unknown format; allowed: {', '.join(FORMATS)}",
                        "reason_zh": f"未知的格式；可选值：{'、'.join(FORMATS)}",
                    }
                ],
                allowed=list(FORMATS),
            )(scope, receive, send)
            return
        if chosen == "json":
            await self.app(scope, receive, send)
            return
        _, item = listed
        await self._export(scope, receive, send, query, item, chosen)

    @staticmethod
    def _page_scope(scope: Scope, cursor: str | None) -> Scope:
        """The scope of one JSON page: the caller's filters, `cursor`, JSON accepted."""
        params = [
            (k, v)
            for k, v in QueryParams(scope.get("query_string", b"")).multi_items()
            if k not in PAGING and not (k == "cursor" and cursor is not None)
        ]
        params.append(("limit", str(MAX_LIMIT)))
        if cursor is not None:
            params.append(("cursor", cursor))
        headers = [
            (k, v)
            for k, v in scope.get("headers", [])
            if k not in (b"accept", b"if-none-match", b"if-modified-since")
        ]
        headers.append((b"accept", b"application/json"))
        return {
            **scope,
            "method": "GET",
            "query_string": urlencode(params).encode("latin-1"),
            "headers": headers,
            EXPORT_PAGE: True,  # kit.pagination.page_params: a page of EXPORT_LIMIT rows
        }

    async def _page(self, scope: Scope, cursor: str | None) -> _Captured:
        captured = _Captured()
        asked = False

        async def receive() -> Message:
            nonlocal asked
            if not asked:
                asked = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return {"type": "http.disconnect"}

        await self.app(self._page_scope(scope, cursor), receive, captured.send)
        return captured

    async def _export(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        query: QueryParams,
        item: type[BaseModel],
        chosen: Format,
    ) -> None:
        first = await self._page(scope, query.get("cursor") or None)
        if first.status != 200:
            await first.replay(send)
            return
        lang = "zh-CN" if wants_chinese(Headers(scope=scope).get("accept-language")) else "en"
        cols = columns(item, chinese=lang == "zh-CN")
        headings = [c.heading for c in cols]
        name = file_name(scope["path"], chosen)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", (CSV_TYPE if chosen == "csv" else XLSX_TYPE).encode()),
                    (b"content-disposition", content_disposition(name).encode()),
                    (b"content-language", lang.encode()),
                    (b"cache-control", b"no-store"),
                    (b"vary", b"Accept, Accept-Language"),
                ],
            }
        )
        head = scope["method"] == "HEAD"
        async with aclosing(self._rows(scope, first, cols, lang)) as rows:
            if chosen == "csv":
                await self._send(send, head, BOM + csv_chunk([headings]))
                async for batch in rows:
                    await self._send(send, head, csv_chunk(batch))
            else:
                book = XlsxStream(scope["path"].removeprefix("/v1/").replace("/", " "), headings)
                async for batch in rows:
                    for row in batch:
                        book.append(row)
                    await self._send(send, head, book.take())
                await self._send(send, head, book.close())
        await send({"type": "http.response.body", "body": b""})

    @staticmethod
    async def _send(send: Send, head: bool, body: bytes) -> None:
        if body and not head:
            await send({"type": "http.response.body", "body": body, "more_body": True})

    async def _rows(
        self,
        scope: Scope,
        page: _Captured,
        cols: Sequence[Column],
        lang: str,
    ) -> AsyncGenerator[list[list[Any]], None]:
        """Each page's rows. The next page is asked for as soon as this one's cursor is known,
        and read (the route's query, its models, its JSON) while this one's rows are made and
        written: the route waits on the database while the rows are made, not after. At most
        two pages are held, whatever the list's length."""
        make = row_maker(cols, lang=lang)
        while True:
            data = orjson.loads(b"".join(page.body))
            cursor = data.get("next_cursor")
            following = asyncio.ensure_future(self._page(scope, cursor)) if cursor else None
            try:
                yield [make(item) for item in data.get("items", [])]
            except BaseException:
                if following is not None:
                    following.cancel()
                    # a page that had already failed: its error is this one's consequence
                    following.add_done_callback(_retrieved)
                raise
            if following is None:
                return
            page = await following
            if page.status != 200:  # the file is cut short: the client sees no clean end
                raise RuntimeError(f"export of {scope['path']} stopped: page {page.status}")


def _retrieved(task: asyncio.Future[Any]) -> None:
    """Mark a dropped read-ahead page's outcome as seen (asyncio logs one never retrieved)."""
    if not task.cancelled():
        task.exception()
