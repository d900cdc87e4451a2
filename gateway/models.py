"""Every table the gateway owns, for Alembic."""

from gateway.audit.models import AuditEntry
from gateway.clients.models import OAuthClient, SigningKey
from gateway.users.models import User
from kit.db import Base
from kit.idempotency import IdempotencyRecord

metadata = Base.metadata

__all__ = ["AuditEntry", "IdempotencyRecord", "OAuthClient", "SigningKey", "User", "metadata"]
