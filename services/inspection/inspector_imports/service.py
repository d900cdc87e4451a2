"""An inspector roster row added to the pool, or its officer updated, through the pool's
own functions (`inspectors.service.create` / `update`): the same rules as one posted by
hand (a member agency, an agency manages its own officers, one badge number per officer).
A row is idempotent by badge number: the same roster again changes nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.feed_imports import Feed, RowRejected
from services.inspection.directory.models import AgencyMirror
from services.inspection.inspector_imports import rows
from services.inspection.inspectors import service as inspectors
from services.inspection.inspectors.models import Inspector
from services.inspection.inspectors.schemas import InspectorIn, InspectorPatch


async def agency_of(session: AsyncSession, text: str | None, principal: Principal) -> str:
    """The agency code a cell names (its code, Chinese or English name, as registry
    announced it); a blank cell is the importing agency's own."""
    if text is None:
        if principal.agency is None:
            raise RowRejected(
                "agency", "缺少必填项：部门（导入人不属于任何部门）", "agency is required"
            )
        return principal.agency
    code = await session.scalar(
        select(AgencyMirror.code).where(
            or_(
                AgencyMirror.code == text,
                AgencyMirror.name_zh == text,
                AgencyMirror.name_en == text,
            )
        )
    )
    if code is None:
        raise RowRejected(
            "agency", f"部门“{text}”不是已登记的成员部门", f"'{text}' is no member agency"
        )
    return code


async def import_inspector(
    session: AsyncSession, values: dict[str, str], principal: Principal
) -> tuple[str, list[str]]:
    """Created, updated (with the fields it changes) or unchanged."""
    row = rows.parse(values)
    agency = await agency_of(session, row.agency, principal)
    inspectors.ensure_own_agency(principal, agency)
    existing = await session.scalar(
        select(Inspector).where(Inspector.badge_number == row.badge_number).with_for_update()
    )
    if existing is None:
        given: dict[str, Any] = {"unit": row.unit, "specialties": row.specialties or []}
        if row.active is not None:
            given["active"] = row.active
        inspector_in = InspectorIn(
            agency=agency, badge_number=row.badge_number, name=row.name, **given
        )
        await inspectors.create(session, inspector_in)
        return "created", []
    if existing.agency != agency:
        raise RowRejected(
            "agency",
            f"执法证号 {row.badge_number} 已登记在部门 {existing.agency}",
            f"badge number {row.badge_number} is in the pool under {existing.agency}",
        )
    fields = {
        "name": row.name,
        "unit": row.unit,
        "specialties": row.specialties,
        "active": row.active,
    }
    changed = sorted(f for f, v in fields.items() if v is not None and getattr(existing, f) != v)
    if not changed:
        return "unchanged", []
    await inspectors.update(
        session, existing, InspectorPatch.model_validate({f: fields[f] for f in changed})
    )
    return "updated", changed


FEED = Feed(
    kind=rows.KIND,
    keys=rows.KEYS,
    required=rows.REQUIRED,
    labels=rows.LABELS,
    key_field="badge_number",
    handle=import_inspector,
    normalise_key=rows.normalise_badge,
)
