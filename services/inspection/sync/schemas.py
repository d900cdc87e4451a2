"""Officer sync API shapes."""

import uuid
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from kit.problem_text import BilingualError
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


class OfflineConfirmation(Input):
    """The pushing inspector's own confirmation of a task's recorded result, made offline
    against the task version the device had (so it confirms the result the officer saw)."""

    task_id: uuid.UUID
    base_version: int = Field(ge=1)


class SyncPush(Input):
    """Results and confirmations made offline; results are applied first."""

    results: list[OfflineResult] = Field(default=[], max_length=200)
    confirmations: list[OfflineConfirmation] = Field(default=[], max_length=200)

    @model_validator(mode="after")
    def _something(self) -> "SyncPush":
        if not self.results and not self.confirmations:
            raise BilingualError(
                "push at least one result or confirmation", "请至少推送一项检查结果或确认"
            )
        return self


class PushOutcome(BaseModel):
    """Per operation: applied, or a conflict with the server's task for the officer to
    resolve, or rejected with the reason."""

    kind: Literal["result", "confirmation"]
    task_id: uuid.UUID
    status: str = Field(description="applied, conflict, or rejected")
    detail: str | None = None
    server_task: TaskOut | None = None
