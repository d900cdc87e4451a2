"""RFC 9457 problem details for every error, titled in zh-CN or en by `Accept-Language`."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kit.http import allowed_methods
from kit.problem_text import label_zh, not_found_zh, reason_zh

log = logging.getLogger("kit.problems")

PROBLEM_JSON = "application/problem+json"

# slug -> (status, English title, Chinese title). The `type` URI is `/problems/<slug>`.
CATALOG: dict[str, tuple[int, str, str]] = {
    "bad-request": (400, "Bad request", "请求有误"),
    "validation": (422, "Request validation failed", "请求参数校验失败"),
    "unauthorized": (401, "Missing or invalid token", "缺少或无效的访问令牌"),
    "forbidden": (403, "Not allowed", "无权访问"),
    "not-found": (404, "Not found", "资源不存在"),
    "method-not-allowed": (405, "Method not allowed", "不支持该请求方法"),
    "not-acceptable": (406, "No acceptable representation", "无法提供所要求的格式"),
    "conflict": (409, "Conflict", "资源冲突"),
    "illegal-transition": (
        409,
        "Transition not allowed from the current state",
        "当前状态不允许此变更",
    ),
    "idempotency-in-flight": (
        409,
        "A request with this Idempotency-Key is still in progress",
        "相同幂等键的请求仍在处理中",
    ),
    "idempotency-mismatch": (
        422,
        "Idempotency-Key reused with a different request",
        "幂等键已用于不同的请求",
    ),
    "precondition-failed": (
        412,
        "The resource changed since you read it (If-Match)",
        "资源已被修改（If-Match 不匹配）",
    ),
    "payload-too-large": (413, "Request body too large", "请求体过大"),
    "headers-too-large": (431, "Request headers too large", "请求头过大"),
    "unsupported-media-type": (415, "Unsupported media type", "不支持的媒体类型"),
    "rate-limited": (429, "Too many requests", "请求过于频繁"),
    "service-unavailable": (503, "Service temporarily unavailable", "服务暂时不可用"),
    "gateway-timeout": (504, "The service did not answer in time", "服务响应超时"),
    "internal": (500, "Internal error", "内部错误"),
}


def problem_schema() -> dict[str, Any]:
    """JSON schema of a problem body, for the OpenAPI documents."""
    return {
        "type": "object",
        "title": "Problem",
        "description": "RFC 9457 problem details; `title`, `detail` and each `errors[].reason` "
        "in zh-CN or en by Accept-Language (the response's Content-Language says which)",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string", "description": "Stable URI reference: /problems/<slug>"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "request_id": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "field": {"type": "string"},
                        "reason": {"type": "string", "description": "In the negotiated language"},
                        "type": {"type": "string", "description": "pydantic's error type"},
                    },
                },
            },
        },
        "additionalProperties": True,
    }


# Answers any operation may give, documented on every operation.
COMMON_PROBLEMS = {
    "400": "Malformed request (bad cursor, bad parameter)",
    "401": "Missing or invalid token",
    "403": "Token lacks the scope, or the object is not yours",
    "413": "Body over the size limit",
    "422": "Validation failed; `errors` names each field and reason",
    "429": "Rate limited; see Retry-After",
    "503": "A backing service is unavailable; see Retry-After",
}


def _own_error_body(response: dict[str, Any]) -> bool:
    """A response that declares its own JSON body (RFC 6749's OAuth errors), kept as it is."""
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    ref = schema.get("$ref", "")
    return bool(ref) and not ref.endswith("/HTTPValidationError")


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Make every error response of an OpenAPI document an application/problem+json Problem."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = problem_schema()
    schema["components"]["schemas"].pop("HTTPValidationError", None)
    schema["components"]["schemas"].pop("ValidationError", None)
    ref = {"$ref": "#/components/schemas/Problem"}
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for code, description in COMMON_PROBLEMS.items():
                responses.setdefault(code, {"description": description})
            for code, response in responses.items():
                if code.isdigit() and int(code) >= 400 and not _own_error_body(response):
                    response["content"] = {"application/problem+json": {"schema": ref}}
    return schema


class ProblemError(Exception):
    """Raise to answer with a problem; `extensions` become extra members of the body.

    `detail_zh` is the detail for Chinese clients, and an `errors` item's `reason_zh` its
    reason; `problem_body` picks the language (English where no Chinese was written)."""

    def __init__(
        self,
        slug: str,
        detail: str,
        *,
        status: int | None = None,
        detail_zh: str | None = None,
        **extensions: Any,
    ):
        super().__init__(detail)
        self.slug = slug
        self.detail = detail
        self.detail_zh = detail_zh
        self.status = status or CATALOG[slug][0]
        self.extensions = extensions
        self.headers: dict[str, str] = {}


def invalid(field: str, reason: str, reason_zh: str | None = None) -> ProblemError:
    """A 422 naming one field, for rules checked past the schema (state, clock, references);
    the Chinese detail names the field by its label (kit.problem_text.FIELD_LABELS)."""
    error: dict[str, Any] = {"field": field, "reason": reason}
    if reason_zh is not None:
        error["reason_zh"] = reason_zh
    return ProblemError(
        "validation",
        f"{field}: {reason}",
        detail_zh=f"{label_zh(field)}：{reason_zh}" if reason_zh is not None else None,
        errors=[error],
    )


class NotFound(ProblemError):
    """404 for an unknown object."""

    def __init__(self, what: str, key: str):
        super().__init__(
            "not-found",
            f"{what} '{key}' does not exist",
            detail_zh=not_found_zh(what, key),
            resource=what,
            key=key,
        )


class Conflict(ProblemError):
    """409 for a uniqueness or state conflict."""

    def __init__(self, detail: str, **extensions: Any):
        super().__init__("conflict", detail, **extensions)


def wants_chinese(accept_language: str | None) -> bool:
    """True when the caller prefers Chinese; English is the default for machines."""
    if not accept_language:
        return False
    best_lang, best_q = "", -1.0
    for part in accept_language.split(","):
        lang, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if q > best_q:
            best_lang, best_q = lang.strip().lower(), q
    return best_lang.startswith("zh")


def content_language(accept_language: str | None) -> str:
    """The language a problem is written in for this caller: its `Content-Language`."""
    return "zh-CN" if wants_chinese(accept_language) else "en"


def _localised(errors: Any, chinese: bool) -> Any:
    """`errors` items with `reason` in the caller's language and no `reason_zh` left."""
    if not isinstance(errors, list):
        return errors
    out = []
    for item in errors:
        if isinstance(item, dict) and "reason_zh" in item:
            item = dict(item)
            zh = item.pop("reason_zh")
            if chinese and zh:
                item["reason"] = zh
        out.append(item)
    return out


RESERVED = frozenset({"type", "title", "status", "detail", "instance", "request_id"})


def problem_body(
    slug: str,
    detail: str,
    *,
    status: int | None = None,
    accept_language: str | None = None,
    instance: str | None = None,
    request_id: str | None = None,
    extensions: Mapping[str, Any] | None = None,
    detail_zh: str | None = None,
) -> dict[str, Any]:
    """The JSON body of a problem; `request_id` is the correlation id of the logs, and
    `extensions` the problem's own members. A Chinese caller gets `title`, `detail_zh` and
    each error's `reason_zh` (where written), an English one the English."""
    code, en, zh = CATALOG.get(slug, CATALOG["internal"])
    chinese = wants_chinese(accept_language)
    body: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": zh if chinese else en,
        "status": status or code,
        "detail": detail_zh if chinese and detail_zh else detail,
    }
    if instance:
        body["instance"] = instance
    if request_id:
        body["request_id"] = request_id
    # an extension never replaces a member the RFC or the house defines: a service's own
    # field called `request_id` would pass for the correlation id in the logs
    body.update((k, v) for k, v in (extensions or {}).items() if k not in RESERVED)
    if "errors" in body:
        body["errors"] = _localised(body["errors"], chinese)
    return body


