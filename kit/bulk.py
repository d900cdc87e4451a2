"""Bulk uploads: a JSON object (one item), a JSON array, JSON lines or CSV, read line by line
so a bad line is reported by its number and the good lines are kept."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import orjson
from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from kit.observability import BULK_MEDIA
from kit.problems import ProblemError, field_errors

T = TypeVar("T")

MAX_LINES = 20_000
MAX_REPORTED = 1_000
EXTRA_CELLS = "\x00extra"  # DictReader's key for cells beyond the header
BULK_TYPES = tuple(m.decode() for m in BULK_MEDIA)
JSON_LINES = tuple(t for t in BULK_TYPES if t != "text/csv")
BODY_DOC = (
    "Send one item as `application/json`, or many as a JSON array, JSON lines "
    "(`application/x-ndjson`, one item per line) or, where noted, CSV with a header row; "
    f"at most {MAX_LINES:,} lines. Good lines are kept; each refused line is reported with "
    "its number and reasons. JSON lines and CSV may be up to 32 MiB; a JSON body (one item "
    "or an array) up to 1 MiB."
)


class LineError(BaseModel):
    """Why one line of a bulk upload was refused."""

    line: int = Field(description="1-based line number (CSV: counting the header)")
    status: int = Field(description="The status the line would have had alone: 400, 403, 404, 422")
    errors: list[dict[str, Any]] = Field(description="Each with `field` and `reason`")


class LineRecorded(BaseModel):
    """A line that is recorded: now, or already before (`duplicate`)."""

    line: int
    id: uuid.UUID
    duplicate: bool = False


class BulkResult(BaseModel):
    """A bulk upload's outcome: good lines are kept, bad ones are reported by line."""

    received: int
    accepted: int
    duplicates: int = Field(description="Lines already recorded (same id or number); skipped")
    rejected: int
    recorded: list[LineRecorded] = Field(description="Accepted and duplicate lines, with ids")
    errors: list[LineError] = Field(description="Refused lines, the first 1,000")


@dataclass
class Lines(Generic[T]):
    """Parsed lines: `good` as (line number, item), `errors` as problem-style entries."""

    single: bool
    good: list[tuple[int, T]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    received: int = 0

    def refuse(self, line: int, errors: list[dict[str, Any]], status: int = 422) -> None:
        """Report a line as refused."""
        self.errors.append({"line": line, "status": status, "errors": errors})


def media_type(request: Request) -> str:
    """The request's media type without parameters."""
    return request.headers.get("content-type", "application/json").split(";")[0].strip().lower()


def _decode_csv(body: bytes) -> str:
    """UTF-8 (with or without BOM); else GB 18030, what Excel saves on Chinese Windows."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return body.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ProblemError(
        "bad-request",
        "the CSV file is neither UTF-8 nor GB 18030 text",
        detail_zh="CSV 文件既不是 UTF-8 也不是 GB 18030 编码的文本",
    )


def _csv_rows(body: bytes) -> list[tuple[int, Any]]:
    reader = csv.DictReader(io.StringIO(_decode_csv(body)), restkey=EXTRA_CELLS)
    rows: list[tuple[int, Any]] = []
    try:
        for row in reader:
            # line_num counts physical lines, the header included
            if row.get(EXTRA_CELLS):
                rows.append((reader.line_num, ValueError("more cells than the header names")))
                continue
            if None in row.values():
                rows.append((reader.line_num, ValueError("fewer cells than the header names")))
                continue
            # a blank cell is an omitted field (so defaults apply)
            rows.append(
                (reader.line_num, {k.strip(): v.strip() for k, v in row.items() if k and v.strip()})
            )
    except csv.Error as exc:
        raise ProblemError(
            "bad-request",
            f"the CSV file cannot be read: {exc}",
            detail_zh=f"无法读取 CSV 文件：{exc}",
        ) from exc
    return rows


def _records(body: bytes, kind: str) -> tuple[bool, list[tuple[int, Any]]]:
    """(single?, [(line number, raw record or a ValueError)])."""
    if kind == "text/csv":
        return False, _csv_rows(body)
    if kind in JSON_LINES:
        records: list[tuple[int, Any]] = []
        for number, raw in enumerate(body.split(b"\n"), start=1):
            raw = raw.strip().lstrip(b"\x1e")  # json-seq record separators
            if not raw:
                continue
            try:
                records.append((number, orjson.loads(raw)))
            except orjson.JSONDecodeError as exc:
                records.append((number, ValueError(f"not JSON: {exc}")))
        return False, records
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ProblemError(
            "bad-request", f"the body is not JSON: {exc}", detail_zh=f"请求体不是 JSON：{exc}"
        ) from exc
    if isinstance(value, list):
        return False, list(enumerate(value, start=1))
    return True, [(1, value)]


def _has_nul(value: Any) -> bool:
    """PostgreSQL text cannot hold NUL: such a line is refused on its own."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


async def read_lines(
    request: Request, adapter: TypeAdapter[T], *, csv_ok: bool = False
) -> Lines[T]:
    """Validate every line of the body with `adapter`; a body with no line is a 422."""
    kind = media_type(request)
    accepted = ["application/json", *JSON_LINES, *(["text/csv"] if csv_ok else [])]
    if kind not in accepted:
        raise ProblemError(
            "unsupported-media-type",
            f"send one of {', '.join(accepted)}, not {kind}",
            detail_zh=f"请发送以下类型之一：{', '.join(accepted)}，而不是 {kind}",
        )
    single, records = _records(await request.body(), kind)
    if not records:
        raise ProblemError(
            "validation",
            "the body holds no item",
            detail_zh="请求体中没有任何条目",
            errors=[{"field": "body", "reason": "empty", "reason_zh": "为空"}],
        )
    if len(records) > MAX_LINES:
        raise ProblemError(
            "validation",
            f"{len(records)} lines; at most {MAX_LINES} per request",
            detail_zh=f"共 {len(records)} 行；每个请求最多 {MAX_LINES} 行",
            errors=[
                {
                    "field": "body",
                    "reason": f"more than {MAX_LINES} lines",
                    "reason_zh": f"超过 {MAX_LINES} 行",
                }
            ],
        )
    lines: Lines[T] = Lines(single=single, received=len(records))
    for number, record in records:
        if isinstance(record, ValueError):
            lines.refuse(number, [{"field": "line", "reason": str(record)}], status=400)
            continue
        if _has_nul(record):
            lines.refuse(number, [{"field": "line", "reason": "text cannot contain NUL (U+0000)"}])
            continue
        try:
            lines.good.append((number, adapter.validate_python(record)))
        except ValidationError as exc:
            lines.refuse(number, field_errors(exc.errors()))
    return lines


LINE_SLUGS = {400: "bad-request", 403: "forbidden", 404: "not-found"}


def single_or_raise(lines: Lines[Any]) -> None:
    """A single JSON object that was refused (by its schema, or by the service after) is
    answered like any other request: the line's status and reasons as a problem."""
    if lines.single and lines.errors:
        refused = lines.errors[0]
        errors: Sequence[dict[str, Any]] = refused["errors"]
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors[:5])
        raise ProblemError(
            LINE_SLUGS.get(refused["status"], "validation"), detail, errors=list(errors)
        )


