"""Notify service: subscriptions, signed webhooks, inboxes, risk warnings, bulletins."""

import asyncio
import contextlib

from fastapi import FastAPI

from kit.app import create_service_app
from services.notify.bulletins.router import router as bulletins_router
from services.notify.config import settings
from services.notify.consumers import CONSUMERS
from services.notify.deadletters.router import router as deadletters_router
from services.notify.deliveries.dispatch import Dispatcher
from services.notify.deliveries.router import router as deliveries_router
from services.notify.feeds.router import UPLOAD as FEEDS_UPLOAD
from services.notify.feeds.router import router as feeds_router
from services.notify.inbox.router import router as inbox_router
from services.notify.subscriptions.router import router as subscriptions_router
from services.notify.templates.router import router as templates_router


async def on_startup(app: FastAPI) -> None:
    """Start delivering webhooks."""
    app.state.dispatcher = asyncio.create_task(
        Dispatcher(app.state.sessionmaker).run(), name="webhook-dispatcher"
    )


async def on_shutdown(app: FastAPI) -> None:
    """Stop delivering (claimed deliveries are retried when their lease ends)."""
    app.state.dispatcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await app.state.dispatcher


app = create_service_app(
    settings,
    title="Notify service (信息互换与风险预警推送)",
    description=(
        "Event subscriptions with signed webhooks (Standard Webhooks) and inboxes for "
        "agencies, enterprises and inspectors in zh-CN and en; risk warnings (风险预警) and "
        "precautionary notices; WTO/TBT and technical-regulation bulletins (公共信息服务); "
        "dead letters."
    ),
    routers=[
        subscriptions_router,
        deliveries_router,
        inbox_router,
        feeds_router,  # before bulletins' /{bulletin_id}
        bulletins_router,
        templates_router,
        deadletters_router,
    ],
    consumers=CONSUMERS,
    upload_routes=[FEEDS_UPLOAD],
    on_startup=on_startup,
    on_shutdown=on_shutdown,
)