def problem_response(
    request: Request | None,
    slug: str,
    detail: str,
    *,
    status: int | None = None,
    headers: dict[str, str] | None = None,
    detail_zh: str | None = None,
    **extensions: Any,
) -> JSONResponse:
    """A problem+json response in the caller's language, echoing the request id."""
    lang = request.headers.get("accept-language") if request else None
    instance = request.url.path if request else None
    body = problem_body(
        slug,
        detail,
        status=status,
        accept_language=lang,
        instance=instance,
        request_id=getattr(request.state, "request_id", None) if request else None,
        extensions=extensions,
        detail_zh=detail_zh,
    )
    headers = {**(headers or {}), "Content-Language": content_language(lang)}
    return JSONResponse(body, status_code=body["status"], media_type=PROBLEM_JSON, headers=headers)


def _loc(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) or "body"


def field_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic's errors as `{field, reason, type}` items of a problem's `errors`, each with
    its Chinese `reason_zh` (kit.problem_text) for `problem_body` to choose."""
    return [
        {
            "field": _loc(e.get("loc", ())),
            "reason": str(e.get("msg", "")).removeprefix("Value error, "),
            "reason_zh": reason_zh(e),
            "type": e.get("type"),
        }
        for e in errors
    ]


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception, what it wraps (`orig`) and what caused it, a few levels deep."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(seen) < 8 and current not in seen:
        seen.append(current)
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return seen


def _bad_data(exc: BaseException) -> BaseException | None:
    """A value PostgreSQL cannot store (NUL in text, a number out of range …), if that is it."""
    import asyncpg
    from asyncpg.exceptions import _base as asyncpg_base

    for item in _chain(exc):
        if isinstance(item, asyncpg.exceptions.DataError | asyncpg_base.DataError):
            return item  # type: ignore[no-any-return]
    return None


def is_outage(exc: BaseException) -> bool:
    """Connection-level failures of PostgreSQL or NATS: the service is degraded, not broken."""
    import asyncpg  # local import: kit must not force a driver on importers that lack it
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    outage_types = (
        OperationalError,
        InterfaceError,
        PoolTimeout,
        ConnectionError,
        TimeoutError,
        OSError,
        asyncpg.exceptions.CannotConnectNowError,
        asyncpg.exceptions.ConnectionDoesNotExistError,
        asyncpg.exceptions.AdminShutdownError,
        asyncpg.exceptions.InterfaceError,
        # a connection whose protocol cannot run the statement: after the server dropped it
        # (a restart), asyncpg may still be consuming the termination notice ("cannot switch
        # to state 12; another operation (2) is in progress")
        asyncpg.exceptions.InternalClientError,
    )
    for item in _chain(exc):
        if isinstance(item, outage_types):
            return True
        if isinstance(item, DBAPIError) and item.connection_invalidated:
            return True
    return False


def _sqlstate(exc: BaseException) -> str | None:
    for item in _chain(exc):
        code = getattr(item, "sqlstate", None) or getattr(item, "pgcode", None)
        if isinstance(code, str):
            return code
    return None


def problem_for_exception(request: Request, exc: BaseException) -> JSONResponse:
    """The problem for an exception no route mapped: bad data, races, outages, else a 500."""
    from asyncpg.exceptions import IntegrityConstraintViolationError
    from sqlalchemy.exc import IntegrityError
    from sqlalchemy.orm.exc import StaleDataError

    if isinstance(exc, StaleDataError):
        if request.headers.get("if-match"):
            return problem_response(
                request,
                "precondition-failed",
                "the resource changed while this request ran; read it again and retry",
                detail_zh="处理本请求期间资源已被修改；请重新读取后再试",
            )
        return problem_response(
            request,
            "conflict",
            "the resource changed while this request ran; retry",
            detail_zh="处理本请求期间资源已被修改；请重试",
        )
    # a prebuilt statement (kit.db.Prepared) runs on the driver: its violations come unwrapped
    if isinstance(exc, IntegrityError | IntegrityConstraintViolationError):
        code = _sqlstate(exc)
        if code == "23505":
            return problem_response(
                request,
                "conflict",
                "an object with this key already exists",
                detail_zh="已存在相同键的对象",
            )
        return problem_response(
            request,
            "validation",
            "the request violates a data constraint",
            detail_zh="请求违反了数据约束",
            sqlstate=code,
        )
    code = _sqlstate(exc)
    if code in ("40001", "40P01"):  # serialization failure, deadlock: a race, retryable
        return problem_response(
            request,
            "conflict",
            "a concurrent change got in the way; retry",
            detail_zh="与同时进行的修改冲突；请重试",
            headers={"Retry-After": "1"},
        )
    if code in ("57014", "55P03"):  # statement timeout, lock not available: busy, not broken
        return problem_response(
            request,
            "service-unavailable",
            "the database is busy with this object; retry shortly",
            detail_zh="数据库正忙于处理该对象；请稍后重试",
            headers={"Retry-After": "2"},
        )
    bad = _bad_data(exc)
    if bad is not None:
        return problem_response(
            request, "validation", f"a value cannot be stored: {str(bad).splitlines()[0]}"
        )
    if is_outage(exc):
        log.warning("backing service unavailable: %r", exc)
        return problem_response(
            request,
            "service-unavailable",
            "A backing service (database or message broker) is unavailable; retry later.",
            detail_zh="后端服务（数据库或消息中间件）暂不可用；请稍后重试。",
            headers={"Retry-After": "5"},
        )
    log.error("unhandled error", exc_info=exc)
    return problem_response(
        request,
        "internal",
        "An unexpected error occurred; it has been logged.",
        detail_zh="发生了意外错误，已记录日志。",
    )


def body_unread(scope: Scope, exc: BaseException) -> bool:
    """The request's body could not be read: the client went away, or it passed the limit."""
    return isinstance(exc, ClientDisconnect) or bool(scope.get("state", {}).get("body_too_large"))


