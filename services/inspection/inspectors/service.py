"""The inspector pool: officers, their units and specialties, declared conflicts."""

from __future__ import annotations

import uuid

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.db import get_or_404, utcnow
from kit.pagination import PageParams, keyset_page
from kit.problems import Conflict as ConflictProblem
from kit.problems import ProblemError
from services.inspection.directory import service as directory
from services.inspection.inspectors.models import Conflict, Inspector
from services.inspection.inspectors.schemas import ConflictIn, InspectorIn, InspectorPatch

NO_INSPECTOR = uuid.UUID(int=0)  # no task has it


def inspector_uuid(principal: Principal) -> uuid.UUID:
    """The inspector a token is bound to; an id that is not one of the pool's (not a UUID)
    matches no task rather than failing."""
    try:
        return uuid.UUID(str(principal.inspector_id))
    except ValueError:
        return NO_INSPECTOR


def ensure_own_agency(principal: Principal, agency: str) -> None:
    """An agency manages its own officers; the office (admin) any."""
    if not principal.is_admin and principal.agency != agency:
        raise ProblemError(
            "forbidden",
            f"only {agency} (or the zone office) manages its inspectors",
            detail_zh=f"只有 {agency}（或示范区办公室）可以管理其检查员",
        )


async def create(session: AsyncSession, inspector_in: InspectorIn) -> Inspector:
    """Add an inspector of a member agency (404 naming it otherwise); a badge number is
    unique (409)."""
    await directory.ensure_agencies(session, [inspector_in.agency])
    inspector = Inspector(**inspector_in.model_dump())
    session.add(inspector)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise ConflictProblem(
            f"badge number {inspector_in.badge_number} is already in the pool",
            detail_zh=f"执法证号 {inspector_in.badge_number} 已在检查员库中",
        ) from exc
    return inspector


async def get(
    session: AsyncSession, inspector_id: uuid.UUID, *, for_update: bool = False
) -> Inspector:
    """One inspector, or 404."""
    return await get_or_404(session, Inspector, inspector_id, "inspector", for_update=for_update)


async def update(session: AsyncSession, inspector: Inspector, patch: InspectorPatch) -> Inspector:
    """Apply a partial update."""
    for name, value in patch.model_dump(exclude_unset=True).items():
        setattr(inspector, name, value)
    inspector.version += 1
    return inspector


async def search(
    session: AsyncSession,
    *,
    page: PageParams,
    agency: str | None,
    unit: str | None,
    active: bool | None,
    specialty: str | None,
) -> tuple[list[Inspector], str | None]:
    """The pool, by id."""
    query = select(Inspector)
    if agency:
        query = query.where(Inspector.agency == agency)
    if unit:
        query = query.where(Inspector.unit == unit)
    if active is not None:
        query = query.where(Inspector.active == active)
    if specialty:
        query = query.where(Inspector.specialties.any_() == specialty)
    return await keyset_page(session, query, keys=[Inspector.id], page=page)


async def declare_conflict(
    session: AsyncSession, inspector: Inspector, conflict_in: ConflictIn
) -> Conflict:
    """Record a conflict of interest."""
    conflict = Conflict(inspector_id=inspector.id, **conflict_in.model_dump())
    session.add(conflict)
    await session.flush()
    return conflict


async def conflicts_of(
    session: AsyncSession, inspector_id: uuid.UUID, page: PageParams
) -> tuple[list[Conflict], str | None]:
    """An inspector's declared conflicts."""
    query = select(Conflict).where(Conflict.inspector_id == inspector_id)
    return await keyset_page(session, query, keys=[Conflict.id], page=page)


async def conflicts_today(session: AsyncSession, usccs: set[str]) -> set[tuple[uuid.UUID, str]]:
    """(inspector, enterprise) pairs with a declared conflict in force today."""
    today = utcnow().date()
    rows = await session.execute(
        select(Conflict.inspector_id, Conflict.uscc).where(
            Conflict.uscc.in_(usccs),
            Conflict.valid_from <= today,
            or_(Conflict.valid_to.is_(None), Conflict.valid_to >= today),
        )
    )
    return {(inspector_id, uscc) for inspector_id, uscc in rows}
