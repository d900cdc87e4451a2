"""Event contracts: the CloudEvents 1.0 envelope and every event's data model, in one place.

Subjects are `<service>.<aggregate>.<verb>`; the CloudEvents `type` is the subject plus a
version suffix (`registry.membership.admitted.v1`). An AsyncAPI 3 document is generated
from `CONTRACTS` (see `asyncapi()`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from kit.db import utcnow
from kit.ids import uuid7
from kit.measures import LevelEffects
from kit.observability import traceparent_var


class CloudEvent(BaseModel):
    """CloudEvents 1.0 structured-mode envelope, with W3C `traceparent` as an extension."""

    model_config = ConfigDict(extra="allow")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(default_factory=lambda: str(uuid7()))
    source: str
    type: str
    subject: str
    time: datetime = Field(default_factory=utcnow)
    datacontenttype: Literal["application/json"] = "application/json"
    # left out when absent (never sent as null), as the AsyncAPI document declares it
    traceparent: str | None = Field(default=None, exclude_if=lambda value: value is None)
    data: dict[str, Any]

    @property
    def nats_subject(self) -> str:
        """The NATS subject: the type without its version suffix."""
        return self.type.rsplit(".", 1)[0]


# --- registry -------------------------------------------------------------------------


class ZoneRegistered(BaseModel):
    """示范区登记: registry planned a new zone (inspection keeps the codes its zone filters
    accept)."""

    code: str
    level: str
    industry: str
    name_zh: str
    name_en: str


class ZoneTransitioned(BaseModel):
    """示范区阶段变更: a zone moved along its lifecycle."""

    code: str
    from_stage: str
    to_stage: str
    reason: str | None = None
    actor: str


class ZoneOverdue(BaseModel):
    """示范区逾期: a zone is past its planned end and not accepted (announced once per zone)."""

    code: str
    level: str
    stage: str
    phase: int | None = None
    plan_end: date
    days_overdue: int


class AcceptanceApplied(BaseModel):
    """验收申请: the leadership group's office applied for a zone's acceptance."""

    application_id: str
    zone_code: str
    authority: str
    filed_on: date
    dossier_sha256: str
    filed_by: str


class AcceptanceDecided(BaseModel):
    """验收结论: the accepting authority accepted a zone or returned its application."""

    application_id: str
    zone_code: str
    authority: str
    outcome: Literal["accepted", "returned"]
    document_number: str
    decided_on: date
    recorded_by: str
    on_behalf: bool = False


class EnterpriseRegistered(BaseModel):
    """企业登记: an enterprise entered the registry."""

    uscc: str
    name: str
    industry: str | None = None
    hs_codes: list[str] = []
    export_markets: list[str] = []


class EnterpriseUpdated(BaseModel):
    """An enterprise's profile changed; `changed` names the fields."""

    uscc: str
    changed: list[str]
    version: int


class MembershipChanged(BaseModel):
    """准入/退出: a membership was applied for, decided, suspended, removed or put to review."""

    membership_id: str
    zone_code: str
    uscc: str
    status: str
    reason: str | None = None
    actor: str
    effective_at: datetime | None = Field(
        default=None,
        description="When the status took effect, if earlier than the event (a decision "
        "recorded after the fact); absent: the event's `time`",
    )


class SurveyRecorded(BaseModel):
    """摸底调查: a year's survey of an enterprise was recorded or replaced (the yearly figures
    zone KPIs fall back on where no export batches were recorded)."""

    uscc: str
    year: int
    annual_export_usd: int | None = None
    foreign_notifications: int | None = Field(
        default=None,
        description="国外通报 the survey counts for the year (quality.foreign_notifications)",
    )
    returns: int | None = Field(
        default=None, description="退运 the survey counts for the year (quality.returns)"
    )


class CommitmentChanged(BaseModel):
    """质量诚信承诺书: a commitment was signed, countersigned by the zone office, superseded
    by a newer signature, breached or ended (its zone revoked). Credit counts one
    countersigned commitment per enterprise and zone, from the countersigning `agency`; a
    breach's `severity` and `evidence` are the fact's."""

    commitment_id: str
    zone_code: str
    uscc: str
    text_sha256: str
    signed_on: date
    status: Literal["signed", "countersigned", "superseded", "breached", "ended"]
    reason: str | None = None
    version: int = 1
    supersedes: str | None = None  # the commitment id this signature replaced
    agency: str | None = None  # countersigning agency, or the agency recording a breach
    actor: str | None = None
    severity: Literal["general", "serious"] | None = None  # a breach's
    evidence: str | None = None  # a breach's


