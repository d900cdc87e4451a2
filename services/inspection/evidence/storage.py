"""Where evidence bytes live: PostgreSQL chunk rows (the default) or an S3-compatible bucket.

Both write while the upload streams in, a chunk at a time, and read back a chunk at a time:
no process holds a whole file. PostgreSQL: the chunks go into `evidence_chunks` under a new
blob id in the request's transaction; a file already stored leaves them unused (the
caller deletes them). S3: the upload is spooled to a temporary file (memory up to 1 MiB,
then disk) while it is hashed, and put under `<prefix><sha256>` only when no file with that
hash exists, so a bucket holds each file once and nothing under any other name.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import IO, Any, Protocol

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kit.ids import uuid7
from services.inspection.config import InspectionSettings
from services.inspection.evidence.models import EvidenceChunk, EvidenceFile

SPOOL_BYTES = 1024 * 1024


class Pending(Protocol):
    """Bytes written while the upload streamed in, not yet known by their hash."""

    blob_id: uuid.UUID | None

    async def write(self, chunk: bytes) -> None:
        """Keep the next piece."""

    async def keep(self, sha256: str, media_type: str) -> None:
        """Store them under their hash (only called when no file has it yet)."""

    async def discard(self) -> None:
        """Drop them: the same file is stored already."""

    def abandon(self) -> None:
        """Let go of what is held in this process after a failure (the request's rollback
        removes what was written to the database)."""


class PostgresPending:
    """Chunk rows under a new blob id, in the request's transaction."""

    def __init__(self, session: AsyncSession, chunk_bytes: int):
        self.session = session
        self.chunk_bytes = chunk_bytes
        self.blob_id: uuid.UUID | None = uuid7()
        self.seq = 0
        self.buffer = bytearray()

    async def write(self, chunk: bytes) -> None:
        self.buffer += chunk
        while len(self.buffer) >= self.chunk_bytes:
            await self._row(bytes(self.buffer[: self.chunk_bytes]))
            del self.buffer[: self.chunk_bytes]

    async def _row(self, data: bytes) -> None:
        await self.session.execute(
            insert(EvidenceChunk).values(blob_id=self.blob_id, seq=self.seq, data=data)
        )
        self.seq += 1

    async def keep(self, sha256: str, media_type: str) -> None:
        if self.buffer:
            await self._row(bytes(self.buffer))
            self.buffer.clear()

    def abandon(self) -> None:
        self.buffer.clear()

    async def discard(self) -> None:
        self.buffer.clear()
        await self.session.execute(
            delete(EvidenceChunk).where(EvidenceChunk.blob_id == self.blob_id)
        )


class S3Pending:
    """A spooled temporary file, put into the bucket once its hash is known."""

    def __init__(self, settings: InspectionSettings):
        self.settings = settings
        self.blob_id: uuid.UUID | None = None
        self.file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        self.size = 0

    async def write(self, chunk: bytes) -> None:
        self.file.write(chunk)
        self.size += len(chunk)

    async def keep(self, sha256: str, media_type: str) -> None:
        self.file.seek(0)
        try:
            async with s3_client(self.settings) as client:
                await client.put_object(
                    Bucket=self.settings.evidence_s3_bucket,
                    Key=s3_key(self.settings, sha256),
                    Body=self.file,
                    ContentLength=self.size,
                    ContentType=media_type,
                )
        finally:
            self.file.close()

    def abandon(self) -> None:
        self.file.close()

    async def discard(self) -> None:
        self.file.close()


def pending(session: AsyncSession, settings: InspectionSettings) -> Pending:
    """Where the upload being received is written, by `evidence_backend`."""
    if settings.evidence_backend == "s3":
        return S3Pending(settings)
    return PostgresPending(session, settings.evidence_chunk_bytes)


def s3_key(settings: InspectionSettings, sha256: str) -> str:
    """A file's object key: the prefix and its hash."""
    return f"{settings.evidence_s3_prefix}{sha256}"


@asynccontextmanager
async def s3_client(settings: InspectionSettings) -> AsyncIterator[Any]:
    """A client for the evidence bucket (credentials from the settings, else botocore's
    usual chain: environment, instance or pod role). botocore is imported on first use:
    the default backend never loads it."""
    from aiobotocore.session import get_session

    options: dict[str, Any] = {"region_name": settings.evidence_s3_region}
    if settings.evidence_s3_endpoint_url:
        options["endpoint_url"] = settings.evidence_s3_endpoint_url
    if settings.evidence_s3_access_key_id:
        options["aws_access_key_id"] = settings.evidence_s3_access_key_id
        options["aws_secret_access_key"] = settings.evidence_s3_secret_access_key
    async with get_session().create_client("s3", **options) as client:
        yield client


async def read(
    maker: async_sessionmaker[AsyncSession], settings: InspectionSettings, file: EvidenceFile
) -> AsyncIterator[bytes]:
    """A stored file's bytes, a chunk at a time (each PostgreSQL chunk read in a short
    transaction of its own: the request's session is closed by the time the body streams)."""
    if file.backend == "s3":
        async with s3_client(settings) as client:
            answer = await client.get_object(
                Bucket=settings.evidence_s3_bucket, Key=s3_key(settings, file.sha256)
            )
            async with answer["Body"] as body:
                while chunk := await body.read(settings.evidence_chunk_bytes):
                    yield chunk
        return
    seq = 0
    while True:
        async with maker() as session:
            data = await session.scalar(
                select(EvidenceChunk.data).where(
                    EvidenceChunk.blob_id == file.blob_id, EvidenceChunk.seq == seq
                )
            )
        if data is None:
            return
        yield data
        seq += 1
