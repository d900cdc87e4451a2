"""Evidence files (证据文件): content-addressed by SHA-256, stored once, whoever uploads them."""

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from kit.db import utcnow
from kit.ids import uuid7
from services.inspection.base import Base


class EvidenceFile(Base):
    """One file's bytes, known by their SHA-256 (hex). `backend` says where they are: in
    `evidence_chunks` under `blob_id` (postgres) or in the bucket under the hash (s3)."""

    __tablename__ = "evidence_files"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(BigInteger)
    backend: Mapped[str] = mapped_column(String(10))
    blob_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EvidenceChunk(Base):
    """A piece of a file kept in PostgreSQL, in order (`seq` from 0): written and read a
    chunk at a time, so no process ever holds a whole file."""

    __tablename__ = "evidence_chunks"

    blob_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class EvidenceUpload(Base):
    """Who uploaded a file (each uploader once): an uploader may always fetch it again, and
    an enterprise's or inspector's upload is theirs to reference."""

    __tablename__ = "evidence_uploads"
    __table_args__ = (
        Index("ix_evidence_uploads_sha256_subject", "sha256", "subject", unique=True),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    sha256: Mapped[str] = mapped_column(ForeignKey("evidence_files.sha256"))
    subject: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str | None] = mapped_column(String(18), default=None, index=True)
    inspector_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    name: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
