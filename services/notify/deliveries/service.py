"""Reading deliveries and replaying one."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.db import utcnow
from kit.pagination import PageParams, keyset_page
from kit.problems import Conflict, NotFound
from kit.vocabulary import STATUSES, name
from services.notify.deliveries.models import Attempt, Delivery
from services.notify.subscriptions.models import Subscription
from services.notify.subscriptions.service import owner_of


def _visible(principal: Principal):  # type: ignore[no-untyped-def]
    """Deliveries of the caller's subscriptions (an admin's: all)."""
    if principal.is_admin:
        return None
    kind, owner = owner_of(principal)
    return (
        select(Subscription.id)
        .where(
            Subscription.id == Delivery.subscription_id,
            Subscription.owner_kind == kind,
            Subscription.owner == owner,
        )
        .exists()
    )


async def search(
    session: AsyncSession,
    principal: Principal,
    *,
    page: PageParams,
    subscription_id: uuid.UUID | None,
    status: str | None,
    event_id: uuid.UUID | None,
) -> tuple[list[Delivery], str | None]:
    """Newest first."""
    query = select(Delivery)
    if (mine := _visible(principal)) is not None:
        query = query.where(mine)
    if subscription_id:
        query = query.where(Delivery.subscription_id == subscription_id)
    if status:
        query = query.where(Delivery.status == status)
    if event_id:
        query = query.where(Delivery.event_id == event_id)
    return await keyset_page(session, query, keys=[Delivery.id], page=page, descending=True)


async def get(
    session: AsyncSession, delivery_id: uuid.UUID, principal: Principal, *, lock: bool = False
) -> Delivery:
    """A visible delivery, or 404."""
    query = select(Delivery).where(Delivery.id == delivery_id)
    if (mine := _visible(principal)) is not None:
        query = query.where(mine)
    delivery = await session.scalar(query.with_for_update() if lock else query)
    if delivery is None:
        raise NotFound("delivery", str(delivery_id))
    return delivery


async def attempts(session: AsyncSession, delivery_id: uuid.UUID) -> list[Attempt]:
    """Its attempts, oldest first."""
    return list(
        await session.scalars(
            select(Attempt).where(Attempt.delivery_id == delivery_id).order_by(Attempt.attempted_at)
        )
    )


async def replay(session: AsyncSession, delivery: Delivery) -> Delivery:
    """Send again now, with the same `webhook-id`, and a fresh retry window; only while its
    webhook is active (re-enable it first)."""
    subscription = await session.get_one(Subscription, delivery.subscription_id)
    if subscription.status != "active":
        raise Conflict(
            f"the webhook is {subscription.status}; re-enable it before replaying",
            detail_zh=f"该 webhook 当前为“{name(STATUSES, subscription.status)}”；请先重新启用再重放",
            subscription_status=subscription.status,
        )
    if delivery.status == "pending" and (
        delivery.lease_until is not None and delivery.lease_until > utcnow()
    ):
        raise Conflict("the delivery is being sent right now", detail_zh="该投递正在发送中")
    now = utcnow()
    delivery.status = "pending"
    delivery.next_attempt_at = now
    delivery.window_start = now
    delivery.lease_until = None
    await session.flush()
    return delivery
