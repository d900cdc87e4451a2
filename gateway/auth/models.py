"""Revoked tokens and subjects, until the tokens they cover have expired."""

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.base import Base
from kit.db import utcnow


class TokenRevocation(Base):
    """One token (`kind` jti, `value` its id), or every token of a subject issued at or before
    `issued_up_to` (`kind` sub, `value` the subject: a client disabled, a user deactivated).
    Kept until `expires_at`, when no token it covers can still be honoured."""

    __tablename__ = "token_revocations"

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # jti | sub
    value: Mapped[str] = mapped_column(String(120), primary_key=True)
    issued_up_to: Mapped[int] = mapped_column(BigInteger, default=0)  # sub: iat cut-off
    expires_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
