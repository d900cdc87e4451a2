"""Trainings (培训): who may record one and its attendance, and each new attendance becoming
one `registry.training.attended` event (a credit fact downstream), a repeat none."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.problems import NotFound, ProblemError
from services.registry.agencies import service as agencies
from services.registry.agencies.schemas import AgencyIn
from services.registry.enterprises import service as enterprises
from services.registry.enterprises.schemas import EnterpriseIn
from services.registry.programme.shared import today
from services.registry.programme.trainings import service
from services.registry.programme.trainings.models import Training, TrainingAttendance
from services.registry.programme.trainings.schemas import TrainingIn
from tests.helpers import enterprise_body, new_uscc
from tests.integration.conftest import emitted

SAMR = Principal(
    subject="samr-system", scopes=frozenset({"registry:write"}), agency="market_supervision"
)
CIQ = Principal(subject="ciq-system", scopes=frozenset({"registry:write"}), agency="ciq")
ADMIN = Principal(subject="office-admin", scopes=frozenset({"admin"}))
ATTENDED = "registry.training.attended.v1"


async def _setting(session: AsyncSession, enterprises_wanted: int) -> list[str]:
    for code in ("market_supervision", "ciq"):
        await agencies.create(session, agency_in=AgencyIn(code=code, name_zh=code, name_en=code))
    usccs = [new_uscc() for _ in range(enterprises_wanted)]
    for uscc in usccs:
        await enterprises.register(
            session, enterprise_in=EnterpriseIn.model_validate(enterprise_body(uscc))
        )
    return usccs


def _training(**fields: Any) -> TrainingIn:
    body = {
        "title": "出口产品质量诚信与法律法规培训",
        "topic": "quality_integrity",
        "held_on": today() - timedelta(days=2),
        "hours": 3,
    }
    return TrainingIn.model_validate({**body, **fields})


async def _attendance(session: AsyncSession, training: Training) -> list[str]:
    query = select(TrainingAttendance.uscc).where(TrainingAttendance.training_id == training.id)
    return sorted((await session.scalars(query)).all())


async def test_a_training_and_its_attendees_are_recorded_and_announced(
    session: AsyncSession,
) -> None:
    first, second = await _setting(session, 2)
    training = await service.hold_training(
        session, training_in=_training(attendees=[first, second, first]), principal=SAMR
    )
    assert training.organiser_agency == "market_supervision"
    assert await _attendance(session, training) == sorted([first, second])
    events = [(t, s, d) for t, s, d in await emitted(session) if t.startswith("registry.training")]
    assert [(t, s) for t, s, _ in events] == [
        ("registry.training.held.v1", "market_supervision"),
        (ATTENDED, first),
        (ATTENDED, second),
    ]
    attended = events[1][2]
    assert attended["training_id"] == str(training.id)
    assert attended["topic"] == "quality_integrity"
    assert attended["organiser_agency"] == "market_supervision"
    assert attended["held_on"] == str(training.held_on)


async def test_attendance_recorded_again_is_a_duplicate_not_a_second_fact(
    session: AsyncSession,
) -> None:
    first, second = await _setting(session, 2)
    training = await service.hold_training(
        session, training_in=_training(attendees=[first]), principal=SAMR
    )
    recorded, duplicates = await service.attend(
        session, training, usccs=[first, second], principal=SAMR
    )
    assert (recorded, duplicates) == ([second], [first])
    assert await service.attend(session, training, usccs=[second], principal=ADMIN) == (
        [],
        [second],
    )
    assert [s for t, s, _ in await emitted(session) if t == ATTENDED] == [first, second]
    assert (await service.attendance_counts(session, [training.id])) == {training.id: 2}


async def test_only_the_organiser_records_and_unknown_enterprises_are_refused(
    session: AsyncSession,
) -> None:
    (uscc,) = await _setting(session, 1)
    with pytest.raises(ProblemError) as for_another:
        await service.hold_training(
            session, training_in=_training(organiser_agency="ciq"), principal=SAMR
        )
    assert for_another.value.slug == "forbidden"
    with pytest.raises(ProblemError) as nobody:  # an admin token names no agency
        await service.hold_training(session, training_in=_training(), principal=ADMIN)
    assert nobody.value.slug == "validation"
    assert (await session.scalars(select(Training))).all() == []

    training = await service.hold_training(
        session, training_in=_training(organiser_agency="market_supervision"), principal=ADMIN
    )
    with pytest.raises(ProblemError) as not_organiser:
        await service.attend(session, training, usccs=[uscc], principal=CIQ)
    assert not_organiser.value.slug == "forbidden"
    unknown = new_uscc()
    with pytest.raises(NotFound) as missing:
        await service.attend(session, training, usccs=[uscc, unknown], principal=SAMR)
    assert missing.value.extensions == {"resource": "enterprise", "key": unknown}
    assert await _attendance(session, training) == []
    assert [t for t, _, _ in await emitted(session) if t == ATTENDED] == []