class BatchRecorded(BaseModel):
    """出口批次登记: a lot (an export batch, a supplier lot …) was recorded."""

    batch_id: str
    uscc: str
    number: str
    kind: Literal["export", "supplier", "intermediate", "shipment"]
    product: str | None = None
    hs_code: str | None = None
    brand: str | None = None
    model: str | None = None
    barcode: str | None = None
    destination: str | None = None
    declaration_no: str | None = None
    ship_date: date | None = None
    export_value_usd: int | None = None


class TracedStep(BaseModel):
    """A production step on the trace of an alert's batch."""

    lot: str
    kind: str
    biz_step: str
    disposition: str | None = None
    event_time: datetime
    location: str | None = None


class AffectedEnterprise(BaseModel):
    """Another enterprise that received the same supplier lot."""

    uscc: str
    supplier_lot: str
    supplier_key: str


class BatchTraced(BaseModel):
    """追溯结果: registry traced an alert's batch upstream to its steps and supplier lots."""

    alert_id: str
    batch_id: str
    batch_number: str | None = None
    uscc: str
    lots: int
    truncated: bool
    supplier_lots: list[str]
    steps: list[TracedStep]
    failing_steps: list[TracedStep]
    affected: list[AffectedEnterprise]


# --- credit ---------------------------------------------------------------------------


class CreditLevelChanged(BaseModel):
    """信用等级变更: an enterprise's credit level changed (registry opens a removal review on D)."""

    uscc: str
    from_level: str | None = None
    to_level: Literal["A", "B", "C", "D"]
    score: float | None = None
    model_version: int | None = None
    cause: str | None = None
    fact_id: str | None = None
    sequence: int | None = Field(
        default=None,
        description="The enterprise's score version at this change; it only grows, so a "
        "consumer keeps the level with the highest sequence (not the latest `time`)",
    )


class CreditFactRecorded(BaseModel):
    """信用信息归集: a credit fact about an enterprise was recorded."""

    fact_id: str
    uscc: str
    kind: str
    severity: str
    source_agency: str
    occurred_at: datetime
    checklist_items: list[str] | None = None  # for results: the items covered (none = all)


class RecognitionChanged(BaseModel):
    """监管互认: an agency recognised (or stopped recognising) another agency's results."""

    recognition_id: str
    recognising_agency: str
    recognised_agency: str
    result_kind: str
    industries: list[str] = []
    checklist_items: list[str] = []
    valid_from: date
    valid_to: date
    status: Literal["active", "revoked"]


# A recognised result kind (credit's ledger) and the credit fact kinds that carry it.
RESULT_FACT_KINDS: dict[str, tuple[str, ...]] = {
    "inspection_result": ("spot_check_pass",),
    "certification": ("certification",),
    "lab_report": ("lab_test_pass",),
}


class RepairDecided(BaseModel):
    """信用修复: a repair request for an adverse fact was approved or rejected."""

    repair_id: str
    fact_id: str
    uscc: str
    status: Literal["approved", "rejected"]
    effective_from: datetime | None = None


class ModelPublished(BaseModel):
    """A new scoring model version is in force; a rescoring job follows. `measures` are the
    joint rewards and punishments (联合奖惩) it puts in force, resolved per level."""

    version: int
    job_id: str | None = None  # none for version 1, installed at first start
    measures: dict[str, LevelEffects] = {}


# --- inspection (consumed by credit as facts) ------------------------------------------


class TaskCompleted(BaseModel):
    """抽查任务完成: a spot-check task's result became final (every assigned inspector confirmed)."""

    task_id: str
    campaign_id: str | None = None
    uscc: str
    agency: str
    outcome: Literal["pass", "fail"]
    severity: Literal["minor", "general", "serious"] = "general"
    checklist_items: list[str] = []
    industry: str | None = None
    completed_at: datetime
    evidence_ref: str | None = None


class DrawPublished(BaseModel):
    """双随机抽查结果公开: a campaign's draw was made and published."""

    campaign_id: str
    title: str
    agencies: list[str]
    tasks: int
    seed_sha256: str
    snapshot_sha256: str


class CapaChanged(BaseModel):
    """纠正措施: a corrective action was opened, fell overdue, or was closed."""

    capa_id: str
    task_id: str
    uscc: str
    status: Literal["open", "responded", "closed", "overdue"]
    due_at: datetime


class AlertRaised(BaseModel):
    """风险预警: a risk alert was raised about an enterprise (a foreign notification, a return …)."""

    alert_id: str
    uscc: str | None = None
    signal_kind: Literal["foreign_notification", "return", "recall", "complaint", "lab_test"]
    severity: Literal["minor", "general", "serious"] = "general"
    agency: str
    batch_id: str | None = None
    batch_number: str | None = None
    reference: str | None = None
    summary: str | None = None
    task_id: str | None = None
    zones: list[str] = []
    raised_at: datetime


