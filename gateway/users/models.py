"""People who log in with a password: enterprise staff, inspectors, office staff."""

from datetime import datetime

from sqlalchemy import Boolean, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from gateway.base import Base
from gateway.keys import pii
from kit.crypto import EncryptedString
from kit.db import utcnow


class User(Base):
    """A user bound to an enterprise (uscc), an inspector (inspector_id) or an agency."""

    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(EncryptedString(pii, "gateway.users.name"))  # 个人信息
    kind: Mapped[str] = mapped_column(String(20))  # enterprise | inspector | office
    agency: Mapped[str | None] = mapped_column(String(40), default=None)
    uscc: Mapped[str | None] = mapped_column(String(18), default=None)
    inspector_id: Mapped[str | None] = mapped_column(String(64), default=None)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(40)))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
