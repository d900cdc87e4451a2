"""The ePing importer against the notify database: the fixture export published through
`publish_bulletin` to the enterprises with those HS codes in those markets, a dry run
leaving no bulletin, no message and no event, the same file again changing nothing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.feed_imports import import_file
from services.notify.bulletins.models import Bulletin, Recipient
from services.notify.feeds.models import FeedImport, FeedImportOutcome
from services.notify.feeds.service import FEED
from services.notify.inbox.models import Message
from tests.helpers import new_uscc
from tests.integration.conftest import emitted

EXPORT = (
    Path(__file__).parents[2] / "fixtures" / "feeds" / "eping-notifications.xlsx"
).read_bytes()
SYMBOLS = ["G/TBT/N/EU/1150", "G/TBT/N/USA/2201", "G/TBT/N/TUR/245"]
OFFICE = Principal(subject="office-staff", scopes=frozenset({"admin"}), agency="commerce")


async def run(session: AsyncSession, *, dry_run: bool = False) -> FeedImport:
    job: FeedImport = await import_file(
        session,
        FEED,
        FeedImport,
        FeedImportOutcome,
        content=EXPORT,
        filename="Notifications.xlsx",
        dry_run=dry_run,
        principal=OFFICE,
    )
    return job


async def count(session: AsyncSession, model: type, *where: object) -> int:
    return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_an_eping_export_is_published_once_to_the_touched_enterprises(
    session: AsyncSession,
) -> None:
    toys, lamps = new_uscc(), new_uscc()
    session.add(Recipient(uscc=toys, name="玩具", hs_codes=["950300"], export_markets=["DE"]))
    session.add(Recipient(uscc=lamps, name="灯具", hs_codes=["940542"], export_markets=["DE"]))
    await session.flush()
    mine = Message.recipient.in_([toys, lamps])

    dry = await run(session, dry_run=True)
    assert dry.counts == {"rows": 6, "created": 3, "updated": 0, "unchanged": 0, "rejected": 3}
    assert await count(session, Bulletin, Bulletin.symbol.in_(SYMBOLS)) == 0
    assert await count(session, Message, mine) == 0 and await emitted(session) == []

    job = await run(session)
    assert job.counts == dry.counts
    eu = await session.scalar(select(Bulletin).where(Bulletin.symbol == "G/TBT/N/EU/1150"))
    assert eu is not None and eu.products == ["9503"] and len(eu.markets) == 27
    messages = (await session.scalars(select(Message).where(mine))).all()
    assert [(m.recipient, m.bulletin_id) for m in messages] == [(toys, eu.id)]
    published = [e for e in await emitted(session) if e[0] == "notify.bulletin.published.v1"]
    assert sorted(str(data["symbol"]) for _, _, data in published) == sorted(SYMBOLS)
    events = len(await emitted(session))

    again = await run(session)
    assert again.counts == {"rows": 6, "created": 0, "updated": 0, "unchanged": 3, "rejected": 3}
    assert await count(session, Bulletin, Bulletin.symbol.in_(SYMBOLS)) == 3
    assert await count(session, Message, mine) == 1
    assert len(await emitted(session)) == events
