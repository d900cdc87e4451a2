"""Bulletins (公共信息服务): one reaches the inboxes of the enterprises whose products and
markets it touches, is announced with how many, and counts who read it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from services.notify.bulletins import service
from services.notify.bulletins.schemas import BulletinIn
from services.notify.inbox import service as inbox
from services.notify.models import Bulletin, Message
from tests.integration.conftest import emitted

Announced = Callable[..., Awaitable[str]]


def _tbt(**fields: object) -> BulletinIn:
    return BulletinIn.model_validate(
        {
            "kind": "wto_tbt",
            "symbol": "G/TBT/N/USA/2150",
            "member": "United States",
            "title": "LED lamps: energy conservation standards",
            "products": ["9405"],
            "markets": ["US"],
            **fields,
        }
    )


async def test_a_bulletin_reaches_the_enterprises_it_touches_and_is_announced(
    session: AsyncSession, office: Principal, announced: Announced
) -> None:
    reached = await announced(["940542", "853952"], ["US", "DE"])
    other_market = await announced(["940542"], ["DE"])
    other_product = await announced(["960810"], ["US"])
    prefix_inside = await announced(["894050"], ["US"])  # 9405 inside the code, not a prefix

    bulletin = await service.publish_bulletin(session, _tbt(), office)

    messages = list(
        await session.scalars(select(Message).where(Message.bulletin_id == bulletin.id))
    )
    assert [(m.recipient_kind, m.recipient, m.kind, m.language) for m in messages] == [
        ("enterprise", reached, "bulletin", "zh-CN")
    ]
    assert "G/TBT/N/USA/2150" in messages[0].title
    assert messages[0].data == {"bulletin_id": str(bulletin.id), "symbol": "G/TBT/N/USA/2150"}
    row = await session.get_one(Bulletin, bulletin.id)
    assert (row.recipients, row.published_by) == (1, "office-staff")
    published = [
        (s, d) for t, s, d in await emitted(session) if t == "notify.bulletin.published.v1"
    ]
    assert [(s, d["recipients"], d["products"], d["markets"]) for s, d in published] == [
        (str(bulletin.id), 1, ["9405"], ["US"])
    ]
    nobody = {other_market, other_product, prefix_inside}
    assert await session.scalar(select(Message.id).where(Message.recipient.in_(nobody))) is None


async def test_read_receipts_count_each_reader_once(
    session: AsyncSession, office: Principal, announced: Announced
) -> None:
    first, second = await announced(["940542"], ["US"]), await announced(["940510"], ["CA"])
    bulletin = await service.publish_bulletin(
        session, _tbt(kind="regulation", symbol=None, products=["9405"], markets=[]), office
    )
    assert bulletin.recipients == 2
    message = await session.scalar(
        select(Message).where(Message.bulletin_id == bulletin.id, Message.recipient == first)
    )
    assert message is not None

    read = await inbox.mark_read(session, message.id, ("enterprise", first))
    read_at = read.read_at
    await inbox.mark_read(session, message.id, ("enterprise", first))  # again

    assert read_at is not None and read.read_at == read_at
    assert await service.read_counts(session, [bulletin.id]) == {bulletin.id: 1}
    assert await inbox.unread_count(session, ("enterprise", first)) == 0
    assert await inbox.unread_count(session, ("enterprise", second)) == 1
