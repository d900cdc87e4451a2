"""Evidence files on each backend (PostgreSQL chunk rows, and S3 on a moto server on
loopback): a PNG round-trips byte for byte, anything not an accepted type by its bytes is
415, past 20 MiB 413, the same bytes are kept once, who may fetch a file, and a reference to
a hash never uploaded (or not the writer's to see) refused naming it."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from deploy.processes import free_port
from kit.auth import Principal
from kit.db import utcnow
from kit.problems import ProblemError
from services.inspection.capas import service as capas
from services.inspection.capas.models import Capa
from services.inspection.capas.schemas import ResponseIn
from services.inspection.config import settings
from services.inspection.evidence import service, storage
from services.inspection.evidence.models import EvidenceChunk, EvidenceFile, EvidenceUpload
from services.inspection.tasks import service as tasks
from services.inspection.tasks.models import Task
from services.inspection.tasks.schemas import ResultIn
from tests.helpers import new_uscc, png, wait_until

MiB = 1024 * 1024
BUCKET = "evidence-test"


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    """A moto S3 server on loopback, with the evidence bucket."""
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"},
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{url}/moto-api/", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(up, timeout=60, interval=0.2, what="moto server")
        httpx.put(f"{url}/{BUCKET}", timeout=10).raise_for_status()
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(params=["postgres", "s3"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test once per backend; chunks of 256 KiB (a photo spans several)."""
    monkeypatch.setattr(settings, "evidence_backend", request.param)
    if request.param == "s3":
        url = request.getfixturevalue("moto_url")
        monkeypatch.setattr(settings, "evidence_s3_endpoint_url", url)
        monkeypatch.setattr(settings, "evidence_s3_bucket", BUCKET)
        monkeypatch.setattr(settings, "evidence_s3_prefix", f"t-{uuid.uuid4().hex[:8]}/")
        monkeypatch.setattr(settings, "evidence_s3_access_key_id", "test")
        monkeypatch.setattr(settings, "evidence_s3_secret_access_key", "test")
    return str(request.param)


def enterprise(uscc: str) -> Principal:
    return Principal(subject=f"user-{uscc}", scopes=frozenset({"inspection:write"}), uscc=uscc)


def inspector(inspector_id: uuid.UUID) -> Principal:
    return Principal(
        subject=f"inspector-{inspector_id}",
        scopes=frozenset({"inspection:write"}),
        inspector_id=str(inspector_id),
        agency="market_supervision",
    )


