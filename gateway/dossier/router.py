"""Acceptance dossier endpoints (验收申报材料): a zone's file as PDF or Excel."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.config import settings
from gateway.dossier.fonts import INSTALL_HINT, find_cjk_font
from gateway.dossier.gather import gather_dossier
from gateway.dossier.pdf import render_pdf
from gateway.dossier.xlsx import render_xlsx
from kit.auth import PrincipalDep, ensure_office
from kit.problems import ProblemError
from kit.validation import CHINA

router = APIRouter(prefix="/v1/zones", tags=["dossier"])
PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RESPONSES: dict[int | str, dict[str, Any]] = {
    403: {"description": "The token may not read the zone, or is an enterprise's or inspector's"},
    404: {"description": "Zone not found"},
    503: {"description": "Registry unavailable, or (PDF) no CJK font installed"},
}


def attachment(name_zh: str, code: str, suffix: str, day: str) -> str:
    """Content-Disposition (RFC 6266): an ASCII filename and the Chinese one as filename*."""
    utf8 = quote(f"{name_zh}验收申报材料-{day}.{suffix}", safe="")
    return f"attachment; filename=\"dossier-{code}-{day}.{suffix}\"; filename*=UTF-8''{utf8}"


async def _file(request: Request, code: str, suffix: str) -> tuple[Any, str]:
    now = datetime.now(UTC)
    dossier = await gather_dossier(request, code, now=now)
    disposition = attachment(
        dossier.zone.get("name_zh", ""),
        dossier.zone["code"],
        suffix,
        now.astimezone(CHINA).strftime("%Y%m%d"),  # the county's day, as on its documents
    )
    return dossier, disposition


# Rendering parses and subsets an 8 MB font in Python: two at once on two cores would slow
# every request the gateway serves, so they queue.
RENDERING = asyncio.Semaphore(1)


@router.get(
    "/{code}/dossier.pdf",
    summary="A zone's acceptance dossier as PDF (验收申报材料)",
    response_class=Response,
    responses={**RESPONSES, 200: {"content": {PDF: {}}, "description": "The PDF"}},
)
async def dossier_pdf(code: str, request: Request, principal: PrincipalDep) -> Response:
    """Stage history, checklist, members and credit levels, KPIs with charts, spot checks and
    CAPAs, alerts, commitments; a part whose service is down says 不可用 (unavailable)."""
    ensure_office(principal)
    font = find_cjk_font(settings.cjk_font)
    if font is None:
        raise ProblemError("service-unavailable", INSTALL_HINT, font_package="fonts-noto-cjk")
    dossier, disposition = await _file(request, code, "pdf")
    async with RENDERING:  # one PDF at a time: rendering holds the GIL for a while
        body = await asyncio.to_thread(render_pdf, dossier, font)
    return Response(body, media_type=PDF, headers={"Content-Disposition": disposition})


@router.get(
    "/{code}/dossier.xlsx",
    summary="A zone's acceptance dossier as an Excel workbook (验收申报材料)",
    response_class=Response,
    responses={**RESPONSES, 200: {"content": {XLSX: {}}, "description": "The workbook"}},
)
async def dossier_xlsx(code: str, request: Request, principal: PrincipalDep) -> Response:
    """The same sections as the PDF, one sheet each; text cells never run as formulas."""
    ensure_office(principal)
    dossier, disposition = await _file(request, code, "xlsx")
    body = await asyncio.to_thread(render_xlsx, dossier)
    return Response(body, media_type=XLSX, headers={"Content-Disposition": disposition})
