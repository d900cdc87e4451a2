"""A Safety Gate row recorded as a foreign notification signal, through the same function
as a posted signal: it is matched, and a match raises an alert (with its targeted task and
`inspection.alert.raised`; CAPAs follow from the inspection as for any alert)."""

from __future__ import annotations

from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.bulk import Lines
from kit.feed_imports import Feed
from kit.locks import Lock, hold
from services.inspection.feeds import rows
from services.inspection.risk.models import Signal
from services.inspection.risk.schemas import SignalIn
from services.inspection.risk.signals import record_signals, source_agency

SIGNAL = TypeAdapter(SignalIn)


async def record_alert(session: AsyncSession, values: dict[str, str], principal: Principal) -> str:
    """Created, or unchanged when the agency already recorded this alert number (a signal
    once recorded is not rewritten by a later export); two imports of one alert take turns."""
    signal = SIGNAL.validate_python(rows.signal_fields(values))
    agency = source_agency(signal, principal)
    await hold(session, Lock.SIGNAL_REFERENCE, f"{agency} {signal.reference}")
    known = await session.scalar(
        select(Signal.id).where(
            Signal.source_agency == agency, Signal.reference == signal.reference
        )
    )
    if known is not None:
        return "unchanged"
    lines: Lines[SignalIn] = Lines(single=False, good=[(1, signal)], received=1)
    await record_signals(session, lines, principal)
    return "created"


FEED = Feed(
    kind=rows.KIND,
    keys=rows.KEYS,
    required=rows.REQUIRED,
    labels=rows.LABELS,
    key_field="alert_number",
    handle=record_alert,
    normalise_key=rows.normalise_alert,
)
