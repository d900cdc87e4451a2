"""Alliance standard endpoints: publish, list, adopt, declare, adoption per zone."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import ensure_own_enterprise
from kit.db import SessionDep
from kit.pagination import Page
from services.registry.domain import Industry
from services.registry.programme.shared import (
    OfficerWriter,
    Paging,
    Reader,
    UsccQuery,
    Writer,
    ZoneQuery,
    not_found,
    own_uscc,
)
from services.registry.programme.standards import service
from services.registry.programme.standards.schemas import (
    AdoptionIn,
    AdoptionOut,
    DeclarationIn,
    DeclarationOut,
    StandardIn,
    StandardOut,
    ZoneAdoption,
)

router = APIRouter(prefix="/v1/standards", tags=["alliance standards"])


async def _standard_out(session: AsyncSession, rows: list[Any]) -> list[StandardOut]:
    counts = await service.adopters(session, [s.id for s in rows])
    out = []
    for s in rows:
        item = StandardOut.model_validate(s)
        item.adopters = counts.get(s.id, 0)
        out.append(item)
    return out


@router.post(
    "",
    status_code=201,
    summary="Publish an alliance standard (产业联盟质量标准)",
    response_model=StandardOut,
    responses={
        404: {"description": "Zone not found"},
        409: {"description": "Code and version exist"},
        422: {"description": "e.g. an industry other than the zone's"},
    },
)
async def publish_standard(
    standard_in: StandardIn, session: SessionDep, principal: OfficerWriter, response: Response
) -> StandardOut:
    """For a zone or an industry; the text is kept by its SHA-256 (send the text or the
    hash). Emits `registry.standard.published`."""
    standard = await service.publish_standard(session, standard_in=standard_in, principal=principal)
    response.headers["Location"] = f"/v1/standards/{standard.id}"
    return (await _standard_out(session, [standard]))[0]


@router.get(
    "",
    summary="Alliance standards",
    response_model=Page[StandardOut],
    responses=not_found("Zone"),
)
async def list_standards(
    session: SessionDep,
    _: Reader,
    page: Paging,
    zone: ZoneQuery = None,
    industry: Annotated[Industry | None, Query(description="Industry")] = None,
    code: Annotated[str | None, Query(max_length=60, description="Standard number")] = None,
) -> Page[StandardOut]:
    """With `zone`, those that apply to it: the zone's own and its industry's."""
    rows, next_cursor = await service.list_standards(
        session, page=page, zone_code=zone, industry=industry, code=code
    )
    return Page(items=await _standard_out(session, rows), next_cursor=next_cursor)


@router.get(
    "/adoption-by-zone",
    summary="Standard adoption per zone (标准领跑)",
    response_model=Page[ZoneAdoption],
)
async def adoption_by_zone(
    session: SessionDep, _: Reader, page: Paging, zone: ZoneQuery = None
) -> Page[ZoneAdoption]:
    """Per zone (by code): applicable standards, admitted members, members that adopted one
    and the adoption rate, and their 同线同质同标 declarations."""
    rows, next_cursor = await service.adoption_by_zone(session, page=page, zone_code=zone)
    return Page(items=rows, next_cursor=next_cursor)


@router.get(
    "/{standard_id}",
    summary="An alliance standard",
    response_model=StandardOut,
    responses=not_found("Standard"),
)
async def get_standard(standard_id: uuid.UUID, session: SessionDep, _: Reader) -> StandardOut:
    """With its number of adopters."""
    return (await _standard_out(session, [await service.get_standard(session, standard_id)]))[0]


@router.post(
    "/{standard_id}/adoptions",
    status_code=201,
    summary="Adopt a standard",
    response_model=AdoptionOut,
    responses={
        200: {"model": AdoptionOut, "description": "Already adopted: the adoption"},
        404: {"description": "Standard or enterprise not found"},
    },
)
async def adopt(
    standard_id: uuid.UUID,
    adoption_in: AdoptionIn,
    session: SessionDep,
    principal: Writer,
    response: Response,
) -> AdoptionOut:
    """An enterprise token adopts for itself; agencies and the office for any enterprise.
    Emits `registry.standard.adopted` (once)."""
    ensure_own_enterprise(principal, adoption_in.uscc)
    standard = await service.get_standard(session, standard_id)
    adoption, created = await service.adopt(
        session, standard, adoption_in=adoption_in, principal=principal
    )
    response.status_code = 201 if created else 200
    return AdoptionOut.model_validate(adoption)


@router.get(
    "/{standard_id}/adoptions",
    summary="A standard's adopters",
    response_model=Page[AdoptionOut],
    responses=not_found("Standard"),
)
async def list_adoptions(
    standard_id: uuid.UUID,
    session: SessionDep,
    principal: Reader,
    page: Paging,
    uscc: UsccQuery = None,
) -> Page[AdoptionOut]:
    """By USCC; an enterprise token sees only its own."""
    standard = await service.get_standard(session, standard_id)
    rows, next_cursor = await service.list_adoptions(
        session, standard, page=page, uscc=own_uscc(principal, uscc)
    )
    return Page(items=[AdoptionOut.model_validate(a) for a in rows], next_cursor=next_cursor)


@router.post(
    "/{standard_id}/declarations",
    status_code=201,
    summary="Declare a product 同线同质同标",
    response_model=DeclarationOut,
    responses={
        404: {"description": "Standard or enterprise not found"},
        409: {"description": "Standard not adopted by the enterprise, or product declared"},
    },
)
async def declare(
    standard_id: uuid.UUID,
    declaration_in: DeclarationIn,
    session: SessionDep,
    principal: Writer,
) -> DeclarationOut:
    """Same line, same standard, same quality for export and the home market: the
    enterprise must have adopted the standard. Emits `registry.standard.declared`."""
    ensure_own_enterprise(principal, declaration_in.uscc)
    standard = await service.get_standard(session, standard_id)
    declaration = await service.declare(
        session, standard, declaration_in=declaration_in, principal=principal
    )
    return DeclarationOut.model_validate(declaration)


@router.get(
    "/{standard_id}/declarations",
    summary="A standard's 同线同质同标 declarations",
    response_model=Page[DeclarationOut],
    responses=not_found("Standard"),
)
async def list_declarations(
    standard_id: uuid.UUID,
    session: SessionDep,
    principal: Reader,
    page: Paging,
    uscc: UsccQuery = None,
) -> Page[DeclarationOut]:
    """Oldest first; an enterprise token sees only its own."""
    standard = await service.get_standard(session, standard_id)
    rows, next_cursor = await service.list_declarations(
        session, standard, page=page, uscc=own_uscc(principal, uscc)
    )
    return Page(items=[DeclarationOut.model_validate(d) for d in rows], next_cursor=next_cursor)
