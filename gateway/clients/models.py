"""OAuth2 clients."""

from datetime import datetime

from sqlalchemy import Boolean, Float, Integer, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from gateway.base import Base
from kit.db import utcnow


class OAuthClient(Base):
    """A client of the client-credentials grant: an agency system, enterprise or inspector tool."""

    __tablename__ = "oauth_clients"

    client_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    agency: Mapped[str | None] = mapped_column(String(40), default=None)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(40)))
    uscc: Mapped[str | None] = mapped_column(String(18), default=None)
    inspector_id: Mapped[str | None] = mapped_column(String(64), default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Token bucket for this client; null = the gateway default, 0 = no limit.
    rate_limit_per_s: Mapped[float | None] = mapped_column(Float, default=None)
    rate_limit_burst: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(100), default=None)