class UnhandledErrorMiddleware:
    """Answers exceptions with a problem inside the app, so the connection stays usable.

    Starlette's outermost error middleware re-raises after answering, and uvicorn then closes
    the keep-alive connection; a proxy reusing it would fail the next request. A body that
    could not be read is not the app's error: over the size limit, the request context
    middleware answers 413; a client gone mid-body gets no answer; both pass through.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started or body_unread(scope, exc):
                raise
            response = problem_for_exception(Request(scope), exc)
            await response(scope, receive, send)


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def install_problem_handlers(app: FastAPI) -> None:
    """Every error the app can raise becomes a problem+json response."""

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ProblemError)
        return problem_response(
            request,
            exc.slug,
            exc.detail,
            status=exc.status,
            headers=exc.headers or None,
            detail_zh=exc.detail_zh,
            **exc.extensions,
        )

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        raw = list(exc.errors())
        body_errors = [e for e in raw if tuple(e.get("loc", ()))[:1] == ("body",)]
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        whole_body = [e for e in body_errors if tuple(e.get("loc", ())) == ("body",)]
        if whole_body and media_type and not _is_json(media_type):  # bytes where JSON was due
            return problem_response(
                request,
                "unsupported-media-type",
                f"the body must be JSON (Content-Type: application/json), not {media_type}",
                detail_zh=f"请求体必须是 JSON（Content-Type: application/json），而不是 {media_type}",
                expected="application/json",
            )
        broken = next((e for e in body_errors if e.get("type") == "json_invalid"), None)
        if broken is not None:
            reason = (broken.get("ctx") or {}).get("error") or broken.get("msg")
            position = tuple(broken["loc"])[1:2]
            where = f" at character {position[0]}" if position else ""
            detail = f"the body is not valid JSON: {reason}{where}"
            zh_where = f"（第 {position[0]} 个字符处）" if position else ""
            detail_zh = f"请求体不是有效的 JSON{zh_where}：{reason}"
            error = {"field": "body", "reason": detail, "reason_zh": detail_zh}
            return problem_response(
                request,
                "validation",
                detail,
                detail_zh=detail_zh,
                errors=[{**error, "type": "json_invalid"}],
            )
        errors = field_errors(raw)
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors[:5])
        detail_zh = "；".join(e["reason_zh"] for e in errors[:5])
        return problem_response(request, "validation", detail, detail_zh=detail_zh, errors=errors)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if request.scope.get("state", {}).get("body_too_large"):
            # the body limit tripped while the framework was reading the body
            limit = request.scope["state"]["body_too_large"]
            return problem_response(
                request,
                "payload-too-large",
                f"request body exceeds {limit} bytes",
                detail_zh=f"请求体超过 {limit} 字节的上限",
                limit_bytes=limit,
            )
        slug = {
            400: "bad-request",
            401: "unauthorized",
            403: "forbidden",
            404: "not-found",
            405: "method-not-allowed",
            409: "conflict",
            412: "precondition-failed",
            413: "payload-too-large",
            415: "unsupported-media-type",
            429: "rate-limited",
            503: "service-unavailable",
        }.get(exc.status_code, "bad-request" if exc.status_code < 500 else "internal")
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        detail_zh = None
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # every method of the path, not the first route's only
            allowed = allowed_methods(request.app, request.scope)
            headers["Allow"] = ", ".join(allowed)
            detail = f"{request.method} is not allowed here; allowed: {', '.join(allowed)}"
            detail_zh = f"此处不支持 {request.method} 方法；可用：{', '.join(allowed)}"
        elif exc.status_code == 404 and detail == "Not Found":  # no route has this path
            detail = f"no such path: {request.url.path}"
            detail_zh = f"路径不存在：{request.url.path}"
        return problem_response(
            request, slug, detail, status=exc.status_code, headers=headers, detail_zh=detail_zh
        )

    async def on_unhandled(request: Request, exc: Exception) -> JSONResponse:
        return problem_for_exception(request, exc)

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unhandled)
