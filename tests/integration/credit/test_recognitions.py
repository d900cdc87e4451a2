"""Mutual recognition (监管互认): granting and revoking are announced, and what a recognition
covers follows them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.problems import Conflict, ProblemError
from services.credit.domain import ResultKind
from services.credit.facts import service as facts
from services.credit.facts.schemas import FactIn
from services.credit.recognitions import service
from services.credit.recognitions.schemas import RecognitionIn
from tests.integration.conftest import emitted

Announced = Callable[..., Awaitable[str]]
CUSTOMS = Principal(subject="customs-system", scopes=frozenset({"credit:write"}), agency="customs")


async def _covered(session: AsyncSession, uscc: str, item: str) -> bool:
    coverage = await service.coverage(
        session,
        uscc=uscc,
        agency="customs",
        item=item,
        on=datetime.now(UTC).date(),
        result_kind=None,
    )
    return coverage.covered


async def test_a_recognised_result_covers_its_items_until_the_recognition_is_revoked(
    session: AsyncSession, samr: Principal, announced: Announced
) -> None:
    uscc = await announced(industry="lighting")
    today = datetime.now(UTC).date()
    recognition = await service.grant(
        session,
        recognition_in=RecognitionIn(
            recognised_agency="samr",
            result_kind=ResultKind.inspection_result,
            industries=["lighting"],
            valid_from=today - timedelta(days=30),
            valid_to=today + timedelta(days=335),
        ),
        principal=CUSTOMS,
    )
    passed = FactIn.model_validate(
        {
            "uscc": uscc,
            "kind": "spot_check_pass",
            "occurred_at": datetime.now(UTC) - timedelta(days=2),
            "details": {"checklist_items": ["LED-01", "LED-02"]},
        }
    )
    await facts.submit(session, fact_in=passed, principal=samr)

    assert await _covered(session, uscc, "LED-01")
    assert not await _covered(session, uscc, "LED-09")  # the result did not check it

    await service.revoke(session, recognition, reason="互认协议到期", principal=CUSTOMS)
    await session.flush()  # revoke leaves the write to the request's commit
    assert not await _covered(session, uscc, "LED-01")
    announced_ = [(t, s, d) for t, s, d in await emitted(session) if ".recognition." in t]
    assert [(t, s, d["status"], d["recognising_agency"]) for t, s, d in announced_] == [
        ("credit.recognition.granted.v1", "samr", "active", "customs"),
        ("credit.recognition.revoked.v1", "samr", "revoked", "customs"),
    ]
    assert announced_[0][2]["valid_from"] == (today - timedelta(days=30)).isoformat()


async def test_a_recognition_is_granted_by_one_agency_and_revoked_once_by_it(
    session: AsyncSession, samr: Principal
) -> None:
    asked = RecognitionIn(
        recognised_agency="samr",
        result_kind=ResultKind.lab_report,
        valid_from=date(2026, 1, 1),
        valid_to=date(2026, 12, 31),
    )
    with pytest.raises(ProblemError) as own:  # the token's agency is the recognising one
        await service.grant(session, recognition_in=asked, principal=samr)
    assert own.value.slug == "validation"

    recognition = await service.grant(session, recognition_in=asked, principal=CUSTOMS)
    with pytest.raises(ProblemError) as not_theirs:
        await service.revoke(session, recognition, reason="x", principal=samr)
    assert not_theirs.value.slug == "forbidden"
    await service.revoke(session, recognition, reason="到期", principal=CUSTOMS)
    with pytest.raises(Conflict):
        await service.revoke(session, recognition, reason="again", principal=CUSTOMS)
    assert (recognition.status, recognition.version) == ("revoked", 2)
    assert [t for t, _, _ in await emitted(session)] == [
        "credit.recognition.granted.v1",
        "credit.recognition.revoked.v1",
    ]
