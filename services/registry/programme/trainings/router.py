"""Training endpoints: record a training, its attendance, and list them."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from kit.db import SessionDep
from kit.pagination import Page
from services.registry.programme.shared import (
    AgencyQuery,
    OfficerWriter,
    Paging,
    Reader,
    UsccQuery,
    ZoneQuery,
    not_found,
    own_uscc,
)
from services.registry.programme.trainings import service
from services.registry.programme.trainings.schemas import (
    AttendanceIn,
    AttendanceOut,
    AttendanceResult,
    TrainingIn,
    TrainingOut,
    TrainingTopic,
)

router = APIRouter(prefix="/v1/trainings", tags=["trainings"])


async def _training_out(session: AsyncSession, rows: list[Any]) -> list[TrainingOut]:
    counts = await service.attendance_counts(session, [t.id for t in rows])
    out = []
    for t in rows:
        item = TrainingOut.model_validate(t)
        item.attendance = counts.get(t.id, 0)
        out.append(item)
    return out


@router.post(
    "",
    status_code=201,
    summary="Record a training (法律法规、商业道德、质量诚信培训)",
    response_model=TrainingOut,
    responses={
        403: {"description": "Naming another organiser needs admin"},
        404: {"description": "Agency, zone or an attending enterprise not found"},
    },
)
async def hold_training(
    training_in: TrainingIn, session: SessionDep, principal: OfficerWriter, response: Response
) -> TrainingOut:
    """Organised by the token's agency. Emits `registry.training.held`, and
    `registry.training.attended` per attending enterprise, which credit records as a
    `training` fact."""
    training = await service.hold_training(session, training_in=training_in, principal=principal)
    response.headers["Location"] = f"/v1/trainings/{training.id}"
    return (await _training_out(session, [training]))[0]


@router.get("", summary="Trainings", response_model=Page[TrainingOut])
async def list_trainings(
    session: SessionDep,
    principal: Reader,
    page: Paging,
    topic: Annotated[TrainingTopic | None, Query(description="Topic")] = None,
    organiser: AgencyQuery = None,
    zone: ZoneQuery = None,
    uscc: Annotated[str | None, Query(max_length=18, description="Attended by")] = None,
) -> Page[TrainingOut]:
    """Newest first; an enterprise token sees the trainings it attended."""
    rows, next_cursor = await service.list_trainings(
        session,
        page=page,
        topic=topic.value if topic else None,
        organiser=organiser,
        zone_code=zone,
        uscc=own_uscc(principal, uscc),
    )
    return Page(items=await _training_out(session, rows), next_cursor=next_cursor)


@router.get(
    "/{training_id}",
    summary="A training",
    response_model=TrainingOut,
    responses=not_found("Training"),
)
async def get_training(training_id: uuid.UUID, session: SessionDep, _: Reader) -> TrainingOut:
    """With its attendance count."""
    return (await _training_out(session, [await service.get_training(session, training_id)]))[0]


@router.post(
    "/{training_id}/attendance",
    summary="Record attending enterprises",
    response_model=AttendanceResult,
    responses={
        403: {"description": "Not the organiser"},
        404: {"description": "Training or an enterprise not found"},
    },
)
async def attend(
    training_id: uuid.UUID,
    attendance_in: AttendanceIn,
    session: SessionDep,
    principal: OfficerWriter,
) -> AttendanceResult:
    """By the organiser (or an admin). Each new attendance emits
    `registry.training.attended` (credit: a `training` fact); a repeat is a duplicate."""
    training = await service.get_training(session, training_id)
    recorded, duplicates = await service.attend(
        session, training, usccs=attendance_in.usccs, principal=principal
    )
    return AttendanceResult(recorded=recorded, duplicates=duplicates)


@router.get(
    "/{training_id}/attendance",
    summary="A training's attendance",
    response_model=Page[AttendanceOut],
    responses=not_found("Training"),
)
async def list_attendance(
    training_id: uuid.UUID,
    session: SessionDep,
    principal: Reader,
    page: Paging,
    uscc: UsccQuery = None,
) -> Page[AttendanceOut]:
    """By USCC; an enterprise token sees only its own."""
    training = await service.get_training(session, training_id)
    rows, next_cursor = await service.list_attendance(
        session, training, page=page, uscc=own_uscc(principal, uscc)
    )
    return Page(items=[AttendanceOut.model_validate(a) for a in rows], next_cursor=next_cursor)
