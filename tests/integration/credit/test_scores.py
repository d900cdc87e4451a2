"""A score read (`GET /v1/credit/enterprises/{uscc}`): the enterprise and its facts in one
statement, explained so the contributions add up to the stored score."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.problems import NotFound
from services.credit.facts import service as facts
from services.credit.facts.schemas import FactIn
from services.credit.scores import service
from tests.helpers import new_uscc

Announced = Callable[..., Awaitable[str]]


def _fact(uscc: str, kind: str, severity: str, days_ago: int) -> FactIn:
    occurred_at = datetime.now(UTC) - timedelta(days=days_ago)
    return FactIn.model_validate(
        {"uscc": uscc, "kind": kind, "severity": severity, "occurred_at": occurred_at}
    )


async def test_a_score_is_read_with_its_facts_oldest_first_and_adds_up(
    session: AsyncSession, samr: Principal, announced: Announced
) -> None:
    uscc = await announced()
    older, _, _ = await facts.submit(
        session, fact_in=_fact(uscc, "spot_check_fail", "general", 20), principal=samr
    )
    newer, _, _ = await facts.submit(
        session, fact_in=_fact(uscc, "penalty", "serious", 2), principal=samr
    )
    await session.flush()
    view, version = await service.score_view(session, uscc.lower())  # normalised
    assert (view.uscc, view.level, version) == (uscc, "D", 3)
    assert [c.fact_id for c in view.contributions] == [str(older.id), str(newer.id)]
    assert round(view.base_score + sum(c.points for c in view.contributions), 1) == round(
        view.score, 1
    )
    assert view.level_name_zh == "D类（信用风险高）" and view.level_name_en.startswith("D")
    assert view.overrides and view.measures  # a serious penalty caps the level at D


async def test_an_enterprise_without_facts_has_no_contributions(
    session: AsyncSession, announced: Announced
) -> None:
    uscc = await announced(industry=None)
    view, version = await service.score_view(session, uscc)
    assert (view.score, view.level, view.industry, version) == (100, "B", None, 1)
    assert view.contributions == [] and view.overrides == []


async def test_an_enterprise_credit_was_not_told_of_is_not_found(session: AsyncSession) -> None:
    with pytest.raises(NotFound):
        await service.score_view(session, new_uscc())
