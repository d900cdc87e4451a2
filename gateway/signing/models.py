"""The Ed25519 keys the gateway signs tokens and assertions with."""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.base import Base
from gateway.keys import pii
from kit.crypto import EncryptedString
from kit.db import utcnow


class SigningKey(Base):
    """One signing key. Published in the JWKS from `created_at` until `retired_at` (null:
    still published); the current key is the newest whose `active_from` has come: a rotated-in
    key is published before any process signs with it, so every verifier can know it first."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    private_pem: Mapped[str] = mapped_column(
        EncryptedString(pii, "gateway.signing_keys.private_pem")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    active_from: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(default=None)
    created_by: Mapped[str | None] = mapped_column(String(100), default=None)
