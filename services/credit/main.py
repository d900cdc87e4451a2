"""Credit service: facts, the versioned scoring model, levels, recognition, repair."""

import asyncio
import contextlib

from fastapi import FastAPI

from kit.app import create_service_app
from services.credit.config import settings
from services.credit.consumers import CONSUMERS
from services.credit.facts.router import router as facts_router
from services.credit.policy import service as policy
from services.credit.policy.jobs import Rescorer
from services.credit.policy.router import router as policy_router
from services.credit.recognitions.router import router as recognitions_router
from services.credit.repairs.router import router as repairs_router
from services.credit.scores.router import router as scores_router


async def on_startup(app: FastAPI) -> None:
    """Install the default model if there is none and announce the measures in force if
    they never were; start the rescoring worker."""
    async with app.state.sessionmaker() as session, session.begin():
        await policy.ensure_default(session)
        await policy.announce_measures(session)
    rescorer = Rescorer(app.state.engine, app.state.sessionmaker, settings)
    app.state.rescorer = asyncio.create_task(rescorer.run_forever(), name="rescorer")


async def on_shutdown(app: FastAPI) -> None:
    """Stop the rescoring worker (a running job resumes from its last chunk)."""
    app.state.rescorer.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await app.state.rescorer


app = create_service_app(
    settings,
    title="Credit service (信用服务)",
    description=(
        "Credit facts from every agency (信息互换), an explainable versioned scoring model, "
        "levels A–D with joint rewards and punishments (联合奖惩), mutual recognition of "
        "results (监管互认) and credit repair (信用修复)."
    ),
    routers=[facts_router, scores_router, policy_router, recognitions_router, repairs_router],
    consumers=CONSUMERS,
    on_startup=on_startup,
    on_shutdown=on_shutdown,
)
