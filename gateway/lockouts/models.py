"""Failed logins and the lockouts they lead to, shared by every gateway process."""

from datetime import datetime

from sqlalchemy import SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.base import Base

EVERY_SOURCE = "*"


class LoginFailure(Base):
    """Failed logins of one account from one source address (or from every source, `*`) in
    the current window, and until when that account is locked for that source. A logged
    table: a lockout survives a restart of PostgreSQL, unlike a rate-limit bucket."""

    __tablename__ = "login_failures"

    account: Mapped[str] = mapped_column(String(120), primary_key=True)  # client:… | user:…
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(SmallInteger)
    window_started_at: Mapped[datetime]
    locked_until: Mapped[datetime | None] = mapped_column(default=None, index=True)
