"""Checklists: each post of a code is its next version; versions never change."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kit import locks
from kit.auth import Principal
from kit.db import get_or_404
from kit.locks import Lock
from kit.pagination import PageParams, keyset_page
from services.inspection.checklists.models import Checklist
from services.inspection.checklists.schemas import ChecklistIn


async def publish(
    session: AsyncSession, checklist_in: ChecklistIn, principal: Principal
) -> Checklist:
    """Store the next version of a checklist code (versions of one code are serialised)."""
    await locks.hold(session, Lock.CHECKLIST_VERSION, checklist_in.code)
    latest = await session.scalar(
        select(func.max(Checklist.version)).where(Checklist.code == checklist_in.code)
    )
    checklist = Checklist(
        **checklist_in.model_dump(mode="json"),
        version=(latest or 0) + 1,
        created_by=principal.subject,
    )
    session.add(checklist)
    await session.flush()
    return checklist


async def get(session: AsyncSession, checklist_id: uuid.UUID) -> Checklist:
    """One version, or 404."""
    return await get_or_404(session, Checklist, checklist_id, "checklist")


async def search(
    session: AsyncSession, *, page: PageParams, industry: str | None, code: str | None
) -> tuple[list[Checklist], str | None]:
    """Checklists, newest first."""
    query = select(Checklist)
    if industry:
        query = query.where(Checklist.industry == industry)
    if code:
        query = query.where(Checklist.code == code)
    return await keyset_page(session, query, keys=[Checklist.id], page=page, descending=True)