async def pieces(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """The body as a client's chunks arrive."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def upload(
    session: AsyncSession, who: Principal, data: bytes, name: str = "photo.png"
) -> tuple[EvidenceFile, bool]:
    return await service.store(session, who, pieces(data), name)


async def download(session: AsyncSession, file: EvidenceFile) -> bytes:
    """The bytes as the download streams them (on the test's own session: its rows are not
    committed for another to see)."""

    @contextlib.asynccontextmanager
    async def same_session() -> AsyncIterator[AsyncSession]:
        yield session

    return b"".join([c async for c in storage.read(same_session, settings, file)])  # type: ignore[arg-type]


async def s3_objects() -> list[dict[str, Any]]:
    async with storage.s3_client(settings) as client:
        listed = await client.list_objects_v2(
            Bucket=settings.evidence_s3_bucket, Prefix=settings.evidence_s3_prefix
        )
    return list(listed.get("Contents", []))


async def test_a_png_round_trips_byte_for_byte(session: AsyncSession, backend: str) -> None:
    photo = png(500, 500, seed=1)  # about 730 KiB: three chunks and a part
    file, created = await upload(session, enterprise(new_uscc()), photo)
    assert created and file.media_type == "image/png" and file.size == len(photo)
    assert file.backend == backend
    assert await download(session, file) == photo
    if backend == "postgres":
        chunks = await session.scalar(
            select(func.count()).where(EvidenceChunk.blob_id == file.blob_id)
        )
        assert chunks == 3
    else:
        assert [o["Size"] for o in await s3_objects()] == [len(photo)]


@pytest.mark.parametrize(
    "payload",
    [
        b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>",
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200,  # a PE
        b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200,
        b"PK\x03\x04" + b"\x00" * 200,  # a zip (or an .xlsx)
        b"\xff\xd8",  # too short to be a JPEG
    ],
    ids=["html", "exe", "elf", "zip", "short"],
)
async def test_anything_not_an_accepted_type_by_its_bytes_is_415_and_kept_nowhere(
    session: AsyncSession, backend: str, payload: bytes
) -> None:
    with pytest.raises(ProblemError) as refused:
        await upload(session, enterprise(new_uscc()), payload, name="photo.jpg")
    assert refused.value.status == 415
    assert await session.scalar(select(func.count()).select_from(EvidenceFile)) == 0
    if backend == "s3":
        assert await s3_objects() == []


async def test_an_empty_body_is_refused(session: AsyncSession, backend: str) -> None:
    with pytest.raises(ProblemError) as refused:
        await upload(session, enterprise(new_uscc()), b"")
    assert refused.value.status == 422


async def test_twenty_mib_is_accepted_and_one_byte_more_is_413(
    session: AsyncSession, backend: str
) -> None:
    head = png(8, 8)
    with pytest.raises(ProblemError) as refused:
        async with session.begin_nested():  # the request's rollback on its error
            too_big = head + b"\x00" * (20 * MiB + 1 - len(head))
            await upload(session, enterprise(new_uscc()), too_big)
    assert refused.value.status == 413
    assert await session.scalar(select(func.count()).select_from(EvidenceChunk)) == 0
    file, _ = await upload(session, enterprise(new_uscc()), head + b"\x00" * (20 * MiB - len(head)))
    assert file.size == 20 * MiB


async def test_the_same_file_twice_is_stored_once(session: AsyncSession, backend: str) -> None:
    photo = png(300, 300, seed=2)
    first, created = await upload(session, enterprise(new_uscc()), photo)
    again, created_again = await upload(session, enterprise(new_uscc()), photo, name="copy.png")
    assert created and not created_again and again.sha256 == first.sha256
    assert await session.scalar(select(func.count()).select_from(EvidenceFile)) == 1
    uploads = await session.scalar(
        select(func.count()).where(EvidenceUpload.sha256 == first.sha256)
    )
    assert uploads == 2  # each uploader recorded, the bytes kept once
    if backend == "postgres":
        # 270 KB: a chunk and a part, the copy's discarded
        assert await session.scalar(select(func.count()).select_from(EvidenceChunk)) == 2
        assert (
            await session.scalar(select(func.count()).where(EvidenceChunk.blob_id == first.blob_id))
            == 2
        )
    else:
        assert len(await s3_objects()) == 1
    assert await download(session, again) == photo


async def _task(session: AsyncSession, uscc: str, officers: list[uuid.UUID]) -> Task:
    task = Task(kind="targeted", uscc=uscc, level="C", inspector_ids=officers, agency="samr")
    session.add(task)
    await session.flush()
    return task


async def test_who_may_fetch_a_file(session: AsyncSession, backend: str, office: Principal) -> None:
    """The uploader's enterprise, offices, the enterprise and inspectors of a task or CAPA
    citing it; not another enterprise nor an inspector of another task."""
    owner, stranger = new_uscc(), new_uscc()
    officers = [uuid.uuid4(), uuid.uuid4()]
    photo, _ = await upload(session, inspector(officers[0]), png(16, 16, seed=3))
    task = await _task(session, owner, officers)

    async def may(who: Principal) -> bool:
        try:
            await service.ensure_can_see(session, who, photo)
        except ProblemError as refused:
            assert refused.status == 403
            return False
        return True

    assert await may(office) and await may(inspector(officers[0]))
    # not yet cited: the enterprise and the second inspector do not see it
    assert not await may(enterprise(owner)) and not await may(inspector(officers[1]))
    result = ResultIn.model_validate(
        {
            "findings": [{"item": "A-1", "outcome": "fail"}],
            "verdict": "fail",
            "evidence": [{"sha256": photo.sha256, "name": "现场.png"}],
        }
    )
    await tasks.record_result(session, task, result, inspector(officers[0]))
    assert await may(enterprise(owner)) and await may(inspector(officers[1]))
    assert not await may(enterprise(stranger)) and not await may(inspector(uuid.uuid4()))

    # a CAPA's attachment: the enterprise's own upload, seen by the task's inspectors
    scan, _ = await upload(session, enterprise(owner), png(16, 16, seed=4))
    capa = Capa(task_id=task.id, uscc=owner, findings="A-1", due_at=utcnow() + timedelta(days=30))
    session.add(capa)
    await session.flush()
    response = ResponseIn.model_validate(
        {
            "root_cause": "标签印刷错误",
            "actions": "更换标签",
            "evidence": [{"sha256": scan.sha256, "name": "整改照片.png"}],
        }
    )
    await capas.respond(session, capa, response, enterprise(owner))
    await session.flush()
    assert capa.evidence == [{"sha256": scan.sha256, "name": "整改照片.png"}]
    for who in (inspector(officers[1]), enterprise(owner), office):
        await service.ensure_can_see(session, who, scan)
    with pytest.raises(ProblemError) as refused:
        await service.ensure_can_see(session, enterprise(stranger), scan)
    assert refused.value.status == 403


async def test_a_hash_never_uploaded_or_not_the_writers_is_422_naming_it(
    session: AsyncSession, backend: str
) -> None:
    owner, stranger = new_uscc(), new_uscc()
    officers = [uuid.uuid4(), uuid.uuid4()]
    task = await _task(session, owner, officers)
    never = "ab" * 32
    theirs, _ = await upload(session, enterprise(stranger), png(16, 16, seed=5))

    def result(sha256: str) -> ResultIn:
        return ResultIn.model_validate(
            {
                "findings": [{"item": "A-1", "outcome": "pass"}],
                "verdict": "pass",
                "evidence": [{"sha256": sha256, "name": "p.png"}],
            }
        )

    for cited, words in ((never, "never uploaded"), (theirs.sha256, "may not see")):
        with pytest.raises(ProblemError) as refused:
            await tasks.record_result(session, task, result(cited), inspector(officers[0]))
        assert refused.value.status == 422
        [error] = refused.value.extensions["errors"]
        assert error["field"] == "evidence" and cited in error["reason"]
        assert words in error["reason"]
    capa = Capa(task_id=task.id, uscc=owner, findings="A-1", due_at=utcnow() + timedelta(days=30))
    session.add(capa)
    await session.flush()
    with pytest.raises(ProblemError) as refused:
        await capas.respond(
            session,
            capa,
            ResponseIn.model_validate(
                {
                    "root_cause": "x",
                    "actions": "y",
                    "evidence": [{"sha256": never, "name": "p.png"}],
                }
            ),
            enterprise(owner),
        )
    assert refused.value.status == 422 and never in str(refused.value.extensions["errors"])


async def test_a_form_file_name_too_long_is_kept_shortened(
    session: AsyncSession, backend: str
) -> None:
    """A multipart part's file name is the client's to choose: kept to 200 characters."""
    file, _ = await upload(session, enterprise(new_uscc()), png(8, 8, seed=6), name="现" * 300)
    kept = await session.scalar(
        select(EvidenceUpload.name).where(EvidenceUpload.sha256 == file.sha256)
    )
    assert kept == "现" * 200
