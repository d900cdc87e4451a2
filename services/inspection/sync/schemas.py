"""Officer sync API shapes."""

import uuid

from pydantic import BaseModel, Field

from kit.validation import Input
from services.inspection.checklists.schemas import ChecklistOut
from services.inspection.directory.schemas import DirectoryOut
from services.inspection.tasks.schemas import ResultIn, TaskOut


class SyncPull(BaseModel):
    """What changed since the cursor, for the calling inspector."""

    tasks: list[TaskOut] = Field(description="Created or updated tasks assigned to you")
    deleted: list[uuid.UUID] = Field(description="Tasks withdrawn (campaign cancelled)")
    checklists: list[ChecklistOut] = Field(description="Checklists of those tasks")
    enterprises: list[DirectoryOut] = Field(description="Enterprises of those tasks")
    cursor: str = Field(description="Send it back next time")
    has_more: bool


class OfflineResult(Input):
    """A result made offline, against the task version the device had."""

    task_id: uuid.UUID
    base_version: int = Field(ge=1)
    result: ResultIn


class SyncPush(Input):
    """Results made offline."""

    results: list[OfflineResult] = Field(min_length=1, max_length=200)


class PushOutcome(BaseModel):
    """Per result: applied, or a conflict with the server's task for the officer to resolve."""

    task_id: uuid.UUID
    status: str = Field(description="applied, conflict, or rejected")
    detail: str | None = None
    server_task: TaskOut | None = None
