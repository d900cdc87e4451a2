"""Every table the inspection service owns, for Alembic."""

from kit.db import Base as KitBase
from kit.idempotency import IdempotencyRecord
from kit.inbox import InboxEntry
from kit.outbox import OutboxMessage
from services.inspection.analysis.models import AnalysisRelease
from services.inspection.base import Base
from services.inspection.campaigns.models import Campaign, DrawRecord
from services.inspection.capas.models import Capa
from services.inspection.checklists.models import Checklist
from services.inspection.directory.models import (
    DirectoryEntry,
    LevelHistory,
    MeasuresMirror,
    MembershipPeriod,
    RecognitionMirror,
    ResultMirror,
    SurveyMirror,
)
from services.inspection.evidence.models import EvidenceChunk, EvidenceFile, EvidenceUpload
from services.inspection.feeds.models import FeedImport, FeedImportOutcome
from services.inspection.inspector_imports.models import InspectorImport, InspectorImportOutcome
from services.inspection.inspectors.models import Conflict, Inspector
from services.inspection.labs.models import Lab, TestRequest
from services.inspection.risk.models import Alert, BatchMirror, Signal
from services.inspection.tasks.models import Task

# Alembic compares both: kit's tables (outbox, inbox, idempotency keys) and the service's.
metadata = [KitBase.metadata, Base.metadata]

__all__ = [
    "Alert",
    "AnalysisRelease",
    "BatchMirror",
    "Campaign",
    "Capa",
    "Checklist",
    "Conflict",
    "DirectoryEntry",
    "DrawRecord",
    "EvidenceChunk",
    "EvidenceFile",
    "EvidenceUpload",
    "FeedImport",
    "FeedImportOutcome",
    "IdempotencyRecord",
    "InboxEntry",
    "Inspector",
    "InspectorImport",
    "InspectorImportOutcome",
    "Lab",
    "LevelHistory",
    "MeasuresMirror",
    "MembershipPeriod",
    "OutboxMessage",
    "RecognitionMirror",
    "ResultMirror",
    "Signal",
    "SurveyMirror",
    "Task",
    "TestRequest",
    "metadata",
]
