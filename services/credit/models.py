"""Every table the credit service owns, for Alembic."""

from kit.db import Base as KitBase
from kit.idempotency import IdempotencyRecord
from kit.inbox import InboxEntry
from kit.outbox import OutboxMessage
from services.credit.agencies.models import AgencyMirror
from services.credit.base import Base
from services.credit.facts.models import Fact
from services.credit.policy.models import ModelVersion, RescoreJob
from services.credit.recognitions.models import Recognition
from services.credit.repairs.models import Repair
from services.credit.scores.models import CreditEnterprise, LevelChange

# Alembic compares both: kit's tables (outbox, inbox, idempotency keys) and the service's.
metadata = [KitBase.metadata, Base.metadata]

__all__ = [
    "AgencyMirror",
    "CreditEnterprise",
    "Fact",
    "IdempotencyRecord",
    "InboxEntry",
    "LevelChange",
    "ModelVersion",
    "OutboxMessage",
    "Recognition",
    "Repair",
    "RescoreJob",
    "metadata",
]
