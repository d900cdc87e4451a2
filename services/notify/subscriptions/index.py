"""Which event types any subscription listens to, held in the consumers' process.

Most events (a registration's credit level, a rescoring storm's level changes) reach no
subscription and feed no mirror or warning: notify's consumers ack them without a
transaction when this index says no subscription's pattern can match their type. The index
is the set of patterns of every active or disabled subscription, read once, and dropped on
every commit that changes a subscription's patterns or status (a statement trigger NOTIFYs
`subscriptions`; `kit.db.listen` hears it). It is also dropped the moment the listener
finds its connection gone, and read again once it is back. Dropped, it answers "maybe"
until it has been read again. What is left: a commit not yet heard (the NOTIFY's own
milliseconds), and a half-open listener socket until its probe fails (5 s, then 5 s of
timeout): an event of a type no earlier subscription took, arriving in that window, is
skipped for the new subscription.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

from kit.db import listen
from services.notify.subscriptions.matching import pattern_matches
from services.notify.subscriptions.models import CHANNEL

log = logging.getLogger("notify.subscriptions.index")

PATTERNS_SQL = """
SELECT DISTINCT unnest(event_types) FROM subscriptions WHERE status IN ('active', 'disabled')
"""


class _Dropping(asyncio.Event):
    """The listener's wake-up: drops the index at once (before anything else runs), then
    wakes its reader."""

    def __init__(self, index: SubscriptionIndex) -> None:
        super().__init__()
        self.index = index

    def set(self) -> None:
        self.index.drop()
        super().set()


class SubscriptionIndex:
    """The patterns subscriptions listen to, kept by a listener task in the process that
    consumes (started by its first `may_match`)."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._patterns: frozenset[str] | None = None
        self._by_type: dict[str, bool] = {}
        self._generation = 0
        self._task: asyncio.Task[None] | None = None

    def drop(self) -> None:
        """Forget the patterns (a subscription changed, or the listener reconnected)."""
        self._patterns = None
        self._by_type = {}
        self._generation += 1

    def matches(self, event_type: str) -> bool | None:
        """Whether any subscription's pattern matches the type; None while not known (not
        started, or being read again)."""
        if self._patterns is None:
            return None
        found = self._by_type.get(event_type)
        if found is None:
            found = any(pattern_matches(p, event_type) for p in self._patterns)
            self._by_type[event_type] = found
        return found

    def may_match(self, event_type: str) -> bool:
        """False only when known that no subscription can match the type; starts the
        listener on first use in a running event loop, and again (knowing nothing until it
        has read) when the loop is another one or the listener has ended: patterns kept by
        a listener that no longer runs would never be dropped."""
        loop = asyncio.get_running_loop()
        task = self._task
        if task is None or task.done() or task.get_loop() is not loop:
            self.drop()
            self._task = loop.create_task(self._keep(), name="notify-subscription-index")
        return self.matches(event_type) is not False

    async def _keep(self) -> None:
        wake = _Dropping(self)
        # while the listener is away a committed subscription goes unheard: unknown until
        # it is back (its reconnect wakes the reader)
        listener = asyncio.create_task(
            listen(self.dsn, CHANNEL, wake, every_s=5.0, on_lost=self.drop)
        )
        try:
            while True:
                await wake.wait()
                wake.clear()
                generation = self._generation
                try:
                    conn = await asyncpg.connect(self.dsn, timeout=3)
                    try:
                        patterns = frozenset(r[0] for r in await conn.fetch(PATTERNS_SQL))
                    finally:
                        await conn.close()
                except Exception as exc:  # the listener's reconnect wakes us again
                    log.debug("subscription index not read (%r)", exc)
                    await asyncio.sleep(1)
                    wake.set()
                    continue
                if generation == self._generation:  # nothing changed while reading
                    self._patterns = patterns
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
