"""Enterprises (企业) keyed by USCC, and their yearly surveys (摸底调查)."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from kit.crypto import EncryptedString
from kit.db import TimestampMixin, utcnow
from kit.ids import uuid7
from services.registry.base import Base
from services.registry.keys import pii


class Enterprise(TimestampMixin, Base):
    """A zone enterprise, keyed by its 统一社会信用代码."""

    __tablename__ = "enterprises"

    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    address: Mapped[str | None] = mapped_column(String(400), default=None)
    # 个人信息: encrypted at rest, masked for callers other than the enterprise, the office
    # and the owning agency (kit.pii)
    legal_representative: Mapped[str | None] = mapped_column(
        EncryptedString(pii, "registry.enterprises.legal_representative"), default=None
    )
    contact_name: Mapped[str | None] = mapped_column(  # 联系人
        EncryptedString(pii, "registry.enterprises.contact_name"), default=None
    )
    contact_phone: Mapped[str | None] = mapped_column(  # 联系电话
        EncryptedString(pii, "registry.enterprises.contact_phone"), default=None
    )
    # The agency whose system or staff registered it: it sees the personal fields in full.
    owner_agency: Mapped[str | None] = mapped_column(String(40), default=None)
    industry: Mapped[str | None] = mapped_column(String(30), index=True, default=None)
    employees: Mapped[int | None] = mapped_column(Integer, default=None)
    annual_export_usd: Mapped[int | None] = mapped_column(BigInteger, default=None)
    products: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    hs_codes: Mapped[list[str]] = mapped_column(ARRAY(String(10)), default=list)
    export_markets: Mapped[list[str]] = mapped_column(ARRAY(String(2)), default=list)
    certifications: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    # Mirrored from credit.level.changed events; credit owns the score itself.
    credit_level: Mapped[str | None] = mapped_column(String(1), index=True, default=None)
    # Time and credit's sequence of the change mirrored above: a change with a lower sequence
    # (an older one arriving late) is ignored, whatever its time says.
    credit_level_at: Mapped[datetime | None] = mapped_column(default=None)
    credit_level_seq: Mapped[int | None] = mapped_column(BigInteger, default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class Survey(Base):
    """摸底调查: one year's survey of an enterprise's scale, products, markets and quality."""

    __tablename__ = "surveys"
    __table_args__ = (UniqueConstraint("uscc", "year"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    uscc: Mapped[str] = mapped_column(ForeignKey("enterprises.uscc", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    employees: Mapped[int | None] = mapped_column(Integer, default=None)
    annual_output_cny: Mapped[int | None] = mapped_column(BigInteger, default=None)
    annual_export_usd: Mapped[int | None] = mapped_column(BigInteger, default=None)
    products: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    export_markets: Mapped[list[str]] = mapped_column(ARRAY(String(2)), default=list)
    quality: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    lab: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    notes: Mapped[str | None] = mapped_column(Text, default=None)
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
