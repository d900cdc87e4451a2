"""Publish alliance standards, record adoptions and 同线同质同标 declarations, and count
adoption per zone."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.db import get_or_404, utcnow
from kit.events import StandardAdopted, StandardPublished
from kit.pagination import PageParams, keyset_page
from kit.problems import Conflict, invalid
from kit.vocabulary import INDUSTRIES, name
from services.registry.enterprises import service as enterprises
from services.registry.events import publish
from services.registry.memberships.models import Membership
from services.registry.programme.shared import insert_new, round4, today
from services.registry.programme.standards.models import (
    SameLineDeclaration,
    Standard,
    StandardAdoption,
)
from services.registry.programme.standards.schemas import (
    AdoptionIn,
    DeclarationIn,
    StandardIn,
    ZoneAdoption,
)
from services.registry.zones import service as zones
from services.registry.zones.models import Zone


async def publish_standard(
    session: AsyncSession, *, standard_in: StandardIn, principal: Principal
) -> Standard:
    """Record an alliance standard; 409 if its code and version exist, 422 when its
    industry is not its zone's."""
    if standard_in.zone_code:
        zone = await zones.get(session, standard_in.zone_code)
        if standard_in.industry is not None and standard_in.industry.value != zone.industry:
            raise invalid(
                "industry",
                f"zone '{zone.code}' is of the {zone.industry} industry, "
                f"not {standard_in.industry.value}",
                f"示范区“{zone.code}”属于{name(INDUSTRIES, zone.industry)}行业，而不是{name(INDUSTRIES, standard_in.industry)}",
            )
    standard = await insert_new(
        session,
        Standard,
        **standard_in.model_dump(exclude={"text", "text_sha256"}),
        text_sha256=standard_in.digest(),
        published_by=principal.subject,
        created_at=utcnow(),
    )
    if standard is None:
        published = await session.scalar(
            select(Standard.id).where(
                Standard.code == standard_in.code, Standard.version == standard_in.version
            )
        )
        raise Conflict(
            f"standard {standard_in.code} version {standard_in.version} is already published",
            detail_zh=f"标准 {standard_in.code} 的 {standard_in.version} 版已发布",
            standard_id=str(published),
        )
    await publish(
        session,
        "registry.standard.published.v1",
        standard.code,
        StandardPublished(
            standard_id=str(standard.id),
            code=standard.code,
            version=standard.version,
            title=standard.title,
            zone_code=standard.zone_code,
            industry=standard.industry,
            effective_on=standard.effective_on,
            text_sha256=standard.text_sha256,
        ),
    )
    return standard


async def get_standard(session: AsyncSession, standard_id: uuid.UUID) -> Standard:
    """A standard, or 404."""
    return await get_or_404(session, Standard, standard_id, "standard")


