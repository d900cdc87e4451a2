"""Subscription endpoints."""

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from kit.auth import Principal, require
from kit.concurrency import check_if_match, set_etag
from kit.db import SessionDep
from kit.pagination import Page, PageParams, page_params
from services.notify.subscriptions import service
from services.notify.subscriptions.schemas import (
    RotateIn,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionPatch,
)

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"])
Reader = Annotated[Principal, Depends(require("notify:read"))]
Writer = Annotated[Principal, Depends(require("notify:write"))]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such subscription"}}


@router.post(
    "",
    status_code=201,
    summary="Subscribe to events",
    response_model=SubscriptionCreated,
    responses={422: {"description": "Bad pattern, or a webhook URL the SSRF guard refuses"}},
)
async def subscribe(
    body: SubscriptionIn, session: SessionDep, principal: Writer, response: Response
) -> SubscriptionCreated:
    """Event types with wildcards (`inspection.alert.*`, `registry.>`) and filters (zone,
    industry, USCC, severity), to a webhook or to your inbox. Webhooks follow Standard
    Webhooks: `webhook-id` (the delivery id, the same on every retry), `webhook-timestamp`,
    `webhook-signature` (`v1,` + base64 HMAC-SHA256 of `id.timestamp.body` with the secret
    shown here once). URLs resolving to loopback, link-local, private or metadata addresses
    are refused unless the operator allows them (`NOTIFY_WEBHOOK_ALLOW`); production needs
    https. An enterprise receives only events about itself; an inspector draws, results and
    CAPAs, in the inbox."""
    subscription = await service.create(session, body, principal)
    response.headers["Location"] = f"/v1/subscriptions/{subscription.id}"
    set_etag(response, subscription.version)
    return SubscriptionCreated.model_validate(subscription)


@router.get("", summary="Your subscriptions", response_model=Page[SubscriptionOut])
async def list_subscriptions(
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    status: Annotated[Literal["active", "paused", "disabled"] | None, Query()] = None,
) -> Page[SubscriptionOut]:
    """Yours; an admin sees everyone's."""
    rows, cursor = await service.search(session, principal, page, status)
    return Page(items=[SubscriptionOut.model_validate(r) for r in rows], next_cursor=cursor)


@router.get(
    "/{subscription_id}",
    summary="One subscription",
    response_model=SubscriptionOut,
    responses=NOT_FOUND,
)
async def get_subscription(
    subscription_id: uuid.UUID, session: SessionDep, principal: Reader, response: Response
) -> SubscriptionOut:
    """With its failure count and, when disabled, why."""
    subscription = await service.get(session, subscription_id, principal)
    set_etag(response, subscription.version)
    return SubscriptionOut.model_validate(subscription)


@router.patch(
    "/{subscription_id}",
    summary="Change or re-enable a subscription",
    response_model=SubscriptionOut,
    responses={**NOT_FOUND, 412: {"description": "If-Match does not match"}},
)
async def patch_subscription(
    subscription_id: uuid.UUID,
    patch: SubscriptionPatch,
    request: Request,
    session: SessionDep,
    principal: Writer,
    response: Response,
) -> SubscriptionOut:
    """`status: active` re-enables a disabled webhook; `paused` stops it for now."""
    subscription = await service.get(session, subscription_id, principal, lock=True)
    check_if_match(request, subscription.version)
    subscription = await service.update(session, subscription, patch)
    set_etag(response, subscription.version)
    return SubscriptionOut.model_validate(subscription)


@router.post(
    "/{subscription_id}/secret",
    summary="Rotate a webhook's secret",
    response_model=SubscriptionCreated,
    responses={**NOT_FOUND, 409: {"description": "Not a webhook subscription"}},
)
async def rotate_secret(
    subscription_id: uuid.UUID, body: RotateIn, session: SessionDep, principal: Writer
) -> SubscriptionCreated:
    """The new secret is shown once; during `overlap_s` (default a day) deliveries carry two
    signatures, one per secret, so a receiver can switch without losing one."""
    subscription = await service.get(session, subscription_id, principal, lock=True)
    secret = await service.rotate(session, subscription, body)
    out = SubscriptionCreated.model_validate(subscription)
    out.secret = secret
    return out


@router.delete("/{subscription_id}", status_code=204, summary="Unsubscribe", responses=NOT_FOUND)
async def unsubscribe(subscription_id: uuid.UUID, session: SessionDep, principal: Writer) -> None:
    """Pending deliveries stop; the deliveries' record stays."""
    subscription = await service.get(session, subscription_id, principal, lock=True)
    await service.delete(session, subscription)
