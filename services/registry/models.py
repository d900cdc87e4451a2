"""Every table the registry owns, for Alembic."""

from kit.db import Base as KitBase
from kit.idempotency import IdempotencyRecord
from kit.inbox import InboxEntry
from kit.outbox import OutboxMessage
from services.registry.agencies.models import Agency
from services.registry.base import Base
from services.registry.batches.models import Lot, LotEvent, LotEventLot, LotLink
from services.registry.enterprises.models import Enterprise, Survey
from services.registry.memberships.models import Commitment, Membership, MembershipDecision
from services.registry.zones.models import Zone, ZoneTask, ZoneTransition

# Alembic compares both: kit's tables (outbox, inbox, idempotency keys) and the service's.
metadata = [KitBase.metadata, Base.metadata]

__all__ = [
    "Agency",
    "Commitment",
    "Enterprise",
    "IdempotencyRecord",
    "InboxEntry",
    "Lot",
    "LotEvent",
    "LotEventLot",
    "LotLink",
    "Membership",
    "MembershipDecision",
    "OutboxMessage",
    "Survey",
    "Zone",
    "ZoneTask",
    "ZoneTransition",
    "metadata",
]
