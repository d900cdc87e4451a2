"""Bulletin endpoints."""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from kit.auth import Principal, require
from kit.db import SessionDep
from kit.pagination import Page, PageParams, page_params
from services.notify.bulletins import service
from services.notify.bulletins.schemas import BulletinIn, BulletinOut

router = APIRouter(prefix="/v1/bulletins", tags=["bulletins"])
Reader = Annotated[Principal, Depends(require("notify:read"))]
Writer = Annotated[Principal, Depends(require("admin"))]  # the zone office


@router.post("", status_code=201, summary="Publish a bulletin", response_model=BulletinOut)
async def publish(
    body: BulletinIn, session: SessionDep, principal: Writer, response: Response
) -> BulletinOut:
    """A WTO/TBT notification (symbol such as G/TBT/N/EU/1234, member, products by HS code,
    markets, objective, comment deadline, adoption date) or a technical-regulation notice.
    Each enterprise with a product under one of the HS prefixes and (when markets are
    named) an export market among them gets it in its inbox, in its language; `read`
    counts the receipts. Emits `notify.bulletin.published`."""
    bulletin = await service.publish_bulletin(session, body, principal)
    response.headers["Location"] = f"/v1/bulletins/{bulletin.id}"
    return (await service.to_out(session, [bulletin]))[0]


@router.get("", summary="Bulletins", response_model=Page[BulletinOut])
async def list_bulletins(
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    kind: Annotated[Literal["wto_tbt", "regulation"] | None, Query()] = None,
    market: Annotated[str | None, Query(pattern="^[A-Za-z]{2}$")] = None,
    hs_code: Annotated[str | None, Query(pattern=r"^\d{2,10}$", description="Touching it")] = None,
) -> Page[BulletinOut]:
    """Newest first, with recipients and read receipts."""
    rows, cursor = await service.search(
        session, page=page, kind=kind, market=market, hs_code=hs_code
    )
    return Page(items=await service.to_out(session, rows), next_cursor=cursor)


@router.get(
    "/{bulletin_id}",
    summary="One bulletin",
    response_model=BulletinOut,
    responses={404: {"description": "No such bulletin"}},
)
async def get_bulletin(
    bulletin_id: uuid.UUID, session: SessionDep, principal: Reader
) -> BulletinOut:
    """With recipients and read receipts."""
    return (await service.to_out(session, [await service.get(session, bulletin_id)]))[0]
