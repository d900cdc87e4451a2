"""Emit inspection events through the outbox."""

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from kit.events import make_event
from kit.outbox import emit

SOURCE = "/services/inspection"


async def publish(session: AsyncSession, event_type: str, subject: str, data: BaseModel) -> None:
    """Write a inspection event to the outbox in the current transaction."""
    await emit(session, make_event(source=SOURCE, type=event_type, subject=subject, data=data))
