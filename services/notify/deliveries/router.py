"""Delivery endpoints."""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from kit.auth import Principal, require
from kit.db import SessionDep
from kit.pagination import Page, PageParams, page_params
from services.notify.deliveries import service
from services.notify.deliveries.schemas import AttemptOut, DeliveryDetail, DeliveryOut

router = APIRouter(prefix="/v1/deliveries", tags=["deliveries"])
Reader = Annotated[Principal, Depends(require("notify:read"))]
Writer = Annotated[Principal, Depends(require("notify:write"))]


@router.get("", summary="Webhook deliveries", response_model=Page[DeliveryOut])
async def list_deliveries(
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    subscription_id: uuid.UUID | None = None,
    status: Annotated[Literal["pending", "delivered", "failed"] | None, Query()] = None,
    event_id: uuid.UUID | None = None,
) -> Page[DeliveryOut]:
    """Of your subscriptions (an admin: all), newest first; `status=failed` lists those that
    ran out of retries (24 hours of exponential backoff with jitter)."""
    rows, cursor = await service.search(
        session,
        principal,
        page=page,
        subscription_id=subscription_id,
        status=status,
        event_id=event_id,
    )
    return Page(items=[DeliveryOut.model_validate(r) for r in rows], next_cursor=cursor)


@router.get(
    "/{delivery_id}",
    summary="A delivery and its attempts",
    response_model=DeliveryDetail,
    responses={404: {"description": "No such delivery of yours"}},
)
async def get_delivery(
    delivery_id: uuid.UUID, session: SessionDep, principal: Reader
) -> DeliveryDetail:
    """Every attempt with its HTTP status or error and duration."""
    delivery = await service.get(session, delivery_id, principal)
    history = await service.attempts(session, delivery.id)
    return DeliveryDetail.model_validate(
        {
            **DeliveryOut.model_validate(delivery).model_dump(),
            "history": [AttemptOut.model_validate(a) for a in history],
        }
    )


@router.post(
    "/{delivery_id}/replay",
    summary="Send a delivery again",
    response_model=DeliveryOut,
    responses={
        404: {"description": "No such delivery of yours"},
        409: {"description": "Being sent right now"},
    },
)
async def replay(delivery_id: uuid.UUID, session: SessionDep, principal: Writer) -> DeliveryOut:
    """Now, with the same `webhook-id` (receivers dedupe on it), and a new retry window."""
    delivery = await service.get(session, delivery_id, principal, lock=True)
    return DeliveryOut.model_validate(await service.replay(session, delivery))
