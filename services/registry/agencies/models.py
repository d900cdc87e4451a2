"""Member agencies of the county leadership group (附件1)."""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from kit.db import utcnow
from services.registry.base import Base


class Agency(Base):
    """部门: a member agency and its role in the leadership group."""

    __tablename__ = "agencies"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    group_role: Mapped[str] = mapped_column(String(20))  # leader | deputy | member | office | none
    # member (of the county's leadership group) | external_authority (验收单位: accepts zones)
    kind: Mapped[str] = mapped_column(String(30), default="member", server_default="member")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
