"""Acceptance API shapes: the application, the decision, a zone's acceptance record."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from kit.validation import Input
from services.registry.programme.shared import NonBlank


class AcceptanceApplicationIn(Input):
    """验收申请: the leadership group's office applies for a zone in `assessing`."""

    self_assessment: NonBlank = Field(
        min_length=1, max_length=20000, description="自查总结: the self-assessment summary"
    )
    dossier_sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 (hex) of the acceptance dossier submitted (验收申报材料)",
    )
    filed_on: date | None = Field(default=None, description="Default: today (China time)")


class AcceptanceApplicationOut(BaseModel):
    """An application and its status (`filed` until decided)."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID
    zone_code: str
    authority: str
    filed_on: date
    self_assessment: str
    dossier_sha256: str
    status: Literal["filed", "accepted", "returned"]
    filed_by: str
    filed_agency: str | None
    created_at: datetime


class AcceptanceDecisionIn(Input):
    """验收结论: the accepting authority's decision on the zone's filed application."""

    outcome: Literal["accepted", "returned"]
    document_number: NonBlank = Field(
        min_length=1, max_length=100, description="文号, e.g. 甬检验〔2018〕12号"
    )
    decided_on: date = Field(description="The decision's date: not before filing, not future")
    inspection_team: list[NonBlank] = Field(
        min_length=1, max_length=50, description="考核验收组: the inspectors' names"
    )
    findings: NonBlank = Field(min_length=1, max_length=20000, description="考核意见")


class AcceptanceDecisionOut(BaseModel):
    """A recorded decision; `on_behalf` when an admin recorded it for the authority."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID
    application_id: UUID
    zone_code: str
    authority: str
    outcome: Literal["accepted", "returned"]
    document_number: str
    decided_on: date
    inspection_team: list[str]
    findings: str
    recorded_by: str
    recorded_agency: str | None
    on_behalf: bool
    recorded_at: datetime


class AcceptanceOut(BaseModel):
    """A zone's acceptance record: its authority, applications and decisions, oldest first."""

    zone_code: str
    stage: str
    authority: str
    applications: list[AcceptanceApplicationOut]
    decisions: list[AcceptanceDecisionOut]
