"""Every table notify owns, for Alembic."""

from kit.db import Base as KitBase
from kit.idempotency import IdempotencyRecord
from kit.inbox import InboxEntry
from kit.outbox import OutboxMessage
from services.notify.base import Base
from services.notify.bulletins.models import Bulletin, Recipient
from services.notify.deliveries.models import Attempt, Delivery
from services.notify.feeds.models import FeedImport, FeedImportOutcome
from services.notify.inbox.models import Message
from services.notify.subscriptions.models import Subscription
from services.notify.templates.models import Template

# Alembic compares both: kit's tables (outbox, inbox, idempotency keys) and notify's.
metadata = [KitBase.metadata, Base.metadata]

__all__ = [
    "Attempt",
    "Bulletin",
    "Delivery",
    "FeedImport",
    "FeedImportOutcome",
    "IdempotencyRecord",
    "InboxEntry",
    "Message",
    "OutboxMessage",
    "Recipient",
    "Subscription",
    "Template",
    "metadata",
]
