"""Every table the gateway owns, for Alembic."""

from typing import cast

from sqlalchemy import Table

from gateway.audit.models import AuditEntry
from gateway.auth.models import TokenRevocation
from gateway.base import Base
from gateway.clients.models import OAuthClient
from gateway.lockouts.models import LoginFailure
from gateway.ratelimit.models import RateLimitBucket
from gateway.signing.models import SigningKey
from gateway.users.models import User
from kit.idempotency import IdempotencyRecord

# The gateway publishes and consumes no events: of kit's tables it has idempotency keys only.
cast(Table, IdempotencyRecord.__table__).to_metadata(Base.metadata)
metadata = Base.metadata

__all__ = [
    "AuditEntry",
    "IdempotencyRecord",
    "LoginFailure",
    "OAuthClient",
    "RateLimitBucket",
    "SigningKey",
    "TokenRevocation",
    "User",
    "metadata",
]