# --- inspection: public testing platform and quality analysis (issue #10) ---------------


class LabChanged(BaseModel):
    """公共检测服务平台: a lab and its accreditation (CNAS/CMA, scope, validity) were
    registered or changed."""

    lab_id: str
    name: str
    cnas_number: str | None = None
    cma_number: str | None = None
    agency: str | None = None
    valid_from: date
    valid_to: date
    scope_entries: int
    active: bool


class LabTestChanged(BaseModel):
    """委托检测: an enterprise's test request was made, accepted, rejected or completed; a
    completed one carries the outcome and its severity (a lab_test_pass/fail fact to be)."""

    request_id: str
    uscc: str
    lab_id: str
    lab_name: str
    agency: str | None = None  # the lab's operating agency
    batch_id: str
    batch_number: str
    hs_code: str
    standard: str
    status: Literal["requested", "accepted", "rejected", "tested"]
    outcome: Literal["pass", "fail"] | None = None
    severity: Literal["minor", "general", "serious"] | None = None  # a result's, for credit
    report_number: str | None = None
    tested_at: datetime | None = None
    signal_id: str | None = None  # a failed result's risk signal
    summary: str | None = None


class AnalysisPublished(BaseModel):
    """质量分析评价和权威发布: the office approved and published a quarter's figures for an
    industry."""

    release_id: str
    industry: str
    quarter: str
    figures: dict[str, Any]
    published_by: str
    published_at: datetime
    summary: str | None = None


# --- notify -----------------------------------------------------------------------------


class DeliveryFailed(BaseModel):
    """推送失败: a webhook delivery was retried for its whole window and failed."""

    delivery_id: str
    subscription_id: str
    event_id: str
    event_type: str
    attempts: int
    last_error: str | None = None


class BulletinPublished(BaseModel):
    """公共信息发布: a WTO/TBT notification or technical-regulation notice went out."""

    bulletin_id: str
    kind: Literal["wto_tbt", "regulation"]
    symbol: str | None = None
    title: str
    products: list[str] = []
    markets: list[str] = []
    recipients: int


# --- zone programme management (#10, registry; plus inspection's alert closure) --------


class AlertClosed(BaseModel):
    """风险预警关闭: an alert was closed with a conclusion (registry stops counting it open)."""

    alert_id: str
    uscc: str | None = None
    severity: Literal["minor", "general", "serious"] = "general"
    agency: str
    conclusion: str | None = None
    closed_at: datetime


class GroupMemberRole(BaseModel):
    """One member agency of a leadership group and its role."""

    agency_code: str
    role: Literal["leader", "office", "member"]


class LeadershipGroupChanged(BaseModel):
    """领导小组: a county's leadership group was set up or its members changed (the roster)."""

    group_code: str
    county: str
    members: list[GroupMemberRole]


class MeetingHeld(BaseModel):
    """联席会议: a joint meeting was held and recorded, with its decisions' action items."""

    meeting_id: str
    group_code: str
    title: str
    held_on: date
    attendees: list[str]
    decisions: int
    action_item_ids: list[str]


class AgencyRegistered(BaseModel):
    """部门: a member agency joined the platform; its code is what tokens, inspectors and
    labs name (inspection keeps a copy to check them)."""

    code: str
    name_zh: str
    name_en: str
    group_role: str
    kind: str = "member"  # or external_authority (an accepting authority, 验收单位)


class ActionItemChanged(BaseModel):
    """督办事项: an action item was assigned to an owner agency, fell overdue (still open the day
    after its deadline, China time; announced once), or was done (on time or late)."""

    item_id: str
    meeting_id: str
    owner_agency: str
    title: str
    deadline: date
    status: Literal["open", "done"]
    overdue: bool = False
    done_on: date | None = None
    on_time: bool | None = None


class ResponsibilityAssigned(BaseModel):
    """质量安全责任体系: who answers for what in a zone (overall, supervisory, primary)."""

    responsibility_id: str
    zone_code: str | None = None
    tier: Literal["overall", "supervisory", "primary"]
    topic: str
    agency_code: str | None = None
    uscc: str | None = None


class StandardPublished(BaseModel):
    """产业联盟质量标准: an alliance standard was published for a zone or an industry."""

    standard_id: str
    code: str
    version: str
    title: str
    zone_code: str | None = None
    industry: str | None = None
    effective_on: date
    text_sha256: str


