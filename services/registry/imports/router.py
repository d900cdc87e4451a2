"""Spreadsheet import endpoints (批量导入)."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile

from kit import spreadsheets
from kit.auth import Principal, ensure_office, require
from kit.db import SessionDep
from kit.observability import UploadRoute
from kit.pagination import Page, PageParams, page_params
from services.registry.imports import service
from services.registry.imports.rows import Kind
from services.registry.imports.schemas import ImportJobOut, ImportOutcomeOut, ImportStatus

# Spreadsheets come as multipart forms, up to 20 MiB: the larger body limit applies here.
UPLOAD = UploadRoute("/v1/imports")
router = APIRouter(prefix="/v1/imports", tags=["imports"])
Reader = Annotated[Principal, Depends(require("registry:read"))]
Writer = Annotated[Principal, Depends(require("registry:write"))]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Import job not found"}}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.post(
    "",
    status_code=202,
    summary="Import a spreadsheet (批量导入)",
    response_model=ImportJobOut,
    responses={
        403: {"description": "An enterprise or inspector token"},
        413: {"description": "The file is larger than 20 MiB"},
        415: {"description": "The file is neither an .xlsx workbook nor CSV text"},
        422: {"description": "Empty file, a required column missing, or a column twice"},
    },
)
async def submit(
    session: SessionDep,
    principal: Writer,
    response: Response,
    file: Annotated[UploadFile, File(description=".xlsx, or .csv in UTF-8 or GB 18030")],
    kind: Annotated[Kind, Form(description="enterprises, surveys or memberships")],
    dry_run: Annotated[bool, Form(description="Report what would change; write nothing")] = False,
) -> ImportJobOut:
    """Queue the file as a job (202, `Location` the job): a worker imports its rows in
    batches through the same rules as the single-item endpoints, emitting their events.
    Columns are mapped by heading (docs/api.md, "Imports"); unknown headings are reported
    and ignored. Rows are idempotent by USCC (and year, or zone): the same file again changes
    nothing."""
    ensure_office(principal)
    content = await file.read(service.MAX_FILE_BYTES + 1)
    job = await service.submit(
        session,
        content=content,
        filename=file.filename,
        kind=kind,
        dry_run=dry_run,
        principal=principal,
    )
    response.headers["Location"] = f"/v1/imports/{job.id}"
    return ImportJobOut.model_validate(job)


@router.get(
    "",
    summary="Import jobs",
    response_model=Page[ImportJobOut],
    responses={403: {"description": "An enterprise or inspector token"}},
)
async def list_jobs(
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    kind: Annotated[Kind | None, Query(description="Only jobs of this kind")] = None,
    status: Annotated[ImportStatus | None, Query(description="Only jobs in this status")] = None,
) -> Page[ImportJobOut]:
    """Import jobs, newest first, paginated: an agency sees its own agency's jobs, the
    office and admins every one (as for one job); 403 for an enterprise or inspector token.
    Filter by kind and status, e.g. the running jobs to follow."""
    ensure_office(principal)
    rows, next_cursor = await service.search(
        session, principal=principal, page=page, kind=kind, status=status
    )
    return Page(items=[ImportJobOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/{job_id}", summary="An import job", response_model=ImportJobOut, responses=NOT_FOUND)
async def get_job(job_id: uuid.UUID, session: SessionDep, principal: Reader) -> ImportJobOut:
    """Status, progress and counts; the rows' outcomes are at `/outcomes`."""
    return ImportJobOut.model_validate(await service.get(session, job_id, principal=principal))


@router.get(
    "/{job_id}/outcomes",
    summary="An import job's row outcomes",
    response_model=Page[ImportOutcomeOut],
    responses=NOT_FOUND,
)
async def list_outcomes(
    job_id: uuid.UUID,
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    outcome: Annotated[
        str | None, Query(pattern="^(created|updated|rejected)$", description="Only these")
    ] = None,
) -> Page[ImportOutcomeOut]:
    """By row number; created, updated and rejected rows (unchanged ones are only counted)."""
    job = await service.get(session, job_id, principal=principal)
    rows, next_cursor = await service.outcomes(session, job, page=page, outcome=outcome)
    return Page(items=[ImportOutcomeOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/{job_id}/rejected",
    summary="The rejected rows as a spreadsheet",
    response_class=Response,
    responses={**NOT_FOUND, 200: {"content": {XLSX: {}}, "description": "An .xlsx workbook"}},
)
async def rejected(job_id: uuid.UUID, session: SessionDep, principal: Reader) -> Response:
    """The file's headings, each rejected row as given, its row number and the reason: fix
    the rows and import this file again."""
    job = await service.get(session, job_id, principal=principal)
    rows = [r async for r in service.rejected_rows(session, job)]
    body = spreadsheets.rejected_workbook(job.headings, rows)
    return Response(
        body,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="rejected-{job.id}.xlsx"'},
    )
