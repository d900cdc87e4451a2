"""An ePing row published as a TBT bulletin, through the same function as a posted one: it
reaches each enterprise with a product under its HS codes and an export market among the
member's, and emits `notify.bulletin.published`."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.feed_imports import Feed
from kit.locks import Lock, hold
from services.notify.bulletins.models import Bulletin
from services.notify.bulletins.schemas import BulletinIn
from services.notify.bulletins.service import publish_bulletin
from services.notify.feeds import rows


async def publish_notification(
    session: AsyncSession, values: dict[str, str], principal: Principal
) -> str:
    """Created, or unchanged when a bulletin with this document symbol was published (by an
    import or by hand): a re-import sends nobody the notice twice."""
    body = BulletinIn.model_validate(rows.bulletin_fields(values))
    await hold(session, Lock.BULLETIN_SYMBOL, body.symbol)
    known = await session.scalar(select(Bulletin.id).where(Bulletin.symbol == body.symbol).limit(1))
    if known is not None:
        return "unchanged"
    await publish_bulletin(session, body, principal)
    return "created"


FEED = Feed(
    kind=rows.KIND,
    keys=rows.KEYS,
    required=rows.REQUIRED,
    labels=rows.LABELS,
    key_field="symbol",
    handle=publish_notification,
    normalise_key=rows.normalise_symbol,
)
