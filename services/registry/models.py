"""Every table the registry owns, for Alembic."""

from kit.db import Base as KitBase
from kit.idempotency import IdempotencyRecord
from kit.inbox import InboxEntry
from kit.outbox import OutboxMessage
from services.registry.agencies.models import Agency
from services.registry.base import Base
from services.registry.batches.models import Lot, LotEvent, LotEventLot, LotLink
from services.registry.enterprises.models import Enterprise, Survey
from services.registry.imports.models import ImportJob, ImportOutcome
from services.registry.measures.models import MeasuresMirror
from services.registry.memberships.models import Commitment, Membership, MembershipDecision
from services.registry.programme.acceptance.models import (
    AcceptanceApplication,
    AcceptanceDecision,
)
from services.registry.programme.honours.models import AlertMirror, AwardNomination, AwardRound
from services.registry.programme.leadership.models import (
    ActionItem,
    GroupMember,
    LeadershipGroup,
    Meeting,
)
from services.registry.programme.responsibilities.models import Responsibility
from services.registry.programme.standards.models import (
    SameLineDeclaration,
    Standard,
    StandardAdoption,
)
from services.registry.programme.targets.models import PlanPhase, ProgrammeTarget
from services.registry.programme.trainings.models import Training, TrainingAttendance
from services.registry.zones.models import Zone, ZoneTask, ZoneTransition

# Alembic compares both: kit's tables (outbox, inbox, idempotency keys) and the service's.
metadata = [KitBase.metadata, Base.metadata]

__all__ = [
    "AcceptanceApplication",
    "AcceptanceDecision",
    "ActionItem",
    "Agency",
    "AlertMirror",
    "AwardNomination",
    "AwardRound",
    "Commitment",
    "Enterprise",
    "GroupMember",
    "IdempotencyRecord",
    "ImportJob",
    "ImportOutcome",
    "InboxEntry",
    "LeadershipGroup",
    "Lot",
    "LotEvent",
    "LotEventLot",
    "LotLink",
    "MeasuresMirror",
    "Meeting",
    "Membership",
    "MembershipDecision",
    "OutboxMessage",
    "PlanPhase",
    "ProgrammeTarget",
    "Responsibility",
    "SameLineDeclaration",
    "Standard",
    "StandardAdoption",
    "Survey",
    "Training",
    "TrainingAttendance",
    "Zone",
    "ZoneTask",
    "ZoneTransition",
    "metadata",
]
