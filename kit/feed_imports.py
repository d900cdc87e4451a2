"""Imports of published feeds (EU Safety Gate alerts, WTO ePing notifications): a file in
the layout its publisher gives it becomes a job with one outcome per row, in the shape of
registry's imports (`/v1/imports`), but run by the service that owns the records.

A feed file is a week's or a search's export, a few hundred rows: it is imported within the
request (one transaction), each row in its own savepoint through the service's own function
for one record, so the row emits the events it emits when posted. The natural key (alert
number, document symbol) makes a re-import change nothing; a dry run rolls back everything
the rows did and keeps only their outcomes.

The file is read by `kit.spreadsheets` with the feed's own heading table; kit imports no
service, so the service hands in what one row does (`Feed.handle`).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Integer, String, Text, insert, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from kit import spreadsheets
from kit.auth import Principal, agency_records, ensure_office, sees_agency_record
from kit.db import SessionDep, TimestampMixin, utcnow
from kit.ids import uuid7
from kit.pagination import Page, PageParams, keyset_page, page_params
from kit.problem_text import FIELD_LABELS, reason_zh
from kit.problems import CATALOG, NotFound, ProblemError

MAX_FILE_BYTES = 5 * 1024 * 1024
COUNTS = ("rows", "created", "updated", "unchanged", "rejected")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class RowRejected(Exception):
    """Why a row is refused: the field, and the reason in zh-CN and en."""

    def __init__(self, field: str | None, zh: str, en: str):
        super().__init__(en)
        self.field = field
        self.zh = zh
        self.en = en


# What a row's handler answers: created, or unchanged (its key is already recorded); or
# (updated, the fields it changed) for a feed whose rows update what they name.
Handler = Callable[
    [AsyncSession, dict[str, str], Principal], Awaitable[str | tuple[str, list[str]]]
]


def feed_labels(table: Iterable[str], own: dict[str, str]) -> dict[str, str]:
    """A feed's fields in Chinese, for messages: the one table's label (kit.problem_text.
    FIELD_LABELS) for each field it names, `own` only for the fields it lacks or for a
    narrower name of the same ("产品名称" for a product's `name`)."""
    return {f: own.get(f) or FIELD_LABELS.get(f) or f for f in table}


@dataclass(frozen=True)
class Feed:
    """A published layout: its headings (`spreadsheets.heading_keys`), the fields a file
    must have, the field that is each row's natural key, and what one row does."""

    kind: str
    keys: dict[str, str]
    required: tuple[str, ...]
    labels: dict[str, str]  # field -> its heading in Chinese, for messages
    key_field: str
    handle: Handler
    normalise_key: Callable[[str], str] = str.strip

    def key_of(self, values: dict[str, str]) -> str | None:
        """The row's natural key, or None when the cell is blank."""
        raw = values.get(self.key_field, "")
        return self.normalise_key(raw) or None


class FeedJobColumns(TimestampMixin):
    """A feed import job's columns (each service has its own table)."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    kind: Mapped[str] = mapped_column(String(20))
    dry_run: Mapped[bool] = mapped_column(default=False)
    filename: Mapped[str | None] = mapped_column(String(255), default=None)
    status: Mapped[str] = mapped_column(String(10), default="done")
    submitted_by: Mapped[str] = mapped_column(String(200))
    agency: Mapped[str | None] = mapped_column(String(40), default=None)
    headings: Mapped[list[str]] = mapped_column(JSONB, default=list)
    unknown_headings: Mapped[list[str]] = mapped_column(JSONB, default=list)
    estimated_rows: Mapped[int | None] = mapped_column(Integer, default=None)
    counts: Mapped[dict[str, int]] = mapped_column(JSONB, default=dict)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class FeedOutcomeColumns:
    """A row's outcome columns but the job's key (each service names its own job table)."""

    row: Mapped[int] = mapped_column(Integer, primary_key=True)
    outcome: Mapped[str] = mapped_column(String(10))
    key: Mapped[str | None] = mapped_column(String(200), default=None)
    field: Mapped[str | None] = mapped_column(String(60), default=None)
    reason_zh: Mapped[str | None] = mapped_column(Text, default=None)
    reason_en: Mapped[str | None] = mapped_column(Text, default=None)
    changed: Mapped[list[str]] = mapped_column(JSONB, default=list)
    cells: Mapped[list[Any] | None] = mapped_column(JSONB, default=None)


class FeedCounts(BaseModel):
    """Rows by outcome (in a dry run: what would happen)."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0


class FeedJobOut(BaseModel):
    """A feed import job: done within its request, with its counts."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str = Field(description="safety_gate, eping or inspectors")
    dry_run: bool = Field(description="True: nothing was written; the counts say what would be")
    filename: str | None
    status: str = Field(description="done (a feed file is imported within its request)")
    submitted_by: str
    agency: str | None
    headings: list[str] = Field(description="The file's column headings as written")
    unknown_headings: list[str] = Field(description="Headings the feed's table does not name")
    estimated_rows: int | None = Field(description="Data rows the file holds")
    counts: FeedCounts
    error: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class FeedOutcomeOut(BaseModel):
    """What happened (or would happen) to one row; unchanged rows are only counted."""

    model_config = ConfigDict(from_attributes=True)

    row: int = Field(description="The row number as the spreadsheet shows it (headings: 1)")
    outcome: str = Field(description="created, updated or rejected")
    key: str | None = Field(description="The alert number, document symbol or badge number")
    field: str | None = Field(description="The field a rejection is about")
    reason_zh: str | None = Field(
        description="Why the row was rejected, in Chinese (zh-CN); null otherwise"
    )
    reason_en: str | None = Field(
        description="Why the row was rejected, in English; null otherwise"
    )
    changed: list[str] = Field(description="Fields an update changes")


@dataclass
class Outcome:
    """One row's outcome, as stored."""

    row: int
    outcome: str
    key: str | None = None
    field: str | None = None
    reason_zh: str | None = None
    reason_en: str | None = None
    changed: list[str] = dc_field(default_factory=list)
    cells: list[str] | None = None


def _file_problem(en: str, zh: str) -> ProblemError:
    return ProblemError(
        "validation", en, detail_zh=zh, errors=[{"field": "file", "reason": en, "reason_zh": zh}]
    )


def open_sheet(feed: Feed, content: bytes) -> spreadsheets.Sheet:
    """The file's sheet: 413 above `MAX_FILE_BYTES`, 415 when it is no spreadsheet, 422
    when it is empty, lacks a required column or has one twice."""
    if len(content) > MAX_FILE_BYTES:
        raise ProblemError(
            "payload-too-large",
            f"a feed file may be at most {MAX_FILE_BYTES} bytes",
            detail_zh=f"导入文件不得超过 {MAX_FILE_BYTES} 字节",
            limit_bytes=MAX_FILE_BYTES,
        )
    try:
        sheet = spreadsheets.read(content, feed.keys)
    except spreadsheets.NotASpreadsheet as exc:
        raise ProblemError(
            "unsupported-media-type",
            f"{exc}; send the .xlsx or .csv file as exported",
            detail_zh="文件既不是 .xlsx 工作簿也不是 CSV 文本；请上传导出的原文件",
        ) from exc
    if not sheet.headings:
        raise _file_problem("the file is empty: no heading row", "文件为空：没有标题行")
    present = {f for f in sheet.fields if f}
    missing = [f for f in feed.required if f not in present]
    if missing:
        raise _file_problem(
            f"required columns missing: {', '.join(missing)}",
            "缺少必需列：" + "、".join(feed.labels.get(f, f) for f in missing),
        )
    if sheet.duplicated:
        raise _file_problem(
            f"more than one column for: {', '.join(sheet.duplicated)}",
            "列重复：" + "、".join(feed.labels.get(f, f) for f in sheet.duplicated),
        )
    return sheet


def _rejected(number: int, key: str | None, cells: list[str], exc: Exception) -> Outcome:
    if isinstance(exc, RowRejected):
        return Outcome(number, "rejected", key, exc.field, exc.zh, exc.en, [], cells)
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        loc = tuple(first.get("loc", ()))
        en = f"{'.'.join(str(p) for p in loc) or 'row'}: {first.get('msg', '')}"
        zh = reason_zh(first)
        return Outcome(number, "rejected", key, str(loc[0]) if loc else None, zh, en, [], cells)
    assert isinstance(exc, ProblemError)
    errors = exc.extensions.get("errors") or [{}]
    field_name = errors[0].get("field") if isinstance(errors[0], dict) else None
    zh = f"{CATALOG[exc.slug][2]}：{exc.detail_zh or exc.detail}"
    return Outcome(number, "rejected", key, field_name, zh, exc.detail, [], cells)


async def run(
    session: AsyncSession,
    feed: Feed,
    sheet: spreadsheets.Sheet,
    principal: Principal,
    *,
    dry_run: bool,
) -> list[Outcome]:
    """Each row through the feed's handler in its own savepoint; a row naming a key an
    earlier row named is a duplicate. A dry run rolls back what the rows did."""
    dry = await session.begin_nested() if dry_run else None
    seen: dict[str, int] = {}
    results: list[Outcome] = []
    for number, values, cells in sheet.rows():
        key = feed.key_of(values)
        try:
            if key is not None and key in seen:
                raise RowRejected(
                    feed.key_field,
                    f"与第 {seen[key]} 行重复（{feed.labels.get(feed.key_field, '')}相同）",
                    f"duplicate of row {seen[key]} (same {feed.key_field})",
                )
            if key is not None:
                seen[key] = number
            async with session.begin_nested():
                done = await feed.handle(session, values, principal)
        except (RowRejected, ValidationError, ProblemError) as exc:
            results.append(_rejected(number, key, cells, exc))
            continue
        outcome, changed = (done, []) if isinstance(done, str) else done
        results.append(Outcome(number, outcome, key, changed=changed))
    if dry is not None:
        await dry.rollback()
    return results


async def import_file(
    session: AsyncSession,
    feed: Feed,
    job_model: type[Any],
    outcome_model: type[Any],
    *,
    content: bytes,
    filename: str | None,
    dry_run: bool,
    principal: Principal,
) -> Any:
    """Check the file, import its rows, record the job and its rows' outcomes."""
    sheet = open_sheet(feed, content)
    results = await run(session, feed, sheet, principal, dry_run=dry_run)
    counts = dict.fromkeys(COUNTS, 0)
    counts["rows"] = len(results)
    for r in results:
        counts[r.outcome] += 1
    now = utcnow()
    job = job_model(
        kind=feed.kind,
        dry_run=dry_run,
        filename=(filename or "")[:255] or None,
        status="done",
        submitted_by=principal.subject,
        agency=principal.agency,
        headings=sheet.headings,
        unknown_headings=sheet.unknown,
        estimated_rows=len(results),
        counts=counts,
        finished_at=now,
    )
    session.add(job)
    await session.flush()
    stored = [r for r in results if r.outcome != "unchanged"]
    if stored:
        await session.execute(
            insert(outcome_model), [{**r.__dict__, "job_id": job.id} for r in stored]
        )
    return job


async def get_job(
    session: AsyncSession, job_model: type[Any], job_id: uuid.UUID, principal: Principal
) -> Any:
    """A job, or 404; an agency sees its own agency's jobs, the office and admins every one
    (403 for an enterprise or inspector token)."""
    ensure_office(principal)
    job = await session.get(job_model, job_id)
    if job is None or not sees_agency_record(principal, job.agency):
        raise NotFound("import", str(job_id))
    return job


async def search_jobs(
    session: AsyncSession,
    job_model: type[Any],
    principal: Principal,
    page: PageParams,
    *,
    dry_run: bool | None = None,
) -> tuple[list[Any], str | None]:
    """Jobs newest first (ids are time-ordered), seen as `get_job` sees one."""
    ensure_office(principal)
    query = select(job_model).where(agency_records(principal, job_model.agency))
    if dry_run is not None:
        query = query.where(job_model.dry_run == dry_run)
    return await keyset_page(session, query, keys=[job_model.id], page=page, descending=True)


def router(
    feed: Feed,
    *,
    prefix: str,
    tag: str,
    title: str,
    job_model: type[Any],
    outcome_model: type[Any],
    reader: Callable[..., Awaitable[Principal]],
    writer: Callable[..., Awaitable[Principal]],
    description: str | None = None,
) -> APIRouter:
    """The job endpoints of a feed: POST (the file), GET one, its outcomes, its rejected
    rows as a spreadsheet (the same as registry's `/v1/imports`)."""
    api = APIRouter(prefix=prefix, tags=[tag])
    read = Depends(reader)
    write = Depends(writer)
    not_found: dict[int | str, dict[str, Any]] = {404: {"description": "Import job not found"}}

    @api.post(
        "",
        status_code=201,
        summary=f"Import {title}",
        description=description,
        response_model=FeedJobOut,
        responses={
            403: {"description": "An enterprise or inspector token"},
            413: {"description": f"The file is larger than {MAX_FILE_BYTES} bytes"},
            415: {"description": "The file is neither an .xlsx workbook nor CSV text"},
            422: {"description": "Empty file, a required column missing, or a column twice"},
        },
    )
    async def submit(
        session: SessionDep,
        response: Response,
        file: Annotated[UploadFile, File(description="The export as published: .xlsx or .csv")],
        dry_run: Annotated[bool, Form(description="Report what would change; write nothing")] = (
            False
        ),
        principal: Principal = write,
    ) -> FeedJobOut:
        """Import the export as its site publishes it, within the request (201, `Location`
        the job, status `done`): each row through the same function as one posted by hand,
        emitting its events; the alert number or document symbol already recorded leaves
        the row unchanged; a dry run writes nothing and says what would happen. Countries
        are mapped by English name; an unknown one rejects its row (docs/api.md, "Feeds")."""
        ensure_office(principal)
        content = await file.read(MAX_FILE_BYTES + 1)
        job = await import_file(
            session,
            feed,
            job_model,
            outcome_model,
            content=content,
            filename=file.filename,
            dry_run=dry_run,
            principal=principal,
        )
        response.headers["Location"] = f"{prefix}/{job.id}"
        return FeedJobOut.model_validate(job)

    @api.get(
        "",
        summary="Import jobs",
        response_model=Page[FeedJobOut],
        responses={403: {"description": "An enterprise or inspector token"}},
    )
    async def jobs(
        session: SessionDep,
        page: Annotated[PageParams, Depends(page_params)],
        principal: Principal = read,
        dry_run: Annotated[bool | None, Query(description="Only dry runs, or only real")] = None,
    ) -> Page[FeedJobOut]:
        """This feed's import jobs, newest first, paginated: an agency sees its own
        agency's, the office and admins every one (as for one job)."""
        rows, cursor = await search_jobs(session, job_model, principal, page, dry_run=dry_run)
        return Page(items=[FeedJobOut.model_validate(r) for r in rows], next_cursor=cursor)

    @api.get("/{job_id}", summary="An import job", response_model=FeedJobOut, responses=not_found)
    async def get(
        job_id: uuid.UUID, session: SessionDep, principal: Principal = read
    ) -> FeedJobOut:
        return FeedJobOut.model_validate(await get_job(session, job_model, job_id, principal))

    @api.get(
        "/{job_id}/outcomes",
        summary="An import job's row outcomes",
        response_model=Page[FeedOutcomeOut],
        responses=not_found,
    )
    async def outcomes(
        job_id: uuid.UUID,
        session: SessionDep,
        page: Annotated[PageParams, Depends(page_params)],
        principal: Principal = read,
        outcome: Annotated[
            str | None, Query(pattern="^(created|updated|rejected)$", description="Only these")
        ] = None,
    ) -> Page[FeedOutcomeOut]:
        """By row number; created and rejected rows (unchanged ones are only counted)."""
        job = await get_job(session, job_model, job_id, principal)
        query = select(outcome_model).where(outcome_model.job_id == job.id)
        if outcome:
            query = query.where(outcome_model.outcome == outcome)
        rows, cursor = await keyset_page(session, query, keys=[outcome_model.row], page=page)
        return Page(items=[FeedOutcomeOut.model_validate(r) for r in rows], next_cursor=cursor)

    @api.get(
        "/{job_id}/rejected",
        summary="The rejected rows as a spreadsheet",
        response_class=Response,
        responses={**not_found, 200: {"content": {XLSX: {}}, "description": "An .xlsx workbook"}},
    )
    async def rejected(
        job_id: uuid.UUID, session: SessionDep, principal: Principal = read
    ) -> Response:
        job = await get_job(session, job_model, job_id, principal)
        found = await session.execute(
            select(
                outcome_model.row, outcome_model.cells, outcome_model.reason_zh,
                outcome_model.reason_en,
            )
            .where(outcome_model.job_id == job.id, outcome_model.outcome == "rejected")
            .order_by(outcome_model.row)
        )  # fmt: skip
        rows: Iterable[tuple[int, list[str], str]] = [
            (row, [str(c) for c in cells or []], f"{zh} / {en}") for row, cells, zh, en in found
        ]
        return Response(
            spreadsheets.rejected_workbook(job.headings, rows),
            media_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="rejected-{job.id}.xlsx"'},
        )

    return api
