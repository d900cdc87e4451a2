"""Record trainings and their attendance (each new attendance a credit fact downstream)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import exists, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.db import get_or_404, utcnow
from kit.events import TrainingAttended, TrainingHeld, make_event
from kit.outbox import emit
from kit.pagination import PageParams, keyset_page
from kit.problems import NotFound, ProblemError
from services.registry.enterprises.models import Enterprise
from services.registry.events import SOURCE, publish
from services.registry.programme.shared import get_agency
from services.registry.programme.trainings.models import Training, TrainingAttendance
from services.registry.programme.trainings.schemas import TrainingIn
from services.registry.zones import service as zones


async def hold_training(
    session: AsyncSession, *, training_in: TrainingIn, principal: Principal
) -> Training:
    """Record a training organised by the token's agency (an admin may name another) and
    the enterprises that attended it."""
    organiser = training_in.organiser_agency or principal.agency
    if organiser is None:
        raise ProblemError(
            "validation",
            "organiser_agency: required when the token names no agency",
            detail_zh="organiser_agency：令牌未指明部门时为必填项",
            errors=[
                {
                    "field": "organiser_agency",
                    "reason": "required for this token",
                    "reason_zh": "此令牌须填写主办部门",
                }
            ],
        )
    if organiser != principal.agency and not principal.is_admin:
        raise ProblemError(
            "forbidden",
            "an agency records the trainings it organised",
            detail_zh="部门只能记录其主办的培训",
        )
    await get_agency(session, organiser)
    if training_in.zone_code:
        await zones.get(session, training_in.zone_code)
    training = Training(
        title=training_in.title,
        topic=training_in.topic.value,
        held_on=training_in.held_on,
        organiser_agency=organiser,
        zone_code=training_in.zone_code,
        location=training_in.location,
        hours=training_in.hours,
        recorded_by=principal.subject,
    )
    session.add(training)
    await session.flush()
    await publish(
        session,
        "registry.training.held.v1",
        organiser,
        TrainingHeld(
            training_id=str(training.id),
            topic=training.topic,
            title=training.title,
            held_on=training.held_on,
            organiser_agency=organiser,
            zone_code=training.zone_code,
        ),
    )
    if training_in.attendees:
        await attend(session, training, usccs=training_in.attendees, principal=principal)
    return training


async def get_training(session: AsyncSession, training_id: uuid.UUID) -> Training:
    """A training, or 404."""
    return await get_or_404(session, Training, training_id, "training")


async def attendance_counts(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """Attending enterprises per training."""
    if not ids:
        return {}
    rows = await session.execute(
        select(TrainingAttendance.training_id, func.count())
        .where(TrainingAttendance.training_id.in_(ids))
        .group_by(TrainingAttendance.training_id)
    )
    return {tid: n for tid, n in rows}


async def attend(
    session: AsyncSession, training: Training, *, usccs: Sequence[str], principal: Principal
) -> tuple[list[str], list[str]]:
    """Record attendance (by the organiser or an admin); each new one emits
    `registry.training.attended`, which credit records as a `training` fact. Unknown
    enterprises are a 404 naming them; already recorded ones are duplicates."""
    if not principal.is_admin and principal.agency != training.organiser_agency:
        raise ProblemError(
            "forbidden",
            f"attendance is recorded by the organiser ({training.organiser_agency})",
            detail_zh=f"出勤由主办部门（{training.organiser_agency}）记录",
        )
    wanted = list(dict.fromkeys(usccs))
    known = set(
        (await session.scalars(select(Enterprise.uscc).where(Enterprise.uscc.in_(wanted)))).all()
    )
    missing = [u for u in wanted if u not in known]
    if missing:
        raise NotFound("enterprise", ", ".join(missing[:20]))
    inserted = set(
        (
            await session.scalars(
                insert(TrainingAttendance)
                .values(
                    [
                        {
                            "training_id": training.id,
                            "uscc": u,
                            "recorded_by": principal.subject,
                            "created_at": utcnow(),
                        }
                        for u in wanted
                    ]
                )
                .on_conflict_do_nothing()
                .returning(TrainingAttendance.uscc)
            )
        ).all()
    )
    recorded = [u for u in wanted if u in inserted]
    await emit(  # one statement for a whole class of attendees
        session,
        *(
            make_event(
                source=SOURCE,
                type="registry.training.attended.v1",
                subject=u,
                data=TrainingAttended(
                    training_id=str(training.id),
                    uscc=u,
                    topic=training.topic,
                    title=training.title,
                    held_on=training.held_on,
                    organiser_agency=training.organiser_agency,
                ),
            )
            for u in recorded
        ),
    )
    return recorded, [u for u in wanted if u not in inserted]


async def list_trainings(
    session: AsyncSession,
    *,
    page: PageParams,
    topic: str | None,
    organiser: str | None,
    zone_code: str | None,
    uscc: str | None,
) -> tuple[list[Training], str | None]:
    """Trainings, newest first; with `uscc`, those the enterprise attended."""
    query = select(Training)
    if topic:
        query = query.where(Training.topic == topic)
    if organiser:
        query = query.where(Training.organiser_agency == organiser)
    if zone_code:
        query = query.where(Training.zone_code == zone_code)
    if uscc:
        query = query.where(
            exists().where(
                TrainingAttendance.training_id == Training.id, TrainingAttendance.uscc == uscc
            )
        )
    return await keyset_page(
        session, query, keys=[Training.held_on, Training.id], page=page, descending=True
    )


async def list_attendance(
    session: AsyncSession, training: Training, *, page: PageParams, uscc: str | None
) -> tuple[list[TrainingAttendance], str | None]:
    """A training's attendance, by USCC."""
    query = select(TrainingAttendance).where(TrainingAttendance.training_id == training.id)
    if uscc:
        query = query.where(TrainingAttendance.uscc == uscc)
    return await keyset_page(session, query, keys=[TrainingAttendance.uscc], page=page)
