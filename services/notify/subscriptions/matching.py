"""Which subscriptions an event reaches: pattern, entitlement, filters (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kit.events import CloudEvent
from kit.uscc import UsccError, validate


@dataclass(frozen=True)
class About:
    """What an event is about, for filters and entitlement."""

    uscc: str | None = None
    zones: tuple[str, ...] = ()
    industry: str | None = None
    severity: str | None = None
    inspection_public: bool = False
    names_others: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


# Inspection events an inspector may follow: published draws (一公开). Task results and
# CAPAs are about enterprises and other officers' work; they stay with the office.
INSPECTOR_TYPES = ("inspection.draw.published",)
# Events that name other enterprises than their subject (who else received a supplier lot).
NOT_FOR_ENTERPRISES = ("registry.batch.traced",)


def base_type(event_type: str) -> str:
    """`inspection.alert.raised.v1` → `inspection.alert.raised`."""
    head, _, tail = event_type.rpartition(".")
    return head if tail.startswith("v") and tail[1:].isdigit() else event_type


def pattern_matches(pattern: str, event_type: str) -> bool:
    """NATS-style: `*` is one part, `>` one or more trailing parts."""
    want, have = pattern.split("."), base_type(event_type).split(".")
    for i, part in enumerate(want):
        if part == ">":
            return len(have) > i
        if i >= len(have) or (part != "*" and part != have[i]):
            return False
    return len(want) == len(have)


def _uscc(value: Any) -> str | None:
    try:
        return validate(str(value)) if value else None
    except UsccError:
        return None


def about(event: CloudEvent, *, zones: tuple[str, ...] = (), industry: str | None = None) -> About:
    """The enterprise, zones, industry and severity of an event (from its data, else the
    recipients mirror's `zones` and `industry` given)."""
    data = event.data
    uscc = _uscc(data.get("uscc")) or _uscc(event.subject)
    own_zones = tuple(data.get("zones") or ()) + (
        (data["zone_code"],) if data.get("zone_code") else ()
    )
    return About(
        uscc=uscc,
        zones=own_zones or zones,
        industry=data.get("industry") or industry,
        severity=data.get("severity"),
        inspection_public=base_type(event.type).startswith(INSPECTOR_TYPES),
        names_others=base_type(event.type) in NOT_FOR_ENTERPRISES,
    )


def entitled(owner_kind: str, owner: str, facts: About) -> bool:
    """Enterprises see only events about themselves (and none that names other
    enterprises); inspectors only published draws; agencies and the office everything."""
    if owner_kind == "enterprise":
        return facts.uscc == owner and not facts.names_others
    if owner_kind == "inspector":
        return facts.inspection_public
    return owner_kind in ("agency", "office")


def passes(filters: dict[str, Any], facts: About) -> bool:
    """Every non-empty filter list must contain the event's value."""
    if filters.get("usccs") and facts.uscc not in filters["usccs"]:
        return False
    if filters.get("zones") and not set(filters["zones"]) & set(facts.zones):
        return False
    if filters.get("industries") and facts.industry not in filters["industries"]:
        return False
    return not (filters.get("severities") and facts.severity not in filters["severities"])
