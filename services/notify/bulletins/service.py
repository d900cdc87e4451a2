"""Publishing a bulletin to the enterprises whose products and markets it touches."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.db import get_or_404
from kit.events import BulletinPublished
from kit.pagination import PageParams, keyset_page
from kit.vocabulary import NOTICES
from services.notify.bulletins.models import Bulletin, Recipient
from services.notify.bulletins.schemas import BulletinIn, BulletinOut
from services.notify.events import publish
from services.notify.inbox.models import Message
from services.notify.inbox.service import Recipient as To
from services.notify.inbox.service import send

KIND_NAMES = {kind: NOTICES[kind] for kind in ("wto_tbt", "regulation")}


async def recipients(session: AsyncSession, body: BulletinIn) -> list[str]:
    """Enterprises with a product under one of the HS prefixes (if any are named) and an
    export market among the markets (if any are named)."""
    query = select(Recipient.uscc)
    if body.products:  # digits only (validated), so safe inside a regular expression
        codes = func.array_to_string(Recipient.hs_codes, ",")
        query = query.where(codes.op("~")("(^|,)(" + "|".join(body.products) + ")"))
    if body.markets:
        query = query.where(Recipient.export_markets.overlap(body.markets))
    return list(await session.scalars(query.order_by(Recipient.uscc)))


async def publish_bulletin(
    session: AsyncSession, body: BulletinIn, principal: Principal
) -> Bulletin:
    """Record it, put it in each touched enterprise's inbox, announce it."""
    bulletin = Bulletin(**body.model_dump(), published_by=principal.subject)
    session.add(bulletin)
    await session.flush()
    usccs = await recipients(session, body)
    names = KIND_NAMES[body.kind]
    common = {
        "symbol": body.symbol,
        "member": body.member,
        "title": body.title,
        "objective": body.objective,
        "products": ", ".join(body.products) or None,
        "markets": ", ".join(body.markets) or None,
        "comment_deadline": body.comment_deadline,
        "adoption_date": body.adoption_date,
    }
    bulletin.recipients = await send(
        session,
        "bulletin",
        "bulletin",
        [To("enterprise", u) for u in usccs],
        common,
        per_language={"zh-CN": {"kind": names[0]}, "en": {"kind": names[1]}},
        bulletin_id=bulletin.id,
        data={"bulletin_id": str(bulletin.id), "symbol": body.symbol},
    )
    await publish(
        session,
        "notify.bulletin.published.v1",
        str(bulletin.id),
        BulletinPublished(
            bulletin_id=str(bulletin.id),
            kind=body.kind,
            symbol=body.symbol,
            title=body.title,
            products=body.products,
            markets=body.markets,
            recipients=bulletin.recipients,
        ),
    )
    return bulletin


async def read_counts(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Read receipts per bulletin."""
    if not ids:
        return {}
    rows = await session.execute(
        select(Message.bulletin_id, func.count())
        .where(Message.bulletin_id.in_(ids), Message.read_at.is_not(None))
        .group_by(Message.bulletin_id)
    )
    return {b: n for b, n in rows if b is not None}


async def to_out(session: AsyncSession, bulletins: list[Bulletin]) -> list[BulletinOut]:
    """API views with read counts."""
    read = await read_counts(session, [b.id for b in bulletins])
    out = []
    for b in bulletins:
        item = BulletinOut.model_validate(b)
        item.read = read.get(b.id, 0)
        out.append(item)
    return out


async def get(session: AsyncSession, bulletin_id: uuid.UUID) -> Bulletin:
    """One bulletin, or 404."""
    return await get_or_404(session, Bulletin, bulletin_id, "bulletin")


async def search(
    session: AsyncSession,
    *,
    page: PageParams,
    kind: str | None,
    market: str | None,
    hs_code: str | None,
) -> tuple[list[Bulletin], str | None]:
    """Newest first."""
    query = select(Bulletin)
    if kind:
        query = query.where(Bulletin.kind == kind)
    if market:
        query = query.where(Bulletin.markets.contains([market.upper()]))
    if hs_code:
        query = query.where(
            func.array_to_string(Bulletin.products, ",").op("~")(
                "(^|,)(" + "|".join(hs_code[:n] for n in range(2, len(hs_code) + 1)) + ")(,|$)"
            )
        )
    return await keyset_page(session, query, keys=[Bulletin.id], page=page, descending=True)
