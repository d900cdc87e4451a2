"""Acceptance endpoints (考核验收): a zone's application and its authority's decision."""

from typing import Annotated

from fastapi import APIRouter, Path, Response

from kit.db import SessionDep
from services.registry.programme.acceptance import service
from services.registry.programme.acceptance.schemas import (
    AcceptanceApplicationIn,
    AcceptanceApplicationOut,
    AcceptanceDecisionIn,
    AcceptanceDecisionOut,
    AcceptanceOut,
)
from services.registry.programme.shared import ZONE_CODE, OfficerReader, OfficerWriter, not_found
from services.registry.zones import service as zones

ZonePath = Annotated[str, Path(pattern=ZONE_CODE, description="Zone code")]

router = APIRouter(prefix="/v1/zones", tags=["acceptance"])


@router.get(
    "/{code}/acceptance",
    summary="A zone's acceptance record (考核验收)",
    response_model=AcceptanceOut,
    responses=not_found("Zone"),
)
async def get_acceptance(code: ZonePath, session: SessionDep, _: OfficerReader) -> AcceptanceOut:
    """The accepting authority (its agency code), the applications and the decisions; for
    the zone office and agencies (enterprise and inspector tokens: 403)."""
    return await service.record(session, await zones.get(session, code))


@router.post(
    "/{code}/acceptance/applications",
    status_code=201,
    summary="Apply for a zone's acceptance (验收申请)",
    response_model=AcceptanceApplicationOut,
    responses={
        **not_found("Zone"),
        403: {"description": "Not the leadership group's office"},
        409: {"description": "`rule`: zone_assessing or one_open_application"},
    },
)
async def file_application(
    code: ZonePath,
    application_in: AcceptanceApplicationIn,
    session: SessionDep,
    principal: OfficerWriter,
    response: Response,
) -> AcceptanceApplicationOut:
    """By the leadership group's office (the agency whose group role is `office`, or an admin)
    for a zone in `assessing`: the self-assessment summary and the dossier's SHA-256. Emits
    `registry.acceptance.applied`."""
    zone = await zones.get(session, code, for_update=True)
    application = await service.file_application(
        session, zone, application_in=application_in, principal=principal
    )
    response.headers["Location"] = f"/v1/zones/{code}/acceptance"
    return AcceptanceApplicationOut.model_validate(application)


@router.post(
    "/{code}/acceptance/decision",
    status_code=201,
    summary="Record the accepting authority's decision (验收结论)",
    response_model=AcceptanceDecisionOut,
    responses={
        **not_found("Zone"),
        403: {"description": "Not the zone's accepting authority (nor an admin for it)"},
        409: {"description": "`rule`: application_filed, admitted_members or zone_assessing"},
    },
)
async def decide(
    code: ZonePath, decision_in: AcceptanceDecisionIn, session: SessionDep, principal: OfficerWriter
) -> AcceptanceDecisionOut:
    """Only a token of the zone's accepting authority (`acceptance_authority.agency`:
    `ningbo_ciq` for provincial zones, `aqsiq` for national ones), or an admin acting for it
    (recorded as `on_behalf`). `accepted` needs a filed application and an admitted member and
    moves the zone to `accepted`; `returned` sends the application back. Emits
    `registry.acceptance.decided` (and `registry.zone.transitioned` when accepted)."""
    zone = await zones.get(session, code, for_update=True)
    decision = await service.decide(session, zone, decision_in=decision_in, principal=principal)
    return AcceptanceDecisionOut.model_validate(decision)
