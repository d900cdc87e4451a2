"""Evidence files: stored once by SHA-256, fetched by those who may see what references them.

Who may fetch a file (`ensure_can_see`):
- the zone office and member agencies (tokens bound to no enterprise and no inspector):
  any file, as they see every task, CAPA, commitment and meeting;
- whoever uploaded it (each uploader is recorded), and an enterprise any file uploaded by a
  user of that enterprise (a signed commitment's scan, a CAPA's photo);
- an enterprise: files referenced by its own tasks' results and its CAPAs' responses;
- an inspector: files referenced by the results of tasks assigned to them and by the
  responses to those tasks' CAPAs.
Anyone else gets a 403; a hash never uploaded a 404. A reference is checked when written
(`check_references`): a hash never uploaded is a 422 naming it, and one the writer may not
see is refused too, so nobody gains access to another's file by citing its hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterable

from sqlalchemy import exists, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.problems import ProblemError, invalid
from services.inspection.capas.models import Capa
from services.inspection.config import settings
from services.inspection.evidence import sniff, storage
from services.inspection.evidence.models import EvidenceFile, EvidenceUpload
from services.inspection.inspectors.service import inspector_uuid
from services.inspection.tasks.models import Task


def _too_large(limit: int) -> ProblemError:
    return ProblemError(
        "payload-too-large",
        f"an evidence file may have at most {limit} bytes",
        detail_zh=f"证据文件不得超过 {limit} 字节",
        limit_bytes=limit,
    )


def _unsupported() -> ProblemError:
    kinds = "JPEG, PNG, WebP, HEIC, PDF"
    return ProblemError(
        "unsupported-media-type",
        f"an evidence file must be one of {kinds}, judged by its content (not its name)",
        detail_zh=f"证据文件必须是 {kinds} 之一（按文件内容判断，而非文件名）",
        accepted=sorted(sniff.ACCEPTED),
    )


async def store(
    session: AsyncSession,
    principal: Principal,
    source: AsyncIterator[bytes],
    name: str | None,
) -> tuple[EvidenceFile, bool]:
    """Receive a file as it streams in: its type from its first bytes (415 for anything
    else, before a byte is kept), hashed and written a chunk at a time, 413 past
    `evidence_max_bytes` (the rest of the body is read and dropped, so the answer reaches a
    client still sending). Returns the stored file and whether it is new; a file already
    stored is kept once, its new uploader recorded."""
    limit = settings.evidence_max_bytes
    head = bytearray()
    async for chunk in source:
        head += chunk
        if len(head) >= sniff.HEAD_BYTES:
            break
    if not head:
        raise invalid("body", "the file is empty", "文件为空")
    media_type = sniff.media_type(bytes(head[: sniff.HEAD_BYTES]))
    if media_type is None:
        async for _ in source:  # drain: the client is still sending
            pass
        raise _unsupported()
    digest = hashlib.sha256()
    size = 0
    target = storage.pending(session, settings)
    try:
        async for chunk in _chain(bytes(head), source):
            size += len(chunk)
            if size > limit:
                async for _ in source:
                    pass
                raise _too_large(limit)
            digest.update(chunk)
            await target.write(chunk)
        sha256 = digest.hexdigest()
        created = await session.scalar(
            insert(EvidenceFile)
            .values(
                sha256=sha256,
                media_type=media_type,
                size=size,
                backend=settings.evidence_backend,
                blob_id=target.blob_id,
            )
            .on_conflict_do_nothing(index_elements=["sha256"])
            .returning(EvidenceFile.sha256)
        )
        if created is None:
            await target.discard()
        else:
            await target.keep(sha256, media_type)
    except BaseException:
        target.abandon()  # whatever it wrote to the database goes with the rollback
        raise
    await session.execute(
        insert(EvidenceUpload)
        .values(
            sha256=sha256,
            subject=principal.subject,
            uscc=principal.uscc,
            inspector_id=inspector_uuid(principal) if principal.inspector_id else None,
            name=name[:200] if name else None,  # a form's file name is the client's to choose
        )
        .on_conflict_do_nothing(index_elements=["sha256", "subject"])
    )
    return await session.get_one(EvidenceFile, sha256), created is not None


async def _chain(head: bytes, source: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield head
    async for chunk in source:
        yield chunk


async def get(session: AsyncSession, sha256: str) -> EvidenceFile:
    """A stored file's record, or 404."""
    file = await session.get(EvidenceFile, sha256)
    if file is None:
        raise ProblemError(
            "not-found",
            f"no evidence file {sha256} was uploaded",
            detail_zh=f"未上传过证据文件 {sha256}",
            resource="evidence",
        )
    return file


def _is_office(principal: Principal) -> bool:
    return principal.uscc is None and principal.inspector_id is None


async def visible(session: AsyncSession, principal: Principal, hashes: set[str]) -> set[str]:
    """Those of `hashes` the caller may fetch (the rule in this module's docstring)."""
    if not hashes or _is_office(principal):
        return set(hashes)
    inspector = inspector_uuid(principal) if principal.inspector_id else None
    uploaded = EvidenceUpload.subject == principal.subject
    if principal.uscc is not None:
        uploaded = or_(uploaded, EvidenceUpload.uscc == principal.uscc)
    if inspector is not None:
        uploaded = or_(uploaded, EvidenceUpload.inspector_id == inspector)
    seen = set(
        await session.scalars(
            select(EvidenceUpload.sha256).where(EvidenceUpload.sha256.in_(hashes), uploaded)
        )
    )
    for sha256 in hashes - seen:
        cited = [{"sha256": sha256}]
        by_task = Task.result["evidence"].contains(cited)
        by_capa = Capa.evidence.contains(cited)
        if principal.uscc is not None:
            tasks = exists().where(Task.uscc == principal.uscc, by_task)
            capas = exists().where(Capa.uscc == principal.uscc, by_capa)
        else:
            mine = Task.inspector_ids.contains([inspector])
            tasks = exists().where(mine, by_task)
            capas = exists().where(Capa.task_id == Task.id, mine, by_capa)
        if await session.scalar(select(or_(tasks, capas))):
            seen.add(sha256)
    return seen


async def ensure_can_see(session: AsyncSession, principal: Principal, file: EvidenceFile) -> None:
    """403 unless the caller may fetch the file."""
    if not await visible(session, principal, {file.sha256}):
        raise ProblemError(
            "forbidden",
            "this evidence file is not referenced by anything you may see",
            detail_zh="此证据文件未被你有权查看的任何记录引用",
        )


async def check_references(
    session: AsyncSession, principal: Principal, field: str, hashes: Iterable[str]
) -> None:
    """A 422 naming every cited hash that was never uploaded, or that the writer may not
    see (citing a hash must not be a way to read another's file)."""
    cited = set(hashes)
    if not cited:
        return
    stored = set(
        await session.scalars(select(EvidenceFile.sha256).where(EvidenceFile.sha256.in_(cited)))
    )
    missing = sorted(cited - stored)
    if missing:
        raise invalid(
            field,
            f"never uploaded to /v1/evidence: {', '.join(missing[:10])}",
            f"未上传到 /v1/evidence 的证据文件：{'、'.join(missing[:10])}",
        )
    hidden = sorted(cited - await visible(session, principal, cited))
    if hidden:
        raise invalid(
            field,
            f"evidence files you may not see: {', '.join(hidden[:10])}",
            f"你无权查看的证据文件：{'、'.join(hidden[:10])}",
        )