class StandardAdopted(BaseModel):
    """An enterprise adopted an alliance standard, or declared a product 同线同质同标 to it."""

    standard_id: str
    code: str
    version: str
    uscc: str
    on: date
    product: str | None = None  # declarations only
    hs_code: str | None = None


class TrainingHeld(BaseModel):
    """法律法规、商业道德、质量诚信培训: a training session was recorded."""

    training_id: str
    topic: str
    title: str
    held_on: date
    organiser_agency: str
    zone_code: str | None = None


class TrainingAttended(BaseModel):
    """An enterprise attended a training (credit records it as a `training` fact)."""

    training_id: str
    uscc: str
    topic: str
    title: str
    held_on: date
    organiser_agency: str


class AwardRoundOpened(BaseModel):
    """推优评优: an award round opened, with the credit levels it allows and its scope."""

    round_id: str
    title: str
    year: int
    allowed_levels: list[str]
    zone_code: str | None = None
    industry: str | None = None


class AwardChanged(BaseModel):
    """推优评优: an enterprise was nominated in an award round, or granted the award."""

    round_id: str
    title: str
    year: int
    uscc: str
    status: Literal["nominated", "granted"]
    zone_code: str | None = None


CONTRACTS: dict[str, type[BaseModel]] = {
    "registry.zone.registered.v1": ZoneRegistered,
    "registry.zone.transitioned.v1": ZoneTransitioned,
    "registry.zone.overdue.v1": ZoneOverdue,
    "registry.acceptance.applied.v1": AcceptanceApplied,
    "registry.acceptance.decided.v1": AcceptanceDecided,
    "registry.commitment.ended.v1": CommitmentChanged,
    "registry.enterprise.registered.v1": EnterpriseRegistered,
    "registry.enterprise.updated.v1": EnterpriseUpdated,
    "registry.membership.applied.v1": MembershipChanged,
    "registry.membership.assessing.v1": MembershipChanged,
    "registry.membership.admitted.v1": MembershipChanged,
    "registry.membership.rejected.v1": MembershipChanged,
    "registry.membership.suspended.v1": MembershipChanged,
    "registry.membership.reinstated.v1": MembershipChanged,
    "registry.membership.removed.v1": MembershipChanged,
    "registry.membership.review_requested.v1": MembershipChanged,
    "registry.commitment.signed.v1": CommitmentChanged,
    "registry.commitment.breached.v1": CommitmentChanged,
    "registry.commitment.countersigned.v1": CommitmentChanged,
    "registry.commitment.superseded.v1": CommitmentChanged,
    "registry.batch.recorded.v1": BatchRecorded,
    "registry.batch.traced.v1": BatchTraced,
    "credit.level.changed.v1": CreditLevelChanged,
    "credit.fact.recorded.v1": CreditFactRecorded,
    "credit.recognition.granted.v1": RecognitionChanged,
    "credit.recognition.revoked.v1": RecognitionChanged,
    "credit.repair.decided.v1": RepairDecided,
    "credit.model.published.v1": ModelPublished,
    "inspection.draw.published.v1": DrawPublished,
    "inspection.task.completed.v1": TaskCompleted,
    "inspection.capa.opened.v1": CapaChanged,
    "inspection.capa.overdue.v1": CapaChanged,
    "inspection.capa.closed.v1": CapaChanged,
    "inspection.alert.raised.v1": AlertRaised,
    # public testing platform and quality analysis (issue #10)
    "inspection.lab.registered.v1": LabChanged,
    "inspection.lab.updated.v1": LabChanged,
    "inspection.test.requested.v1": LabTestChanged,
    "inspection.test.accepted.v1": LabTestChanged,
    "inspection.test.rejected.v1": LabTestChanged,
    "inspection.test.completed.v1": LabTestChanged,
    "inspection.analysis.published.v1": AnalysisPublished,
    "notify.delivery.failed.v1": DeliveryFailed,
    "notify.bulletin.published.v1": BulletinPublished,
    # zone programme management (#10): registry's programme records, inspection's closure
    "inspection.alert.closed.v1": AlertClosed,
    "registry.agency.registered.v1": AgencyRegistered,
    "registry.leadership_group.changed.v1": LeadershipGroupChanged,
    "registry.meeting.held.v1": MeetingHeld,
    "registry.action_item.assigned.v1": ActionItemChanged,
    "registry.action_item.overdue.v1": ActionItemChanged,
    "registry.action_item.done.v1": ActionItemChanged,
    "registry.responsibility.assigned.v1": ResponsibilityAssigned,
    "registry.standard.published.v1": StandardPublished,
    "registry.standard.adopted.v1": StandardAdopted,
    "registry.standard.declared.v1": StandardAdopted,
    "registry.training.held.v1": TrainingHeld,
    "registry.training.attended.v1": TrainingAttended,
    "registry.award.opened.v1": AwardRoundOpened,
    "registry.award.nominated.v1": AwardChanged,
    "registry.award.granted.v1": AwardChanged,
    # figures as of their period (#17): surveys reach inspection's zone KPIs
    "registry.survey.recorded.v1": SurveyRecorded,
}


