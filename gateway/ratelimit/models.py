"""The rate limiter's buckets, shared by every gateway process."""

from sqlalchemy import Double, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.base import Base


class RateLimitBucket(Base):
    """A bucket's theoretical arrival time (GCRA) in the database clock's epoch seconds; the
    bucket is full again once the clock passes it, and such rows are pruned. UNLOGGED: never
    fsynced, and emptied if PostgreSQL crashes (every bucket starts full)."""

    __tablename__ = "rate_limit_buckets"
    __table_args__ = {"prefixes": ["UNLOGGED"]}  # noqa: RUF012

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    tat: Mapped[float] = mapped_column(Double)
