"""Subscriptions: create (webhook URLs guarded), read, change, rotate, delete."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy import update as sql_update
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.db import utcnow
from kit.pagination import PageParams, keyset_page
from kit.problems import NotFound, ProblemError, invalid
from services.notify import signing, ssrf
from services.notify.config import settings
from services.notify.deliveries.models import Delivery
from services.notify.subscriptions.models import Subscription
from services.notify.subscriptions.schemas import RotateIn, SubscriptionIn, SubscriptionPatch


def owner_of(principal: Principal) -> tuple[str, str]:
    """Whose subscriptions and inbox a token stands for."""
    if principal.uscc is not None:
        return "enterprise", principal.uscc
    if principal.inspector_id is not None:
        return "inspector", principal.inspector_id
    if principal.agency is not None:
        return "agency", principal.agency
    if principal.is_admin:
        return "office", principal.subject
    raise ProblemError(
        "forbidden",
        "this token names no agency, enterprise or inspector to notify",
        detail_zh="此令牌未指明要通知的部门、企业或检查员",
    )


async def guard(url: str) -> None:
    """422 for a URL the SSRF guard refuses."""
    try:
        await ssrf.check_target(
            url, require_https=settings.profile == "prod", allow=settings.webhook_allow
        )
    except ssrf.Refused as exc:
        raise invalid("url", str(exc), exc.zh) from exc


async def create(session: AsyncSession, body: SubscriptionIn, principal: Principal) -> Subscription:
    """A subscription owned by the caller; a webhook gets a fresh secret."""
    kind, owner = owner_of(principal)
    if kind == "inspector" and body.channel == "webhook":
        raise invalid("channel", "an inspector subscribes to the inbox", "检查员只能订阅站内收件箱")
    if body.url is not None:
        await guard(str(body.url))
    filters = body.filters.model_dump()
    if kind == "enterprise":
        filters["usccs"] = [owner]  # an enterprise never receives another's events
    subscription = Subscription(
        owner_kind=kind,
        owner=owner,
        event_types=body.event_types,
        filters=filters,
        channel=body.channel,
        url=str(body.url) if body.url else None,
        secret=signing.new_secret() if body.channel == "webhook" else None,
        language=body.language,
        created_by=principal.subject,
    )
    session.add(subscription)
    await session.flush()
    return subscription


async def get(
    session: AsyncSession, subscription_id: uuid.UUID, principal: Principal, *, lock: bool = False
) -> Subscription:
    """The caller's subscription (an admin's: any), or 404."""
    subscription = await session.get(Subscription, subscription_id, with_for_update=lock)
    if (
        subscription is None
        or subscription.status == "deleted"
        or not (
            principal.is_admin
            or (subscription.owner_kind, subscription.owner) == owner_of(principal)
        )
    ):
        raise NotFound("subscription", str(subscription_id))
    return subscription


async def search(
    session: AsyncSession, principal: Principal, page: PageParams, status: str | None
) -> tuple[list[Subscription], str | None]:
    """The caller's subscriptions (an admin sees all)."""
    query = select(Subscription).where(Subscription.status != "deleted")
    if not principal.is_admin:
        kind, owner = owner_of(principal)
        query = query.where(Subscription.owner_kind == kind, Subscription.owner == owner)
    if status:
        query = query.where(Subscription.status == status)
    return await keyset_page(session, query, keys=[Subscription.id], page=page)


async def update(
    session: AsyncSession, subscription: Subscription, patch: SubscriptionPatch
) -> Subscription:
    """Apply a change; re-enabling clears the failure count."""
    changes = patch.model_dump(exclude_unset=True, mode="json")
    if "url" in changes:
        if subscription.channel != "webhook" or changes["url"] is None:
            raise invalid(
                "url",
                "only a webhook subscription has a url, and it keeps one",
                "只有 webhook 订阅有地址（URL），且不能去掉",
            )
        await guard(changes["url"])
    if "filters" in changes and subscription.owner_kind == "enterprise":
        changes["filters"]["usccs"] = [subscription.owner]
    if changes.get("status") == "active":
        subscription.consecutive_failures = 0
        subscription.failing_since = None
        subscription.disabled_reason = None
    for name, value in changes.items():
        setattr(subscription, name, value)
    subscription.version += 1
    await session.flush()
    return subscription


async def delete(session: AsyncSession, subscription: Subscription) -> None:
    """Hidden from now on; its pending deliveries end as failed (their record stays)."""
    subscription.status = "deleted"
    subscription.version += 1
    await session.execute(
        sql_update(Delivery)
        .where(Delivery.subscription_id == subscription.id, Delivery.status == "pending")
        .values(status="failed", last_error="the subscription was deleted")
    )


async def rotate(session: AsyncSession, subscription: Subscription, body: RotateIn) -> str:
    """A new secret; the old one also signs until the overlap ends."""
    if subscription.channel != "webhook" or subscription.secret is None:
        raise ProblemError(
            "conflict",
            "only a webhook subscription has a secret",
            detail_zh="只有 webhook 订阅有签名密钥",
        )
    secret = signing.new_secret()
    subscription.previous_secret = subscription.secret
    subscription.previous_secret_until = utcnow() + timedelta(seconds=body.overlap_s)
    subscription.secret = secret
    subscription.version += 1
    await session.flush()
    return secret