URGENT: frozenset[str] = frozenset(
    {
        "inspection.alert.raised.v1",
        "inspection.alert.closed.v1",
        "registry.batch.traced.v1",
        "registry.commitment.signed.v1",
        "registry.commitment.countersigned.v1",
        "registry.commitment.breached.v1",
        "registry.commitment.superseded.v1",
        "registry.commitment.ended.v1",
    }
)
"""Events a person must act on soon (risk alerts, an alert batch's trace, commitments). A
consumer that handles these and other types takes them on a durable of their own
(`kit.inbox.in_lanes`), so they never wait behind bulk traffic: a rescoring job's level
changes, a bulk upload's batches, an import's registrations."""


def make_event(
    *, source: str, type: str, subject: str, data: BaseModel, traceparent: str | None = None
) -> CloudEvent:
    """Build an envelope for a registered contract; unknown types are a programming error."""
    model = CONTRACTS[type]
    if not isinstance(data, model):
        raise TypeError(f"{type} carries {model.__name__}, not {data.__class__.__name__}")
    return CloudEvent(
        source=source,
        type=type,
        subject=subject,
        data=data.model_dump(mode="json"),
        traceparent=traceparent or traceparent_var.get(),
    )


def parse_data(event: CloudEvent) -> BaseModel:
    """Validate an event's data against its contract."""
    return CONTRACTS[event.type].model_validate(event.data)


TRACEPARENT = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"  # W3C Trace Context


def _schemas() -> tuple[dict[type[BaseModel], dict[str, Any]], dict[str, Any]]:
    """Every contract's data schema as a `$ref` into `components.schemas`, and those schemas:
    nested models appear once, under names unique across the whole document."""
    models = list(dict.fromkeys(CONTRACTS.values()))
    refs, top = models_json_schema(
        [(m, "serialization") for m in models], ref_template="#/components/schemas/{model}"
    )
    return {m: refs[(m, "serialization")] for m in models}, top.get("$defs", {})


def asyncapi() -> dict[str, Any]:
    """An AsyncAPI 3.0 document generated from the contracts: each event type a channel (its
    NATS subject), a message whose payload is the CloudEvents envelope, and an operation."""
    refs, schemas = _schemas()
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for event_type, model in CONTRACTS.items():
        subject = event_type.rsplit(".", 1)[0]
        key = event_type.replace(".", "_")
        summary = (model.__doc__ or event_type).strip().splitlines()[0]
        messages[key] = {
            "name": event_type,
            "title": event_type,
            "summary": summary,
            "contentType": "application/cloudevents+json",
            "payload": {
                "type": "object",
                "required": ["specversion", "id", "source", "type", "subject", "time", "data"],
                "properties": {
                    "specversion": {"const": "1.0"},
                    "id": {"type": "string", "description": "UUIDv7; also the Nats-Msg-Id"},
                    "source": {"type": "string", "description": "The publishing service"},
                    "type": {"const": event_type, "description": "Names the data's schema"},
                    "subject": {"type": "string", "description": "The entity's key"},
                    "time": {"type": "string", "format": "date-time"},
                    "datacontenttype": {"const": "application/json"},
                    "traceparent": {
                        "type": "string",
                        "pattern": TRACEPARENT,
                        "description": "W3C trace context of the change; absent when none",
                    },
                    "data": refs[model],
                },
            },
        }
        channels[key] = {
            "address": subject,
            "title": subject,
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
        }
        operations[f"publish_{key}"] = {
            "action": "send",
            "summary": f"{event_type.split('.', 1)[0]} publishes {event_type}",
            "channel": {"$ref": f"#/channels/{key}"},
            "messages": [{"$ref": f"#/channels/{key}/messages/{key}"}],
        }
    return {
        "asyncapi": "3.1.0",
        "info": {
            "title": "Zone platform events",
            "version": "1.0.0",
            "description": (
                "出口产品质量安全示范区平台的事件: every agency's change, as a CloudEvents 1.0 "
                "envelope on NATS JetStream (subject = the type without its version)."
            ),
        },
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }
