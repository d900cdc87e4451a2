"""Programme targets and schedule endpoint."""

from fastapi import APIRouter

from kit.db import SessionDep
from services.registry.programme.shared import Reader
from services.registry.programme.targets import service
from services.registry.programme.targets.schemas import TargetsOut

router = APIRouter(prefix="/v1/programme", tags=["targets"])


@router.get(
    "/targets", summary="Targets and schedule (总体目标, 建设计划)", response_model=TargetsOut
)
async def get_targets(session: SessionDep, _: Reader) -> TargetsOut:
    """The guidance's targets (十三五: 2 national and 6 provincial zones accepted by the end of
    2020) with the zones accepted toward each, the work plan's phases and their windows, zone
    counts by level and stage, and each zone's schedule status (`overdue`: past `plan_end`
    and neither accepted nor revoked; announced once as `registry.zone.overdue`)."""
    return await service.targets(session)