def bulk_body(model: Any, example: dict[str, Any], *, csv_ok: bool = False) -> dict[str, Any]:
    """`openapi_extra` for a body read by `read_lines`: the item's schema (its nested models
    are hoisted into the document's components by `hoist_body_defs`)."""
    schema = TypeAdapter(model).json_schema(ref_template="#/components/schemas/{model}")
    lines = {"schema": {"type": "string", "description": "One JSON item per line"}}
    content: dict[str, Any] = {
        # One object here: an array of them is accepted too (see the description).
        "application/json": {"schema": schema, "example": example},
        "application/x-ndjson": lines,
    }
    if csv_ok:
        content["text/csv"] = {"schema": {"type": "string", "description": "Header row first"}}
    return {"requestBody": {"required": True, "description": BODY_DOC, "content": content}}


def hoist_body_defs(document: dict[str, Any]) -> dict[str, Any]:
    """Move the `$defs` of hand-documented request bodies into `components.schemas`."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    if "BulkResult" not in schemas and "#/components/schemas/BulkResult" in str(document):
        bulk = BulkResult.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(bulk.pop("$defs", {}))
        schemas["BulkResult"] = bulk
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            content = (
                operation.get("requestBody", {}).get("content", {})
                if isinstance(operation, dict)
                else {}
            )
            for media in content.values():
                for candidate in [
                    media.get("schema", {}),
                    *media.get("schema", {}).get("anyOf", []),
                ]:
                    schemas.update(candidate.pop("$defs", {}))
    return document


def new_result(lines: Lines[Any]) -> BulkResult:
    """An empty outcome for these lines."""
    return BulkResult(
        received=lines.received, accepted=0, duplicates=0, rejected=0, recorded=[], errors=[]
    )


def finish(result: BulkResult, lines: Lines[Any]) -> BulkResult:
    """Count and report the refused lines, in line order."""
    result.rejected = len(lines.errors)
    ordered = sorted(lines.errors, key=lambda e: e["line"])
    result.errors = [LineError.model_validate(e) for e in ordered[:MAX_REPORTED]]
    return result


def bulk_answer(result: BulkResult) -> JSONResponse:
    """200 with every line's outcome; a 422 problem when not one line could be kept."""
    if result.accepted == 0 and result.duplicates == 0:
        raise ProblemError(
            "validation",
            f"none of the {result.received} lines was recorded",
            detail_zh=f"{result.received} 行中没有一行被记录",
            errors=[e.model_dump() for e in result.errors],
        )
    return JSONResponse(result.model_dump(mode="json"))


def bulk_responses(single: str) -> dict[int | str, dict[str, Any]]:
    """The 200 of an upload: a bulk outcome, or the item already recorded (a resent one)."""
    return {
        200: {
            "description": "A bulk upload's outcome per line; or, for one item sent again, "
            "the item as first recorded",
            "content": {
                "application/json": {
                    "schema": {
                        "anyOf": [
                            {"$ref": "#/components/schemas/BulkResult"},
                            {"$ref": f"#/components/schemas/{single}"},
                        ]
                    }
                }
            },
        }
    }
