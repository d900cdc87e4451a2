"""Subscriptions: owned by the token's agency, enterprise or office; a webhook gets a secret
and a guarded URL; an enterprise hears only about itself; rotation and deletion."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.db import utcnow
from kit.events import EnterpriseUpdated
from kit.problems import ProblemError
from services.notify import signing
from services.notify.models import Delivery, Subscription
from services.notify.subscriptions import service
from services.notify.subscriptions.schemas import RotateIn, SubscriptionIn, SubscriptionPatch
from tests.helpers import new_uscc
from tests.integration.conftest import emitted
from tests.integration.notify.conftest import Deliver, enterprise_user

RECEIVER = "https://8.8.8.8/hooks/zone"  # a public address literal: no DNS in the test


def _webhook(*patterns: str, **fields: object) -> SubscriptionIn:
    return SubscriptionIn.model_validate(
        {"event_types": list(patterns), "channel": "webhook", "url": RECEIVER, **fields}
    )


async def test_a_webhook_gets_a_secret_and_belongs_to_the_token_s_owner(
    session: AsyncSession, samr: Principal, office: Principal
) -> None:
    hook = await service.create(session, _webhook("inspection.>"), samr)
    inbox = await service.create(
        session, SubscriptionIn(event_types=["credit.level.changed"], language="en"), office
    )

    row = await session.get_one(Subscription, hook.id)
    assert (row.owner_kind, row.owner, row.channel, row.url) == (
        "agency",
        "samr",
        "webhook",
        RECEIVER,
    )
    assert row.secret is not None and row.secret.startswith("whsec_")
    signature = signing.sign(row.secret, "msg_1", 1_700_000_000, b"{}")
    assert signing.verify(row.secret, "msg_1", 1_700_000_000, b"{}", signature)
    assert (inbox.owner_kind, inbox.owner, inbox.secret, inbox.language) == (
        "office",
        "office-staff",
        None,
        "en",
    )
    assert await emitted(session) == []


async def test_an_enterprise_subscription_is_pinned_to_the_enterprise(
    session: AsyncSession,
) -> None:
    uscc, other = new_uscc(), new_uscc()
    user = enterprise_user(uscc)
    created = await service.create(
        session,
        SubscriptionIn.model_validate(
            {"event_types": ["registry.>"], "filters": {"usccs": [other], "zones": ["z1"]}}
        ),
        user,
    )
    assert created.filters["usccs"] == [uscc] and created.filters["zones"] == ["z1"]

    patch = SubscriptionPatch.model_validate({"filters": {"usccs": [other]}})
    await service.update(session, created, patch)
    row = await session.get_one(Subscription, created.id, populate_existing=True)
    assert (row.owner_kind, row.owner, row.filters["usccs"], row.version) == (
        "enterprise",
        uscc,
        [uscc],
        2,
    )
    with pytest.raises(ProblemError):  # not theirs to read either
        await service.get(session, created.id, enterprise_user(other))


async def test_webhooks_to_internal_addresses_and_inspectors_webhooks_are_refused(
    session: AsyncSession, samr: Principal
) -> None:
    for url in ("http://127.0.0.1:8080/hook", "http://169.254.169.254/latest", "http://10.1.2.3/"):
        with pytest.raises(ProblemError) as refused:
            await service.create(session, _webhook("registry.>", url=url), samr)
        assert refused.value.slug == "validation"
        assert refused.value.extensions["errors"][0]["field"] == "url"
    inspector = Principal(
        subject="inspector-1", scopes=frozenset({"notify:write"}), inspector_id="0190-insp"
    )
    with pytest.raises(ProblemError) as inspector_hook:
        await service.create(session, _webhook("inspection.draw.published"), inspector)
    assert inspector_hook.value.extensions["errors"][0]["field"] == "channel"
    assert list(await session.scalars(select(Subscription))) == []


async def test_rotation_keeps_the_old_secret_for_the_overlap_and_deletion_ends_deliveries(
    session: AsyncSession, samr: Principal, deliver: Deliver
) -> None:
    hook = await service.create(session, _webhook("registry.enterprise.*"), samr)
    old = hook.secret
    new = await service.rotate(session, hook, RotateIn(overlap_s=3600))
    row = await session.get_one(Subscription, hook.id, populate_existing=True)
    assert (row.secret, row.previous_secret) == (new, old) and new != old
    assert row.previous_secret_until is not None
    assert timedelta(minutes=59) < row.previous_secret_until - utcnow() <= timedelta(hours=1)
    inbox = await service.create(session, SubscriptionIn(event_types=["registry.>"]), samr)
    with pytest.raises(ProblemError) as no_secret:
        await service.rotate(session, inbox, RotateIn())
    assert no_secret.value.slug == "conflict"

    uscc = new_uscc()
    updated = EnterpriseUpdated(uscc=uscc, changed=["name"], version=2)
    await deliver("registry.enterprise.updated.v1", uscc, updated)
    subscription = await service.get(session, hook.id, samr, lock=True)
    await service.delete(session, subscription)
    await session.flush()

    (delivery,) = await session.scalars(select(Delivery).where(Delivery.subscription_id == hook.id))
    assert (delivery.status, delivery.last_error) == ("failed", "the subscription was deleted")
    with pytest.raises(ProblemError):  # hidden from now on
        await service.get(session, hook.id, samr)
