"""Who is shown the registry's personal information in full (kit.pii.sees_personal_data): the
enterprise itself, the zone office and the agency owning the record; the masks for the rest.

The office is the agency holding a leadership group's office role (办公室, in the commerce
bureau per 附件1), or an admin; the owning agency is the one whose system registered the
enterprise (`enterprises.owner_agency`). A commitment's signatory and a primary
responsibility's person belong to their enterprise's record, so the same callers see them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from pydantic import BaseModel
from sqlalchemy import String, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY

from kit.auth import Principal
from kit.db import Prepared, Reads
from kit.pii import Mask, mask_name, mask_phone, masked, sees_personal_data
from services.registry.enterprises.models import Enterprise
from services.registry.programme.leadership.models import GroupMember

M = TypeVar("M", bound=BaseModel)

ENTERPRISE_MASKS: dict[str, Mask] = {
    "legal_representative": mask_name,
    "contact_name": mask_name,
    "contact_phone": mask_phone,
}
SIGNATORY_MASKS: dict[str, Mask] = {"signatory": mask_name}
PERSON_MASKS: dict[str, Mask] = {"responsible_person": mask_name}


def owning_agency(principal: Principal) -> str | None:
    """The agency a record made by `principal` belongs to: an agency's system or staff, not
    an enterprise or an inspector acting as a person."""
    if principal.uscc is not None or principal.inspector_id is not None:
        return None
    return principal.agency


@dataclass(frozen=True)
class Viewer:
    """One caller, with what deciding for it needs: the office agencies and the owners of
    the enterprises in the answer."""

    principal: Principal
    office_agencies: frozenset[str] = frozenset()
    owners: Mapping[str, str | None] = field(default_factory=dict)

    def sees(self, uscc: str | None) -> bool:
        """Whether the personal fields of `uscc`'s records are shown in full."""
        owner = self.owners.get(uscc) if uscc else None
        return sees_personal_data(
            self.principal, uscc=uscc, owner_agency=owner, office_agencies=self.office_agencies
        )

    def show(self, item: M, uscc: str | None, masks: Mapping[str, Mask]) -> M:
        """`item` as this caller may see it."""
        return item if self.sees(uscc) else masked(item, masks)


def _depends_on_the_data(principal: Principal) -> bool:
    """Only an agency's token needs the office and the owners looked up."""
    return (
        principal.agency is not None
        and principal.uscc is None
        and principal.inspector_id is None
        and not principal.is_admin
    )


# The office's agencies, and the owners of some enterprises: asked for most reads an agency
# makes, in statements compiled once (kit.db.Prepared) that a key lookup runs without a session.
_OFFICE = Prepared(select(GroupMember.agency_code).where(GroupMember.role == "office").distinct())
_OWNERS = Prepared(
    select(Enterprise.uscc, Enterprise.owner_agency).where(
        Enterprise.uscc == any_(bindparam("usccs", type_=ARRAY(String)))
    )
)


async def viewer(
    session: Reads,
    principal: Principal,
    *,
    usccs: Iterable[str | None] = (),
    owners: Mapping[str, str | None] | None = None,
) -> Viewer:
    """The caller's view of the enterprises `usccs` (their owners are looked up), or of
    enterprises whose `owners` the caller already has; `session` may be the read pool."""
    if not _depends_on_the_data(principal):
        return Viewer(principal)
    office = frozenset(row["agency_code"] for row in await _OFFICE.all(session))
    if principal.agency in office:
        return Viewer(principal, office)
    if owners is None:
        wanted = sorted({u for u in usccs if u})
        rows = await _OWNERS.all(session, usccs=wanted) if wanted else []
        owners = {row["uscc"]: row["owner_agency"] for row in rows}
    return Viewer(principal, office, owners)
