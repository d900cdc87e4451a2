"""Mutual recognition endpoints (监管互认)."""

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response

from kit.auth import Principal, ensure_office, require
from kit.concurrency import set_etag
from kit.db import SessionDep, utcnow
from kit.pagination import Page, PageParams, page_params
from kit.problems import ProblemError
from kit.uscc import normalize
from kit.validation import AGENCY_PATTERN
from services.credit.config import settings
from services.credit.domain import ResultKind
from services.credit.recognitions import service
from services.credit.recognitions.schemas import (
    CoverageOut,
    RecognitionIn,
    RecognitionOut,
    RevokeIn,
)

router = APIRouter(prefix="/v1/credit/recognitions", tags=["recognitions"])
Reader = Annotated[Principal, Depends(require("credit:read"))]
Writer = Annotated[Principal, Depends(require("credit:write"))]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such recognition"}}
Agency = Annotated[str | None, Query(max_length=40, pattern=AGENCY_PATTERN)]


@router.post(
    "",
    status_code=201,
    summary="Recognise another agency's results",
    response_model=RecognitionOut,
    responses={422: {"description": "Period ends before it starts, self-recognition …"}},
)
async def grant(
    body: RecognitionIn, session: SessionDep, principal: Writer, response: Response
) -> RecognitionOut:
    """The token's agency accepts the named agency's results of one kind, for a scope and a
    period; emitted as `credit.recognition.granted`."""
    ensure_office(principal)
    recognition = await service.grant(session, recognition_in=body, principal=principal)
    set_etag(response, recognition.version)
    response.headers["Location"] = f"/v1/credit/recognitions/{recognition.id}"
    return RecognitionOut.model_validate(recognition)


@router.get("", summary="The recognition ledger", response_model=Page[RecognitionOut])
async def list_recognitions(
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    recognising_agency: Agency = None,
    recognised_agency: Agency = None,
    result_kind: Annotated[ResultKind | None, Query()] = None,
    status: Annotated[Literal["active", "revoked"] | None, Query()] = None,
    active_on: Annotated[date | None, Query(description="Active on this day")] = None,
) -> Page[RecognitionOut]:
    """Newest first."""
    rows, next_cursor = await service.search(
        session,
        page=page,
        recognising_agency=recognising_agency,
        recognised_agency=recognised_agency,
        result_kind=result_kind,
        status=status,
        active_on=active_on,
    )
    return Page(items=[RecognitionOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/coverage",
    summary="Is an enterprise's item covered by a recognised result?",
    response_model=CoverageOut,
    responses={404: {"description": "Enterprise not known"}},
)
async def coverage(
    session: SessionDep,
    principal: Reader,
    uscc: Annotated[str, Query(min_length=1, max_length=18)],
    agency: Agency = None,
    item: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    on: Annotated[date | None, Query(description="Day to answer for; today by default")] = None,
    result_kind: Annotated[ResultKind | None, Query()] = None,
) -> CoverageOut:
    """For inspection's scheduler: whether `agency` (the token's by default) already accepts
    a result about this enterprise's checklist `item`, so it need not inspect it again."""
    ensure_office(principal)
    asking = agency or principal.agency or (settings.office_agency if principal.is_admin else None)
    if asking is None:
        raise ProblemError(
            "validation",
            "agency is required: the token names no agency",
            detail_zh="令牌未指明部门，须填写 agency（部门）",
            errors=[
                {
                    "field": "agency",
                    "reason": "required when the token has no agency",
                    "reason_zh": "令牌未指明部门时为必填项",
                }
            ],
        )
    return await service.coverage(
        session,
        uscc=normalize(uscc),
        agency=asking,
        item=item,
        on=on or utcnow().date(),
        result_kind=result_kind,
    )


@router.get(
    "/{recognition_id}",
    summary="One recognition",
    response_model=RecognitionOut,
    responses=NOT_FOUND,
)
async def get_recognition(
    recognition_id: uuid.UUID, session: SessionDep, principal: Reader, response: Response
) -> RecognitionOut:
    """One entry of the ledger."""
    recognition = await service.get(session, recognition_id)
    set_etag(response, recognition.version)
    return RecognitionOut.model_validate(recognition)


@router.post(
    "/{recognition_id}/revoke",
    summary="Revoke a recognition",
    response_model=RecognitionOut,
    responses={**NOT_FOUND, 409: {"description": "Already revoked"}},
)
async def revoke(
    recognition_id: uuid.UUID,
    body: RevokeIn,
    session: SessionDep,
    principal: Writer,
    response: Response,
) -> RecognitionOut:
    """By the recognising agency; emitted as `credit.recognition.revoked`."""
    ensure_office(principal)
    recognition = await service.get(session, recognition_id, for_update=True)
    recognition = await service.revoke(
        session, recognition, reason=body.reason, principal=principal
    )
    set_etag(response, recognition.version)
    return RecognitionOut.model_validate(recognition)
