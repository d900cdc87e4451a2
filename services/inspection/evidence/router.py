"""Evidence file endpoints: upload (raw body or multipart) and download."""

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.datastructures import UploadFile

from kit.auth import Principal, require
from kit.db import SessionDep
from kit.observability import UploadRoute
from kit.problems import invalid
from services.inspection.config import settings
from services.inspection.evidence import service, sniff, storage
from services.inspection.evidence.schemas import EvidenceOut

router = APIRouter(prefix="/v1/evidence", tags=["evidence"])
# The file is the body (any Content-Type) or a multipart form's part: the larger body limit
# applies, and the route refuses past `evidence_max_bytes`.
UPLOAD = UploadRoute("/v1/evidence", media=None)
Reader = Annotated[Principal, Depends(require("inspection:read"))]
Uploader = Annotated[Principal, Depends(require("inspection:write"))]
Sha256 = Annotated[str, Path(pattern="^[0-9a-f]{64}$", description="Hex SHA-256 of the file")]

# The bytes a download is served under: never rendered by a browser as a page of this
# origin (attachment, no sniffing, a sandbox with nothing allowed).
DOWNLOAD_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, no-cache",
}
_BINARY = {"schema": {"type": "string", "format": "binary"}}
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The file as the raw body (any Content-Type: the type is judged from "
        "the bytes), or multipart/form-data with the file in the part `file`",
        "content": {
            # one binary media stands for every accepted one (the bytes decide): client
            # generators take octet-stream and forms, not a list of image types
            "application/octet-stream": _BINARY,
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
        },
    }
}


async def _multipart(request: Request) -> tuple[AsyncIterator[bytes], str | None]:
    """The form's `file` part: Starlette spools it to a temporary file past 1 MiB."""
    form = await request.form(max_files=1, max_fields=5)
    part = form.get("file")
    if not isinstance(part, UploadFile):
        raise invalid(
            "file", "send the file in the multipart part `file`", "请在 file 部分提交文件"
        )

    async def chunks() -> AsyncIterator[bytes]:
        try:
            while chunk := await part.read(settings.evidence_chunk_bytes):
                yield chunk
        finally:
            await part.close()

    return chunks(), part.filename


@router.post(
    "",
    summary="Upload an evidence file",
    status_code=201,
    response_model=EvidenceOut,
    openapi_extra=UPLOAD_BODY,
    responses={
        200: {
            "description": "The same bytes were stored already (kept once)",
            "model": EvidenceOut,
        },
        413: {"description": "Over 20 MiB"},
        415: {"description": "Not a JPEG, PNG, WebP, HEIC or PDF, judged by the bytes"},
    },
)
async def upload(
    request: Request,
    session: SessionDep,
    principal: Uploader,
    response: Response,
    name: Annotated[
        str | None, Query(max_length=200, description="The file's name on the device")
    ] = None,
) -> EvidenceOut:
    """Stored once by its SHA-256 whoever sends it; 201 the first time, 200 after. Up to
    20 MiB of JPEG, PNG, WebP, HEIC or PDF, judged by the bytes, never the name or the
    Content-Type. Reference it by hash in a task's result or a CAPA's response."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "multipart/form-data":
        source, filename = await _multipart(request)
        name = name or filename
    else:
        source = request.stream()
    file, created = await service.store(session, principal, source, name)
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/v1/evidence/{file.sha256}"
    return EvidenceOut.model_validate(file)


@router.get(
    "/{sha256}",
    summary="Download an evidence file",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The bytes, as an attachment",
            "content": {media: _BINARY for media in sniff.ACCEPTED},
        },
        403: {"description": "Not referenced by anything you may see"},
        404: {"description": "Never uploaded"},
    },
)
async def download(
    sha256: Sha256, request: Request, session: SessionDep, principal: Reader
) -> StreamingResponse:
    """For those who may see a task, CAPA, commitment or meeting that references it (the
    rule is in docs/api.md); streamed, always as an attachment."""
    file = await service.get(session, sha256)
    await service.ensure_can_see(session, principal, file)
    extension = sniff.ACCEPTED.get(file.media_type, "bin")
    return StreamingResponse(
        storage.read(request.app.state.read_sessionmaker, settings, file),
        media_type=file.media_type,
        headers={
            **DOWNLOAD_HEADERS,
            "Content-Length": str(file.size),
            "Content-Disposition": f'attachment; filename="{sha256}.{extension}"',
            "ETag": f'"{sha256}"',
        },
    )
