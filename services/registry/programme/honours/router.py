"""Honours endpoints: award rounds, candidates, nominations and grants."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from kit.auth import ensure_own_enterprise
from kit.db import SessionDep
from kit.pagination import Page
from services.registry.programme.honours import service
from services.registry.programme.honours.schemas import (
    AwardRoundIn,
    AwardRoundOut,
    Candidate,
    NominationIn,
    NominationOut,
)
from services.registry.programme.shared import (
    Admin,
    OfficerReader,
    Paging,
    Reader,
    Writer,
    ZoneQuery,
    not_found,
)

UsccPath = Annotated[str, Path(min_length=18, max_length=18, description="USCC")]

router = APIRouter(prefix="/v1/awards", tags=["honours"])


@router.post(
    "",
    status_code=201,
    summary="Open an award round (推优评优)",
    response_model=AwardRoundOut,
    responses=not_found("Zone"),
)
async def open_round(
    round_in: AwardRoundIn, session: SessionDep, principal: Admin, response: Response
) -> AwardRoundOut:
    """Admin only. Criteria: the credit levels allowed (A only by default), optionally a zone
    (its admitted members) or an industry; an open serious risk alert always blocks. Emits
    `registry.award.opened`."""
    award_round = await service.open_round(session, round_in=round_in, principal=principal)
    response.headers["Location"] = f"/v1/awards/{award_round.id}"
    return AwardRoundOut.model_validate(award_round)


@router.get("", summary="Award rounds", response_model=Page[AwardRoundOut])
async def list_rounds(
    session: SessionDep,
    _: Reader,
    page: Paging,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="Year honoured")] = None,
    zone: ZoneQuery = None,
) -> Page[AwardRoundOut]:
    """Newest first."""
    rows, next_cursor = await service.list_rounds(session, page=page, year=year, zone_code=zone)
    return Page(items=[AwardRoundOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/{round_id}",
    summary="An award round",
    response_model=AwardRoundOut,
    responses=not_found("Award round"),
)
async def get_round(round_id: uuid.UUID, session: SessionDep, _: Reader) -> AwardRoundOut:
    """Its criteria."""
    return AwardRoundOut.model_validate(await service.get_round(session, round_id))


@router.get(
    "/{round_id}/candidates",
    summary="Candidates, each with what blocks it",
    response_model=Page[Candidate],
    responses=not_found("Award round"),
)
async def candidates(
    round_id: uuid.UUID,
    session: SessionDep,
    _: OfficerReader,
    page: Paging,
    eligible: Annotated[bool | None, Query(description="Only eligible, or only blocked")] = None,
) -> Page[Candidate]:
    """Every enterprise in the round's scope by USCC, with its credit level and, when
    ineligible, each blocking rule: `credit_level`, `open_serious_alert` (联合惩戒)."""
    award_round = await service.get_round(session, round_id)
    rows, next_cursor = await service.candidates(session, award_round, page=page, eligible=eligible)
    return Page(items=rows, next_cursor=next_cursor)


@router.post(
    "/{round_id}/nominations",
    status_code=201,
    summary="Nominate an enterprise",
    response_model=NominationOut,
    responses={
        404: {"description": "Round or enterprise not found"},
        409: {"description": "Ineligible (`rule` names the blocking rule) or already nominated"},
    },
)
async def nominate(
    round_id: uuid.UUID, nomination_in: NominationIn, session: SessionDep, principal: Writer
) -> NominationOut:
    """Agencies and the office nominate; an enterprise token may put itself forward. An
    ineligible enterprise is a 409 whose `rule` is `scope`, `credit_level` or
    `open_serious_alert`, with every blocking reason. Emits `registry.award.nominated`."""
    ensure_own_enterprise(principal, nomination_in.uscc)
    award_round = await service.get_round(session, round_id)
    nomination = await service.nominate(
        session, award_round, nomination_in=nomination_in, principal=principal
    )
    return NominationOut.model_validate(nomination)


@router.get(
    "/{round_id}/nominations",
    summary="A round's nominations",
    response_model=Page[NominationOut],
    responses=not_found("Award round"),
)
async def list_nominations(
    round_id: uuid.UUID,
    session: SessionDep,
    principal: Reader,
    page: Paging,
    status: Annotated[
        str | None, Query(pattern="^(nominated|granted)$", description="nominated or granted")
    ] = None,
) -> Page[NominationOut]:
    """By USCC; an enterprise token sees only its own."""
    award_round = await service.get_round(session, round_id)
    rows, next_cursor = await service.list_nominations(
        session, award_round, page=page, status=status, uscc=principal.uscc
    )
    return Page(items=[NominationOut.model_validate(n) for n in rows], next_cursor=next_cursor)


@router.post(
    "/{round_id}/nominations/{uscc}/grant",
    summary="Grant the award (品牌提升行动)",
    response_model=NominationOut,
    responses={
        404: {"description": "Round or nomination not found"},
        409: {"description": "Ineligible now (`rule` names it) or already granted"},
    },
)
async def grant(
    round_id: uuid.UUID, uscc: UsccPath, session: SessionDep, principal: Admin
) -> NominationOut:
    """Admin only. Eligibility is checked again: a level that fell or a serious alert raised
    since the nomination blocks it (409 naming the rule). Emits `registry.award.granted`."""
    award_round = await service.get_round(session, round_id)
    return NominationOut.model_validate(
        await service.grant(session, award_round, uscc, principal=principal)
    )
