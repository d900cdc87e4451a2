"""Optimistic concurrency: `ETag` from a row version, `If-Match` checked on updates (412)."""

from __future__ import annotations

from fastapi import Request, Response

from kit.problems import ProblemError


def etag_for(version: int) -> str:
    """Strong ETag for a row version."""
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    """Put the ETag header on a response."""
    response.headers["ETag"] = etag_for(version)


def check_if_match(request: Request, version: int) -> None:
    """412 when the client's `If-Match` names another version; absent means unconditional."""
    header = request.headers.get("if-match")
    if header is None:
        return
    tags = {t.strip() for t in header.split(",")}  # strong comparison: W/ tags never match
    if "*" in tags or etag_for(version) in tags:
        return
    raise ProblemError(
        "precondition-failed",
        f"If-Match {header} does not match the current version {etag_for(version)}; "
        "read the resource again and retry",
        detail_zh=f"If-Match {header} 与当前版本 {etag_for(version)} 不符；请重新读取后再试",
        current_etag=etag_for(version),
    )
