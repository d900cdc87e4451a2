"""Recording credit facts: the enterprise rescored, the level change stored and announced with
its sequence, a client key naming one fact, the submissions refused."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.events import AgencyRegistered, make_event
from kit.problems import Conflict, ProblemError
from services.credit import consumers
from services.credit.config import settings
from services.credit.facts import service
from services.credit.facts.models import Fact
from services.credit.facts.schemas import FactIn
from services.credit.scores.models import CreditEnterprise, LevelChange
from tests.helpers import new_uscc
from tests.integration.conftest import emitted

Announced = Callable[..., Awaitable[str]]


def _fact(uscc: str, kind: str, severity: str = "general", **fields: Any) -> FactIn:
    occurred_at = fields.pop("occurred_at", datetime.now(UTC) - timedelta(hours=1))
    return FactIn.model_validate(
        {"uscc": uscc, "kind": kind, "severity": severity, "occurred_at": occurred_at, **fields}
    )


async def _level_events(session: AsyncSession, uscc: str) -> list[dict[str, Any]]:
    return [d for t, s, d in await emitted(session) if t == "credit.level.changed.v1" and s == uscc]


async def test_a_serious_penalty_forces_level_d_and_the_change_is_announced(
    session: AsyncSession, samr: Principal, announced: Announced
) -> None:
    uscc = await announced()
    fact, created, _ = await service.submit(
        session, fact_in=_fact(uscc, "penalty", "serious"), principal=samr
    )
    assert created and fact.source_agency == "samr" and fact.recorded_by == "samr-system"

    enterprise = await session.get_one(CreditEnterprise, uscc)
    # 100 − 40 = 60 is band C; the override for a serious penalty makes it D for a year
    assert (round(enterprise.score), enterprise.level, enterprise.version) == (60, "D", 2)
    await session.flush()  # what the request's commit would write
    changes = list(
        await session.scalars(
            select(LevelChange).where(LevelChange.uscc == uscc).order_by(LevelChange.changed_at)
        )
    )
    assert [(c.from_level, c.to_level, c.fact_id) for c in changes] == [
        (None, "B", None),
        ("B", "D", fact.id),
    ]
    levels = await _level_events(session, uscc)
    assert [(d["from_level"], d["to_level"], d["sequence"]) for d in levels] == [
        (None, "B", 1),
        ("B", "D", 2),
    ]
    assert levels[1]["fact_id"] == str(fact.id) and levels[1]["model_version"] == 1
    assert levels[1]["cause"] == "fact penalty/serious from samr"
    recorded = [(s, d) for t, s, d in await emitted(session) if t == "credit.fact.recorded.v1"]
    assert [
        (s, d["fact_id"], d["kind"], d["severity"], d["source_agency"]) for s, d in recorded
    ] == [(uscc, str(fact.id), "penalty", "serious", "samr")]


async def test_the_sequence_counts_every_rescore_not_only_level_changes(
    session: AsyncSession, samr: Principal, announced: Announced
) -> None:
    """Registry and inspection keep the level with the highest sequence: a change after a
    rescore that kept the level must still outrank the one before it."""
    uscc = await announced()
    await service.submit(session, fact_in=_fact(uscc, "spot_check_pass"), principal=samr)
    assert [d["to_level"] for d in await _level_events(session, uscc)] == ["B"]

    await service.submit(session, fact_in=_fact(uscc, "spot_check_fail", "serious"), principal=samr)
    enterprise = await session.get_one(CreditEnterprise, uscc)
    levels = await _level_events(session, uscc)
    assert [(d["to_level"], d["sequence"]) for d in levels] == [("B", 1), ("C", 3)]
    assert enterprise.version == 3 and enterprise.level == "C"


async def test_a_client_key_names_one_fact_per_agency(
    session: AsyncSession, samr: Principal, office: Principal, announced: Announced
) -> None:
    uscc = await announced()
    at = datetime.now(UTC) - timedelta(days=3)
    first, created, _ = await service.submit(
        session, fact_in=_fact(uscc, "recall", occurred_at=at, client_key="R-1"), principal=samr
    )
    again, created_again, _ = await service.submit(
        session, fact_in=_fact(uscc, "recall", occurred_at=at, client_key="R-1"), principal=samr
    )
    assert created and not created_again and again.id == first.id
    with pytest.raises(Conflict) as reused:
        await service.submit(
            session,
            fact_in=_fact(uscc, "recall", "serious", occurred_at=at, client_key="R-1"),
            principal=samr,
        )
    assert reused.value.extensions["fact_id"] == str(first.id)
    other, created_other, _ = await service.submit(  # the office's own key space
        session, fact_in=_fact(uscc, "recall", occurred_at=at, client_key="R-1"), principal=office
    )
    assert created_other and other.source_agency == "commerce"

    facts = list(await session.scalars(select(Fact).where(Fact.uscc == uscc)))
    assert sorted(f.source_agency for f in facts) == ["commerce", "samr"]
    recorded = [t for t, _, _ in await emitted(session) if t == "credit.fact.recorded.v1"]
    assert len(recorded) == 2


async def test_facts_are_refused_for_strangers_other_agencies_and_the_future(
    session: AsyncSession, samr: Principal, announced: Announced, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "announce_wait_s", 0.0)
    uscc = await announced()
    before = await emitted(session)

    with pytest.raises(ProblemError) as unknown:
        await service.submit(session, fact_in=_fact(new_uscc(), "penalty"), principal=samr)
    assert unknown.value.slug == "not-found"
    with pytest.raises(ProblemError) as other_agency:
        await service.submit(
            session, fact_in=_fact(uscc, "penalty", source_agency="customs"), principal=samr
        )
    assert other_agency.value.slug == "forbidden"
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    with pytest.raises(ProblemError) as future:
        await service.submit(
            session, fact_in=_fact(uscc, "penalty", occurred_at=tomorrow), principal=samr
        )
    assert future.value.slug == "validation"

    assert await session.scalar(select(Fact.id).where(Fact.uscc == uscc)) is None
    assert await emitted(session) == before


async def test_a_fact_from_an_agency_registry_never_announced_is_refused(
    session: AsyncSession, announced: Announced
) -> None:
    uscc = await announced()
    ghost = Principal(subject="ghost", scopes=frozenset({"credit:write"}), agency="ghost_bureau")
    before = await emitted(session)
    with pytest.raises(ProblemError) as refused:
        await service.submit(session, fact_in=_fact(uscc, "penalty", "serious"), principal=ghost)
    assert refused.value.slug == "not-found"
    assert refused.value.extensions == {"resource": "agency", "key": "ghost_bureau"}
    assert (await session.get_one(CreditEnterprise, uscc)).level == "B"
    assert await emitted(session) == before

    # once registry announces it, its facts are taken
    announced_agency = AgencyRegistered(
        code="ghost_bureau", name_zh="新成员单位", name_en="New member", group_role="member"
    )
    await consumers.on_agency(
        session,
        announced_agency,
        make_event(
            source="/services/registry",
            type="registry.agency.registered.v1",
            subject="ghost_bureau",
            data=announced_agency,
        ),
    )
    fact, created, _ = await service.submit(
        session, fact_in=_fact(uscc, "penalty", "general"), principal=ghost
    )
    assert created and fact.source_agency == "ghost_bureau"