async def adopters(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Adopting enterprises per standard."""
    if not ids:
        return {}
    rows = await session.execute(
        select(StandardAdoption.standard_id, func.count())
        .where(StandardAdoption.standard_id.in_(ids))
        .group_by(StandardAdoption.standard_id)
    )
    return {sid: n for sid, n in rows}


async def list_standards(
    session: AsyncSession,
    *,
    page: PageParams,
    zone_code: str | None,
    industry: str | None,
    code: str | None,
) -> tuple[list[Standard], str | None]:
    """Standards, oldest first; with `zone`, those that apply to it (the zone's and its
    industry's)."""
    query = select(Standard)
    if zone_code:
        zone = await zones.get(session, zone_code)
        query = query.where(
            or_(
                Standard.zone_code == zone.code,
                and_(Standard.zone_code.is_(None), Standard.industry == zone.industry),
            )
        )
    if industry:
        query = query.where(Standard.industry == industry)
    if code:
        query = query.where(Standard.code == code)
    return await keyset_page(session, query, keys=[Standard.id], page=page)


async def adopt(
    session: AsyncSession, standard: Standard, *, adoption_in: AdoptionIn, principal: Principal
) -> tuple[StandardAdoption, bool]:
    """An enterprise adopts a standard; adopting again answers the existing adoption."""
    enterprise = await enterprises.get(session, adoption_in.uscc)
    key = (standard.id, enterprise.uscc)
    existing = await session.get(StandardAdoption, key)
    if existing is not None:
        return existing, False
    adoption = await insert_new(
        session,
        StandardAdoption,
        standard_id=standard.id,
        uscc=enterprise.uscc,
        adopted_on=adoption_in.adopted_on or today(),
        recorded_by=principal.subject,
        created_at=utcnow(),
    )
    if adoption is None:  # a concurrent request adopted it and committed meanwhile
        existing = await session.get(StandardAdoption, key, populate_existing=True)
        if existing is None:  # ON CONFLICT saw it; nothing deletes one, but never a 500
            raise Conflict(
                "the adoption changed while this request ran; retry",
                detail_zh="处理本请求期间该采标记录已被修改；请重试",
            )
        return existing, False
    await publish(
        session,
        "registry.standard.adopted.v1",
        enterprise.uscc,
        StandardAdopted(
            standard_id=str(standard.id),
            code=standard.code,
            version=standard.version,
            uscc=enterprise.uscc,
            on=adoption.adopted_on,
        ),
    )
    return adoption, True


async def list_adoptions(
    session: AsyncSession, standard: Standard, *, page: PageParams, uscc: str | None
) -> tuple[list[StandardAdoption], str | None]:
    """A standard's adopters, by USCC."""
    query = select(StandardAdoption).where(StandardAdoption.standard_id == standard.id)
    if uscc:
        query = query.where(StandardAdoption.uscc == uscc)
    return await keyset_page(session, query, keys=[StandardAdoption.uscc], page=page)


async def declare(
    session: AsyncSession,
    standard: Standard,
    *,
    declaration_in: DeclarationIn,
    principal: Principal,
) -> SameLineDeclaration:
    """同线同质同标 for a product; 409 unless the enterprise adopted the standard, or when
    the product is already declared to it."""
    enterprise = await enterprises.get(session, declaration_in.uscc)
    if await session.get(StandardAdoption, (standard.id, enterprise.uscc)) is None:
        raise Conflict(
            f"{enterprise.uscc} has not adopted {standard.code}; adopt the standard first",
            detail_zh=f"{enterprise.uscc} 尚未采用 {standard.code}；请先采用该标准",
            rule="adopted_first",
        )
    declared = await session.scalar(
        select(SameLineDeclaration.id).where(
            SameLineDeclaration.standard_id == standard.id,
            SameLineDeclaration.uscc == enterprise.uscc,
            SameLineDeclaration.product == declaration_in.product,
        )
    )
    if declared is not None:
        raise Conflict(
            f"'{declaration_in.product}' is already declared to {standard.code}",
            detail_zh=f"“{declaration_in.product}”已声明符合 {standard.code}",
            declaration_id=str(declared),
        )
    declaration = await insert_new(
        session,
        SameLineDeclaration,
        standard_id=standard.id,
        uscc=enterprise.uscc,
        product=declaration_in.product,
        hs_code=declaration_in.hs_code,
        declared_on=declaration_in.declared_on or today(),
        recorded_by=principal.subject,
        created_at=utcnow(),
    )
    if declaration is None:  # declared by a concurrent request since the check above
        declared = await session.scalar(
            select(SameLineDeclaration.id).where(
                SameLineDeclaration.standard_id == standard.id,
                SameLineDeclaration.uscc == enterprise.uscc,
                SameLineDeclaration.product == declaration_in.product,
            )
        )
        raise Conflict(
            f"'{declaration_in.product}' is already declared to {standard.code}",
            detail_zh=f"“{declaration_in.product}”已声明符合 {standard.code}",
            declaration_id=str(declared),
        )
    await publish(
        session,
        "registry.standard.declared.v1",
        enterprise.uscc,
        StandardAdopted(
            standard_id=str(standard.id),
            code=standard.code,
            version=standard.version,
            uscc=enterprise.uscc,
            on=declaration.declared_on,
            product=declaration.product,
            hs_code=declaration.hs_code,
        ),
    )
    return declaration


async def list_declarations(
    session: AsyncSession, standard: Standard, *, page: PageParams, uscc: str | None
) -> tuple[list[SameLineDeclaration], str | None]:
    """A standard's declarations, oldest first."""
    query = select(SameLineDeclaration).where(SameLineDeclaration.standard_id == standard.id)
    if uscc:
        query = query.where(SameLineDeclaration.uscc == uscc)
    return await keyset_page(session, query, keys=[SameLineDeclaration.id], page=page)


async def adoption_by_zone(
    session: AsyncSession, *, page: PageParams, zone_code: str | None
) -> tuple[list[ZoneAdoption], str | None]:
    """Per zone: applicable standards, admitted members, members adopting one, declarations."""
    query = select(Zone)
    if zone_code:
        query = query.where(Zone.code == zone_code)
    rows, next_cursor = await keyset_page(session, query, keys=[Zone.code], page=page)
    # one query for the page's zones (it was four per zone), each count correlated to its zone
    applies = or_(
        Standard.zone_code == Zone.code,
        and_(Standard.zone_code.is_(None), Standard.industry == Zone.industry),
    )
    applicable = select(Standard.id).where(applies).correlate(Zone)
    members = (
        select(Membership.uscc)
        .where(Membership.zone_code == Zone.code, Membership.status == "admitted")
        .correlate(Zone)
    )
    figures = select(
        Zone.code,
        select(func.count()).select_from(Standard).where(applies).correlate(Zone).scalar_subquery(),
        select(func.count()).select_from(members.subquery()).correlate(Zone).scalar_subquery(),
        select(func.count(func.distinct(StandardAdoption.uscc)))
        .where(StandardAdoption.standard_id.in_(applicable), StandardAdoption.uscc.in_(members))
        .correlate(Zone)
        .scalar_subquery(),
        select(func.count())
        .select_from(SameLineDeclaration)
        .where(
            SameLineDeclaration.standard_id.in_(applicable),
            SameLineDeclaration.uscc.in_(members),
        )
        .correlate(Zone)
        .scalar_subquery(),
    ).where(Zone.code.in_([z.code for z in rows]))
    counts = {row[0]: row[1:] for row in await session.execute(figures)}
    out = []
    for zone in rows:
        standards, member_count, adopting, declarations = counts[zone.code]
        out.append(
            ZoneAdoption(
                zone_code=zone.code,
                standards=standards or 0,
                members=member_count or 0,
                adopters=adopting or 0,
                adoption_rate=round4(adopting or 0, member_count or 0),
                declarations=declarations or 0,
            )
        )
    return out, next_cursor
