"""Record responsibilities and route a problem to the party that answers for it."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.db import utcnow
from kit.events import ResponsibilityAssigned
from kit.pagination import PageParams, keyset_page
from kit.problems import Conflict, NotFound
from services.registry import personal
from services.registry.enterprises import service as enterprises
from services.registry.events import publish
from services.registry.memberships.models import Membership
from services.registry.programme.responsibilities.models import Responsibility
from services.registry.programme.responsibilities.schemas import (
    ResponsibilityIn,
    ResponsibilityOut,
    RoutedParty,
    RouteOut,
    Tier,
)
from services.registry.programme.shared import get_agency, insert_new
from services.registry.zones import service as zones

PRIMARY_RULE = "企业是产品质量安全第一责任人 (the enterprise is first responsible for its products)"


async def assign_responsibility(
    session: AsyncSession, *, responsibility_in: ResponsibilityIn, principal: Principal
) -> tuple[Responsibility, bool]:
    """Record who answers for what; the same party, zone, tier and topic again replaces
    its duty. Returns the row and whether it is new."""
    r = responsibility_in
    if r.zone_code:
        await zones.get(session, r.zone_code)
    if r.agency_code:
        await get_agency(session, r.agency_code)
    if r.uscc:
        enterprise = await enterprises.get(session, r.uscc)
        if r.tier is Tier.primary and not await _admitted(session, r.zone_code, enterprise.uscc):
            raise Conflict(
                f"{enterprise.uscc} is not an admitted member of zone '{r.zone_code}': an "
                "enterprise is first responsible in a zone it belongs to",
                detail_zh=f"{enterprise.uscc} 不是示范区“{r.zone_code}”已准入的成员企业："
                "企业只在其所属的示范区承担第一责任",
                rule="zone_member",
                field="uscc",
            )
    # a concurrent request for the same party waits here for the other to commit, then
    # replaces the duty as a sequential repeat does
    row = await insert_new(
        session,
        Responsibility,
        zone_code=r.zone_code,
        tier=r.tier.value,
        topic=r.topic,
        agency_code=r.agency_code,
        uscc=r.uscc,
        duty=r.duty,
        responsible_person=r.responsible_person,
        recorded_by=principal.subject,
        updated_at=utcnow(),
    )
    created = row is not None
    if row is None:
        row = await session.scalar(
            select(Responsibility)
            .where(
                Responsibility.zone_code.is_not_distinct_from(r.zone_code),
                Responsibility.tier == r.tier.value,
                Responsibility.topic == r.topic,
                Responsibility.agency_code.is_not_distinct_from(r.agency_code),
                Responsibility.uscc.is_not_distinct_from(r.uscc),
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if row is None:  # ON CONFLICT saw it; nothing deletes one, but never a 500
            raise Conflict(
                "the responsibility changed while this request ran; retry",
                detail_zh="处理本请求期间该责任已被修改；请重试",
            )
        row.duty = r.duty
        row.responsible_person = r.responsible_person
        row.recorded_by = principal.subject
        row.updated_at = utcnow()
        await session.flush()
    await publish(
        session,
        "registry.responsibility.assigned.v1",
        r.zone_code or "county",
        ResponsibilityAssigned(
            responsibility_id=str(row.id),
            zone_code=row.zone_code,
            tier=r.tier.value,
            topic=row.topic,
            agency_code=row.agency_code,
            uscc=row.uscc,
        ),
    )
    return row, created


async def list_responsibilities(
    session: AsyncSession,
    *,
    page: PageParams,
    zone_code: str | None,
    tier: str | None,
    topic: str | None,
    agency_code: str | None,
    uscc: str | None,
    viewer_uscc: str | None = None,
) -> tuple[list[Responsibility], str | None]:
    """Responsibilities; with `zone`, the zone's and the county-wide ones. An enterprise
    (`viewer_uscc`) sees the agencies' and its own, not other enterprises'."""
    query = select(Responsibility)
    if viewer_uscc:
        query = query.where(or_(Responsibility.uscc.is_(None), Responsibility.uscc == viewer_uscc))
    if zone_code:
        query = query.where(
            or_(Responsibility.zone_code == zone_code, Responsibility.zone_code.is_(None))
        )
    if tier:
        query = query.where(Responsibility.tier == tier)
    if topic:
        query = query.where(Responsibility.topic == topic)
    if agency_code:
        query = query.where(Responsibility.agency_code == agency_code)
    if uscc:
        query = query.where(Responsibility.uscc == uscc)
    return await keyset_page(session, query, keys=[Responsibility.id], page=page)


async def responsibilities_out(
    session: AsyncSession, rows: list[Responsibility], *, principal: Principal
) -> list[ResponsibilityOut]:
    """API views; an enterprise's first responsible person (the primary tier) masked unless
    `principal` may see that enterprise's personal information. The other tiers name
    officials acting in office, shown to every reader."""
    view = await personal.viewer(session, principal, usccs=[r.uscc for r in rows])
    return [_shown(view, ResponsibilityOut.model_validate(r)) for r in rows]


P = TypeVar("P", ResponsibilityOut, RoutedParty)


def _shown(view: personal.Viewer, party: P) -> P:
    if party.tier is not Tier.primary:
        return party
    return view.show(party, party.uscc, personal.PERSON_MASKS)


async def _admitted(session: AsyncSession, zone_code: str | None, uscc: str) -> bool:
    return bool(
        await session.scalar(
            select(
                exists().where(
                    Membership.zone_code == zone_code,
                    Membership.uscc == uscc,
                    Membership.status == "admitted",
                )
            )
        )
    )


def _party(r: Responsibility, zone_code: str) -> RoutedParty:
    return RoutedParty(
        tier=Tier(r.tier),
        agency_code=r.agency_code,
        uscc=r.uscc,
        duty=r.duty,
        responsible_person=r.responsible_person,
        source="zone" if r.zone_code == zone_code else "county",
    )


async def route(
    session: AsyncSession, *, zone_code: str, topic: str, uscc: str | None, principal: Principal
) -> RouteOut:
    """Route a problem on `topic` in a zone: the supervising agency (the zone's before the
    county-wide, for the topic before one for `all`), else whoever is responsible overall;
    the enterprise named is first responsible. 404 when nobody is responsible at all."""
    zone = await zones.get(session, zone_code)
    rows = list(
        (
            await session.scalars(
                select(Responsibility).where(
                    or_(Responsibility.zone_code == zone.code, Responsibility.zone_code.is_(None)),
                    Responsibility.topic.in_((topic, "all")),
                    Responsibility.tier != Tier.primary.value,
                )
            )
        ).all()
    )

    def best(tier: Tier) -> Responsibility | None:
        ranked = sorted(
            (r for r in rows if r.tier == tier.value),
            # the zone's before the county's, the topic's before `all`, then the oldest
            key=lambda r: (r.zone_code is None, r.topic != topic, r.id),
        )
        return ranked[0] if ranked else None

    supervisory, overall = best(Tier.supervisory), best(Tier.overall)
    first: RoutedParty | None = None
    if uscc:
        enterprise = await enterprises.get(session, uscc)
        recorded = await session.scalar(
            select(Responsibility)
            .where(
                Responsibility.zone_code == zone.code,
                Responsibility.tier == Tier.primary.value,
                Responsibility.uscc == enterprise.uscc,
                Responsibility.topic.in_((topic, "all")),
            )
            .order_by(Responsibility.topic != topic)
            .limit(1)
        )
        first = (
            _party(recorded, zone.code)
            if recorded
            else RoutedParty(
                tier=Tier.primary,
                agency_code=None,
                uscc=enterprise.uscc,
                duty=PRIMARY_RULE,
                responsible_person=enterprise.legal_representative,
                source="rule",
            )
        )
    if first is not None:  # a person of the enterprise: masked as its record is
        first = _shown(await personal.viewer(session, principal, usccs=[first.uscc]), first)
    chain = [
        *([first] if first else []),
        *(_party(r, zone.code) for r in (supervisory, overall) if r is not None),
    ]
    owner_row = supervisory or overall
    if owner_row is None:
        raise NotFound("responsibility", f"{zone.code}/{topic}")
    return RouteOut(
        zone_code=zone.code,
        topic=topic,
        owner=_party(owner_row, zone.code),
        first_responsible=first,
        chain=chain,
    )
