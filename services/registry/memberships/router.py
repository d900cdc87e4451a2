"""Membership and commitment endpoints (准入/退出, 质量诚信承诺书)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from kit.auth import Principal, ensure_office, ensure_own_enterprise, require
from kit.db import SessionDep
from kit.pagination import Page, PageParams, page_params
from kit.uscc import normalize
from kit.validation import UsccPath, ZoneCodePath
from services.registry.memberships import service
from services.registry.memberships.schemas import (
    ApplicationIn,
    BreachIn,
    CommitmentIn,
    CommitmentOut,
    DecisionIn,
    DecisionOut,
    MembershipDetail,
    MembershipOut,
    MembershipStatus,
)
from services.registry.zones import service as zones
from services.registry.zones.filters import KnownZone

router = APIRouter(tags=["memberships"])
Reader = Annotated[Principal, Depends(require("registry:read"))]
Writer = Annotated[Principal, Depends(require("registry:write"))]


@router.post(
    "/v1/zones/{code}/applications",
    status_code=201,
    response_model=MembershipOut,
    summary="Apply to join a zone (申请准入)",
    responses={
        404: {"description": "Zone or enterprise not found"},
        409: {"description": "An open membership exists"},
    },
)
async def apply(
    code: ZoneCodePath,
    application: ApplicationIn,
    session: SessionDep,
    principal: Writer,
    response: Response,
) -> MembershipOut:
    """Opens a membership in status `applied`; one open membership per enterprise and zone."""
    ensure_own_enterprise(principal, application.uscc)
    membership = await service.apply(session, code, application=application, principal=principal)
    response.headers["Location"] = f"/v1/memberships/{membership.id}"
    return MembershipOut.model_validate(membership)


@router.get(
    "/v1/zones/{code}/applications",
    response_model=Page[MembershipOut],
    summary="A zone's memberships",
    responses={404: {"description": "Zone not found"}},
)
async def list_zone_memberships(
    code: ZoneCodePath,
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    status: Annotated[MembershipStatus | None, Query()] = None,
) -> Page[MembershipOut]:
    """Every membership of the zone, newest first, optionally by status."""
    await zones.get(session, code)
    rows, next_cursor = await service.search(
        session, page=page, zone_code=code, uscc=principal.uscc, status=status, under_review=None
    )
    return Page(items=[MembershipOut.model_validate(m) for m in rows], next_cursor=next_cursor)


@router.get("/v1/memberships", response_model=Page[MembershipOut], summary="Search memberships")
async def list_memberships(
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    zone: KnownZone,
    uscc: Annotated[str | None, Query(max_length=18)] = None,
    status: Annotated[MembershipStatus | None, Query()] = None,
    under_review: Annotated[bool | None, Query(description="Removal review pending")] = None,
) -> Page[MembershipOut]:
    """Filter by zone, enterprise, status and pending removal review."""
    if principal.uscc is not None:
        uscc = principal.uscc
    rows, next_cursor = await service.search(
        session, page=page, zone_code=zone, uscc=uscc, status=status, under_review=under_review
    )
    return Page(items=[MembershipOut.model_validate(m) for m in rows], next_cursor=next_cursor)


@router.get(
    "/v1/memberships/{membership_id}",
    response_model=MembershipDetail,
    summary="A membership and its history",
    responses={404: {"description": "Not found"}},
)
async def get_membership(
    membership_id: uuid.UUID, session: SessionDep, principal: Reader
) -> MembershipDetail:
    """With every decision, oldest first."""
    membership = await service.get(session, membership_id)
    ensure_own_enterprise(principal, membership.uscc)
    history = [DecisionOut.model_validate(d) for d in await service.history(session, membership.id)]
    return MembershipDetail(
        **MembershipOut.model_validate(membership).model_dump(), history=history
    )


@router.post(
    "/v1/memberships/{membership_id}/decision",
    response_model=MembershipOut,
    summary="Decide on a membership (考核/准入/驳回/暂停/恢复/除名)",
    responses={
        404: {"description": "Not found"},
        409: {
            "description": "Decision not possible in the current status, or admission "
            "refused by the credit measures of the enterprise's level (rule credit_measure)"
        },
        422: {"description": "A reason is missing (a C-level admission needs one by default)"},
    },
)
async def decide(
    membership_id: uuid.UUID, decision_in: DecisionIn, session: SessionDep, principal: Writer
) -> MembershipOut:
    """assess, admit, reject (reason), suspend (reason), reinstate, remove (reason); admit
    follows the `zone_admission` of credit's measures for the enterprise's level."""
    ensure_office(principal)
    membership = await service.get(session, membership_id, for_update=True)
    membership = await service.decide(
        session, membership, decision_in=decision_in, principal=principal
    )
    return MembershipOut.model_validate(membership)


@router.get(
    "/v1/enterprises/{uscc}/commitments",
    response_model=Page[CommitmentOut],
    summary="An enterprise's integrity commitments",
    tags=["commitments"],
    responses={404: {"description": "Enterprise not found"}},
)
async def list_commitments(
    uscc: UsccPath,
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[CommitmentOut]:
    """Newest first."""
    ensure_own_enterprise(principal, normalize(uscc))
    rows, next_cursor = await service.list_commitments(session, uscc, page=page)
    return Page(
        items=await service.commitments_out(session, rows, principal=principal),
        next_cursor=next_cursor,
    )


@router.post(
    "/v1/enterprises/{uscc}/commitments",
    status_code=201,
    response_model=CommitmentOut,
    summary="Record a signed integrity commitment (质量诚信承诺书)",
    tags=["commitments"],
    responses={
        404: {"description": "Enterprise or zone not found"},
        409: {
            "description": "The zone is revoked (`rule: zone_revoked`) or the enterprise "
            "neither applied to nor belongs to it (`rule: applicant_or_member`)"
        },
    },
)
async def sign_commitment(
    uscc: UsccPath, commitment_in: CommitmentIn, session: SessionDep, principal: Writer
) -> CommitmentOut:
    """Stores the SHA-256 of the signed text, not the text; supersedes the zone's commitment
    in force (version + 1). It counts for credit once the zone office countersigns it."""
    ensure_own_enterprise(principal, normalize(uscc))
    commitment = await service.sign_commitment(
        session, uscc, commitment_in=commitment_in, principal=principal
    )
    return (await service.commitments_out(session, [commitment], principal=principal))[0]


@router.post(
    "/v1/enterprises/{uscc}/commitments/{commitment_id}/countersign",
    response_model=CommitmentOut,
    summary="Countersign a commitment (会签): from now it counts for credit",
    tags=["commitments"],
    responses={
        403: {"description": "Not the zone office or an administrator"},
        404: {"description": "Not found"},
        409: {"description": "The commitment is not a signed one in force"},
    },
)
async def countersign_commitment(
    uscc: UsccPath, commitment_id: uuid.UUID, session: SessionDep, principal: Writer
) -> CommitmentOut:
    """Records who countersigned and when; emits `registry.commitment.countersigned`, which
    credit turns into the enterprise's one commitment fact for the zone."""
    ensure_office(principal)
    commitment = await service.countersign_commitment(
        session, uscc, commitment_id, principal=principal
    )
    return (await service.commitments_out(session, [commitment], principal=principal))[0]


@router.post(
    "/v1/enterprises/{uscc}/commitments/{commitment_id}/breach",
    response_model=CommitmentOut,
    summary="Mark a commitment breached",
    tags=["commitments"],
    responses={
        404: {"description": "Not found"},
        409: {"description": "Already breached, or not in force"},
    },
)
async def breach_commitment(
    uscc: UsccPath,
    commitment_id: uuid.UUID,
    breach_in: BreachIn,
    session: SessionDep,
    principal: Writer,
) -> CommitmentOut:
    """Names the severity and the evidence; emits `registry.commitment.breached`, which
    credit turns into a credit fact of that severity."""
    ensure_office(principal)
    commitment = await service.breach_commitment(
        session, uscc, commitment_id, breach_in=breach_in, principal=principal
    )
    return (await service.commitments_out(session, [commitment], principal=principal))[0]
