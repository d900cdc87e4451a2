"""Scoring model, joint measures and rescoring job endpoints."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response

from kit.auth import Principal, require
from kit.concurrency import check_if_match, set_etag
from kit.db import SessionDep
from kit.pagination import Page, PageParams, page_params
from services.credit.policy import service
from services.credit.policy.models import ModelVersion
from services.credit.policy.schemas import (
    JobIn,
    JobOut,
    MeasuresOut,
    ModelIn,
    ModelOut,
    ModelVersionSummary,
)

router = APIRouter(prefix="/v1/credit", tags=["scoring model"])
Reader = Annotated[Principal, Depends(require("credit:read"))]
Admin = Annotated[Principal, Depends(require("admin"))]


def _out(row: ModelVersion, job: JobOut | None = None) -> ModelOut:
    return ModelOut(
        version=row.version,
        note=row.note,
        created_by=row.created_by,
        created_at=row.created_at,
        model=service.parse(row),
        rescore_job=job,
    )


@router.get("/model", summary="The scoring model in force", response_model=ModelOut)
async def get_model(session: SessionDep, principal: Reader, response: Response) -> ModelOut:
    """Weights, decay, caps, level bands, overrides and measures; the ETag is its version."""
    row = await service.current_row(session)
    set_etag(response, row.version)
    return _out(row)


@router.put(
    "/model",
    summary="Publish a new scoring model version",
    response_model=ModelOut,
    responses={
        409: {"description": "Another version was published at the same moment"},
        412: {"description": "If-Match does not name the version in force"},
        422: {"description": "Bands overlap, leave a gap or miss a level; bad weights …"},
    },
)
async def put_model(
    model_in: ModelIn,
    request: Request,
    session: SessionDep,
    principal: Admin,
    response: Response,
) -> ModelOut:
    """Stores the next version and starts a job that rescores every enterprise under it;
    follow `rescore_job` at `/v1/credit/jobs/{id}` for progress and level changes.
    Send `If-Match` with the ETag of the version you edited."""
    current = await service.lock_current(session)
    check_if_match(request, current.version)
    row, job = await service.publish_version(
        session, model_in=model_in, principal=principal, after=current
    )
    set_etag(response, row.version)
    response.headers["Location"] = f"/v1/credit/jobs/{job.id}"
    return _out(row, JobOut.model_validate(job))


@router.get(
    "/model/versions", summary="Scoring model versions", response_model=Page[ModelVersionSummary]
)
async def list_versions(
    session: SessionDep, principal: Reader, page: Annotated[PageParams, Depends(page_params)]
) -> Page[ModelVersionSummary]:
    """Newest first."""
    rows, next_cursor = await service.list_versions(session, page)
    return Page(
        items=[ModelVersionSummary.model_validate(r) for r in rows], next_cursor=next_cursor
    )


@router.get(
    "/model/versions/{version}",
    summary="One scoring model version",
    response_model=ModelOut,
    responses={404: {"description": "No such version"}},
)
async def get_version(
    version: Annotated[int, Path(ge=1, le=2_147_483_647)], session: SessionDep, principal: Reader
) -> ModelOut:
    """Any version, so a past score can be explained."""
    return _out(await service.get_version(session, version))


@router.get(
    "/measures", summary="Joint rewards and punishments by level", response_model=MeasuresOut
)
async def get_measures(session: SessionDep, principal: Reader) -> MeasuresOut:
    """联合奖惩: what each level brings, for other services and agencies to apply."""
    version, model = await service.current(session)
    return service.measures_of(version, model)


@router.post("/jobs", status_code=202, summary="Rescore everyone now", response_model=JobOut)
async def start_job(
    session: SessionDep, principal: Admin, response: Response, body: JobIn | None = None
) -> JobOut:
    """Queues a rescoring under the model in force (time decay also runs daily by itself)."""
    job = await service.start_manual(session, principal.subject)
    response.headers["Location"] = f"/v1/credit/jobs/{job.id}"
    return JobOut.model_validate(job)


@router.get("/jobs", summary="Rescoring jobs", response_model=Page[JobOut])
async def list_jobs(
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[JobOut]:
    """Newest first."""
    rows, next_cursor = await service.list_jobs(session, page)
    return Page(items=[JobOut.model_validate(r) for r in rows], next_cursor=next_cursor)


NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such job"}}


@router.get(
    "/jobs/{job_id}",
    summary="A rescoring job's progress",
    response_model=JobOut,
    responses=NOT_FOUND,
)
async def get_job(job_id: uuid.UUID, session: SessionDep, principal: Reader) -> JobOut:
    """Status, processed of total, level changes so far."""
    return JobOut.model_validate(await service.get_job(session, job_id))
