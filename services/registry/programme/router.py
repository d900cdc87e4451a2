"""Programme endpoints (保障体系): leadership group, joint meetings, action items, target
assessment, responsibilities, alliance standards, trainings and honours."""

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal, ensure_office, ensure_own_enterprise, require
from kit.db import SessionDep
from kit.pagination import Page, PageParams, page_params
from kit.uscc import Uscc
from kit.validation import AGENCY_PATTERN
from services.registry.domain import Industry
from services.registry.programme import service
from services.registry.programme.schemas import (
    ActionItemDone,
    ActionItemOut,
    AdoptionIn,
    AdoptionOut,
    AgencyAssessment,
    AttendanceIn,
    AttendanceOut,
    AttendanceResult,
    AwardRoundIn,
    AwardRoundOut,
    Candidate,
    DeclarationIn,
    DeclarationOut,
    GroupIn,
    GroupMemberIn,
    GroupMemberOut,
    GroupOut,
    MeetingIn,
    MeetingOut,
    MeetingSummary,
    NominationIn,
    NominationOut,
    ResponsibilityIn,
    ResponsibilityOut,
    RouteOut,
    StandardIn,
    StandardOut,
    Tier,
    TrainingIn,
    TrainingOut,
    TrainingTopic,
    ZoneAdoption,
)

Reader = Annotated[Principal, Depends(require("registry:read"))]
Writer = Annotated[Principal, Depends(require("registry:write"))]
Admin = Annotated[Principal, Depends(require("admin"))]
Paging = Annotated[PageParams, Depends(page_params)]


async def officer_reader(principal: Reader) -> Principal:
    """registry:read held by the zone office or an agency (the group's own records)."""
    ensure_office(principal)
    return principal


async def officer_writer(principal: Writer) -> Principal:
    """registry:write held by the zone office or an agency, not an enterprise or inspector."""
    ensure_office(principal)
    return principal


OfficerReader = Annotated[Principal, Depends(officer_reader)]
OfficerWriter = Annotated[Principal, Depends(officer_writer)]
GroupCode = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_-]{1,39}$", description="Group code")]
AgencyPath = Annotated[str, Path(pattern=AGENCY_PATTERN, description="Agency code")]
UsccPath = Annotated[str, Path(min_length=18, max_length=18, description="USCC")]
ZoneQuery = Annotated[
    str | None, Query(pattern=r"^[a-z0-9][a-z0-9_-]{1,59}$", description="Zone code")
]
AgencyQuery = Annotated[str | None, Query(pattern=AGENCY_PATTERN, description="Agency code")]
UsccQuery = Annotated[str | None, Query(max_length=18, description="Enterprise (USCC)")]


def _not_found(what: str) -> dict[int | str, dict[str, Any]]:
    return {404: {"description": f"{what} not found"}}


def _own(principal: Principal, uscc: str | None) -> str | None:
    """An enterprise token sees only its own rows, whatever it asked for."""
    if principal.uscc is not None:
        return principal.uscc
    return uscc.strip().upper() if uscc else None


# --- leadership group ---------------------------------------------------------------

groups = APIRouter(prefix="/v1/leadership-groups", tags=["leadership group"])


@groups.get("", summary="Leadership groups (县领导小组)", response_model=Page[GroupOut])
async def list_groups(session: SessionDep, _: Reader, page: Paging) -> Page[GroupOut]:
    """Each county's zone leadership group with its leader unit, office and members."""
    rows, next_cursor = await service.list_groups(session, page=page)
    return Page(items=await service.group_outs(session, rows), next_cursor=next_cursor)


@groups.post(
    "",
    status_code=201,
    summary="Set up a leadership group",
    response_model=GroupOut,
    responses={404: {"description": "A member agency is unknown"}, 409: {"description": "Exists"}},
)
async def create_group(group_in: GroupIn, session: SessionDep, _: Admin) -> GroupOut:
    """Admin only. One leader unit (牵头单位) and one office (办公室) at most; emits
    `registry.leadership_group.changed` with the roster."""
    group = await service.create_group(session, group_in=group_in)
    return await service.group_out(session, group)


@groups.get(
    "/{code}", summary="A leadership group", response_model=GroupOut, responses=_not_found("Group")
)
async def get_group(code: GroupCode, session: SessionDep, _: Reader) -> GroupOut:
    """The group with its roster, each member's role, representatives and duties."""
    return await service.group_out(session, await service.get_group(session, code))


@groups.put(
    "/{code}/members/{agency_code}",
    summary="Add a member agency or change its role",
    response_model=GroupMemberOut,
    responses={
        404: {"description": "Group or agency not found"},
        409: {"description": "Another agency holds the leader or office role"},
    },
)
async def set_member(
    code: GroupCode,
    agency_code: AgencyPath,
    member_in: GroupMemberIn,
    session: SessionDep,
    _: Admin,
) -> GroupMemberOut:
    """Admin only; emits `registry.leadership_group.changed` with the new roster."""
    group = await service.get_group(session, code)
    member = await service.set_member(session, group, agency_code, member_in=member_in)
    return GroupMemberOut.model_validate(member)


# --- joint meetings -----------------------------------------------------------------

meetings = APIRouter(prefix="/v1/meetings", tags=["joint meetings"])


@meetings.post(
    "",
    status_code=201,
    summary="Record a joint meeting (联席会议) with its decisions and action items",
    response_model=MeetingOut,
    responses={
        403: {"description": "Only the group's office (or an admin) records meetings"},
        404: {"description": "Group, agency or zone not found"},
        409: {"description": "An action item's owner is not a member of the group"},
        422: {"description": "e.g. an action item without owner_agency or due before held_on"},
    },
)
async def hold_meeting(
    meeting_in: MeetingIn, session: SessionDep, principal: OfficerWriter, response: Response
) -> MeetingOut:
    """The group's office records a held meeting: agenda, attending agencies, minutes (kept
    with their SHA-256) and decisions, each with the action items it gives member agencies
    (owner and deadline required; a deadline before the meeting is a 422 naming the field).
    Emits `registry.meeting.held` and `registry.action_item.assigned` per item."""
    meeting = await service.hold_meeting(session, meeting_in=meeting_in, principal=principal)
    response.headers["Location"] = f"/v1/meetings/{meeting.id}"
    return await service.meeting_out(session, meeting)


@meetings.get("", summary="Joint meetings", response_model=Page[MeetingSummary])
async def list_meetings(
    session: SessionDep,
    _: OfficerReader,
    page: Paging,
    group: Annotated[str | None, Query(max_length=40, description="Group code")] = None,
    since: Annotated[date | None, Query(description="Held on or after")] = None,
    until: Annotated[date | None, Query(description="Held on or before")] = None,
) -> Page[MeetingSummary]:
    """Newest first; agencies and the office only."""
    rows, next_cursor = await service.list_meetings(
        session, page=page, group_code=group, since=since, until=until
    )
    return Page(items=[MeetingSummary.model_validate(m) for m in rows], next_cursor=next_cursor)


@meetings.get(
    "/{meeting_id}",
    summary="A joint meeting",
    response_model=MeetingOut,
    responses=_not_found("Meeting"),
)
async def get_meeting(meeting_id: uuid.UUID, session: SessionDep, _: OfficerReader) -> MeetingOut:
    """With minutes, decisions and every action item's state."""
    return await service.meeting_out(session, await service.get_meeting(session, meeting_id))


# --- action items and assessment ------------------------------------------------------

items = APIRouter(prefix="/v1/action-items", tags=["joint meetings"])


@items.get("", summary="Action items (督办事项)", response_model=Page[ActionItemOut])
async def list_items(
    session: SessionDep,
    _: OfficerReader,
    page: Paging,
    owner_agency: AgencyQuery = None,
    status: Annotated[
        str | None, Query(pattern="^(open|done)$", description="open or done")
    ] = None,
    overdue: Annotated[bool | None, Query(description="Open and past the deadline")] = None,
    meeting_id: Annotated[uuid.UUID | None, Query(description="The meeting")] = None,
) -> Page[ActionItemOut]:
    """By deadline; `overdue` is worked out for today in China time."""
    rows, next_cursor = await service.list_items(
        session,
        page=page,
        owner_agency=owner_agency,
        status=status,
        overdue=overdue,
        meeting_id=meeting_id,
    )
    day = service.today()
    return Page(items=[service.item_out(i, on=day) for i in rows], next_cursor=next_cursor)


@items.get(
    "/{item_id}",
    summary="An action item",
    response_model=ActionItemOut,
    responses=_not_found("Action item"),
)
async def get_item(item_id: uuid.UUID, session: SessionDep, _: OfficerReader) -> ActionItemOut:
    """Its state, deadline and evidence."""
    return service.item_out(await service.get_item(session, item_id))


@items.post(
    "/{item_id}/done",
    summary="Report an action item done, with evidence",
    response_model=ActionItemOut,
    responses={
        403: {"description": "Not the owner agency"},
        404: {"description": "Action item not found"},
        409: {"description": "Already done"},
    },
)
async def mark_done(
    item_id: uuid.UUID, done_in: ActionItemDone, session: SessionDep, principal: OfficerWriter
) -> ActionItemOut:
    """open → done, by the owner agency (or an admin); on time when done (China calendar
    day) by the deadline. Emits `registry.action_item.done`."""
    item = await service.get_item(session, item_id, for_update=True)
    return service.item_out(
        await service.mark_done(session, item, done_in=done_in, principal=principal)
    )


assessments = APIRouter(prefix="/v1/assessments", tags=["joint meetings"])


@assessments.get(
    "",
    summary="Target assessment per agency and year (目标管理考核)",
    response_model=Page[AgencyAssessment],
    responses=_not_found("Group"),
)
async def list_assessments(
    session: SessionDep,
    _: OfficerReader,
    page: Paging,
    year: Annotated[int, Query(ge=2000, le=2100, description="Year of the deadlines")],
    agency: AgencyQuery = None,
    group: Annotated[
        str | None, Query(pattern=r"^[a-z][a-z0-9_-]{1,39}$", description="Group code")
    ] = None,
) -> Page[AgencyAssessment]:
    """Per agency (by code), the action items due in `year`: assigned, done on time, done
    late, open, overdue — the figures the county assesses its units by."""
    rows, next_cursor = await service.assessments(
        session, year=year, page=page, agency=agency, group_code=group
    )
    return Page(items=rows, next_cursor=next_cursor)


# --- responsibility system ----------------------------------------------------------

responsibilities = APIRouter(prefix="/v1/responsibilities", tags=["responsibilities"])


@responsibilities.post(
    "",
    status_code=201,
    summary="Record a quality-safety responsibility (质量安全责任体系)",
    response_model=ResponsibilityOut,
    responses={
        200: {"model": ResponsibilityOut, "description": "Replaced an existing one's duty"},
        404: {"description": "Zone, agency or enterprise not found"},
        409: {"description": "A primary enterprise not admitted to the zone (`rule`)"},
    },
)
async def assign_responsibility(
    responsibility_in: ResponsibilityIn, session: SessionDep, principal: Admin, response: Response
) -> ResponsibilityOut:
    """Admin only. `overall` (地方政府负总责) and `supervisory` (监管部门各负其责, per topic)
    name an agency; `primary` (企业第一责任人) an admitted member of the zone (409 with
    `rule` `zone_member` otherwise). A zone of null means county-wide. The same party,
    zone, tier and topic again replaces the duty (200), also when such requests race.
    Emits `registry.responsibility.assigned`."""
    row, created = await service.assign_responsibility(
        session, responsibility_in=responsibility_in, principal=principal
    )
    response.status_code = 201 if created else 200
    return ResponsibilityOut.model_validate(row)


@responsibilities.get(
    "",
    summary="Responsibilities",
    response_model=Page[ResponsibilityOut],
    responses={403: {"description": "An enterprise token naming another enterprise"}},
)
async def list_responsibilities(
    session: SessionDep,
    principal: Reader,
    page: Paging,
    zone: ZoneQuery = None,
    tier: Annotated[Tier | None, Query(description="overall, supervisory or primary")] = None,
    topic: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]{1,39}$")] = None,
    agency: AgencyQuery = None,
    uscc: UsccQuery = None,
) -> Page[ResponsibilityOut]:
    """With `zone`, the zone's and the county-wide ones; an enterprise token sees the
    agencies' and its own, not another enterprise's (403 when it names one)."""
    wanted = uscc.strip().upper() if uscc else None
    if wanted:
        ensure_own_enterprise(principal, wanted)
    rows, next_cursor = await service.list_responsibilities(
        session,
        page=page,
        zone_code=zone,
        tier=tier.value if tier else None,
        topic=topic,
        agency_code=agency,
        uscc=wanted,
        viewer_uscc=principal.uscc,
    )
    return Page(items=[ResponsibilityOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@responsibilities.get(
    "/route",
    summary="Route a problem to its owner",
    response_model=RouteOut,
    responses={
        403: {"description": "An enterprise token naming another enterprise"},
        404: {"description": "Zone or enterprise unknown, or nobody is responsible"},
        422: {"description": "A malformed zone, topic or USCC"},
    },
)
async def route(
    session: SessionDep,
    principal: Reader,
    zone: Annotated[str, Query(pattern=r"^[a-z0-9][a-z0-9_-]{1,59}$", description="Zone code")],
    topic: Annotated[
        str, Query(pattern=r"^[a-z][a-z0-9_]{1,39}$", description="The problem's topic")
    ],
    uscc: Annotated[Uscc | None, Query(description="The enterprise concerned (USCC)")] = None,
) -> RouteOut:
    """The owner is the agency supervising the topic (the zone's before the county-wide,
    the topic's before `all`), else whoever is responsible overall; a named enterprise is
    first responsible (an enterprise token may name only itself); a malformed USCC is a 422
    naming its fault."""
    if uscc:
        ensure_own_enterprise(principal, uscc)
    return await service.route(session, zone_code=zone, topic=topic, uscc=uscc)


# --- alliance standards -------------------------------------------------------------

standards = APIRouter(prefix="/v1/standards", tags=["alliance standards"])


async def _standard_out(session: AsyncSession, rows: list[Any]) -> list[StandardOut]:
    counts = await service.adopters(session, [s.id for s in rows])
    out = []
    for s in rows:
        item = StandardOut.model_validate(s)
        item.adopters = counts.get(s.id, 0)
        out.append(item)
    return out


@standards.post(
    "",
    status_code=201,
    summary="Publish an alliance standard (产业联盟质量标准)",
    response_model=StandardOut,
    responses={
        404: {"description": "Zone not found"},
        409: {"description": "Code and version exist"},
        422: {"description": "e.g. an industry other than the zone's"},
    },
)
async def publish_standard(
    standard_in: StandardIn, session: SessionDep, principal: OfficerWriter, response: Response
) -> StandardOut:
    """For a zone or an industry; the text is kept by its SHA-256 (send the text or the
    hash). Emits `registry.standard.published`."""
    standard = await service.publish_standard(session, standard_in=standard_in, principal=principal)
    response.headers["Location"] = f"/v1/standards/{standard.id}"
    return (await _standard_out(session, [standard]))[0]


@standards.get(
    "",
    summary="Alliance standards",
    response_model=Page[StandardOut],
    responses=_not_found("Zone"),
)
async def list_standards(
    session: SessionDep,
    _: Reader,
    page: Paging,
    zone: ZoneQuery = None,
    industry: Annotated[Industry | None, Query(description="Industry")] = None,
    code: Annotated[str | None, Query(max_length=60, description="Standard number")] = None,
) -> Page[StandardOut]:
    """With `zone`, those that apply to it: the zone's own and its industry's."""
    rows, next_cursor = await service.list_standards(
        session, page=page, zone_code=zone, industry=industry, code=code
    )
    return Page(items=await _standard_out(session, rows), next_cursor=next_cursor)


@standards.get(
    "/adoption-by-zone",
    summary="Standard adoption per zone (标准领跑)",
    response_model=Page[ZoneAdoption],
)
async def adoption_by_zone(
    session: SessionDep, _: Reader, page: Paging, zone: ZoneQuery = None
) -> Page[ZoneAdoption]:
    """Per zone (by code): applicable standards, admitted members, members that adopted one
    and the adoption rate, and their 同线同质同标 declarations."""
    rows, next_cursor = await service.adoption_by_zone(session, page=page, zone_code=zone)
    return Page(items=rows, next_cursor=next_cursor)


@standards.get(
    "/{standard_id}",
    summary="An alliance standard",
    response_model=StandardOut,
    responses=_not_found("Standard"),
)
async def get_standard(standard_id: uuid.UUID, session: SessionDep, _: Reader) -> StandardOut:
    """With its number of adopters."""
    return (await _standard_out(session, [await service.get_standard(session, standard_id)]))[0]


@standards.post(
    "/{standard_id}/adoptions",
    status_code=201,
    summary="Adopt a standard",
    response_model=AdoptionOut,
    responses={
        200: {"model": AdoptionOut, "description": "Already adopted: the adoption"},
        404: {"description": "Standard or enterprise not found"},
    },
)
async def adopt(
    standard_id: uuid.UUID,
    adoption_in: AdoptionIn,
    session: SessionDep,
    principal: Writer,
    response: Response,
) -> AdoptionOut:
    """An enterprise token adopts for itself; agencies and the office for any enterprise.
    Emits `registry.standard.adopted` (once)."""
    ensure_own_enterprise(principal, adoption_in.uscc)
    standard = await service.get_standard(session, standard_id)
    adoption, created = await service.adopt(
        session, standard, adoption_in=adoption_in, principal=principal
    )
    response.status_code = 201 if created else 200
    return AdoptionOut.model_validate(adoption)


@standards.get(
    "/{standard_id}/adoptions",
    summary="A standard's adopters",
    response_model=Page[AdoptionOut],
    responses=_not_found("Standard"),
)
async def list_adoptions(
    standard_id: uuid.UUID,
    session: SessionDep,
    principal: Reader,
    page: Paging,
    uscc: UsccQuery = None,
) -> Page[AdoptionOut]:
    """By USCC; an enterprise token sees only its own."""
    standard = await service.get_standard(session, standard_id)
    rows, next_cursor = await service.list_adoptions(
        session, standard, page=page, uscc=_own(principal, uscc)
    )
    return Page(items=[AdoptionOut.model_validate(a) for a in rows], next_cursor=next_cursor)


@standards.post(
    "/{standard_id}/declarations",
    status_code=201,
    summary="Declare a product 同线同质同标",
    response_model=DeclarationOut,
    responses={
        404: {"description": "Standard or enterprise not found"},
        409: {"description": "Standard not adopted by the enterprise, or product declared"},
    },
)
async def declare(
    standard_id: uuid.UUID,
    declaration_in: DeclarationIn,
    session: SessionDep,
    principal: Writer,
) -> DeclarationOut:
    """Same line, same standard, same quality for export and the home market: the
    enterprise must have adopted the standard. Emits `registry.standard.declared`."""
    ensure_own_enterprise(principal, declaration_in.uscc)
    standard = await service.get_standard(session, standard_id)
    declaration = await service.declare(
        session, standard, declaration_in=declaration_in, principal=principal
    )
    return DeclarationOut.model_validate(declaration)


@standards.get(
    "/{standard_id}/declarations",
    summary="A standard's 同线同质同标 declarations",
    response_model=Page[DeclarationOut],
    responses=_not_found("Standard"),
)
async def list_declarations(
    standard_id: uuid.UUID,
    session: SessionDep,
    principal: Reader,
    page: Paging,
    uscc: UsccQuery = None,
) -> Page[DeclarationOut]:
    """Oldest first; an enterprise token sees only its own."""
    standard = await service.get_standard(session, standard_id)
    rows, next_cursor = await service.list_declarations(
        session, standard, page=page, uscc=_own(principal, uscc)
    )
    return Page(items=[DeclarationOut.model_validate(d) for d in rows], next_cursor=next_cursor)


# --- trainings ----------------------------------------------------------------------

trainings = APIRouter(prefix="/v1/trainings", tags=["trainings"])


async def _training_out(session: AsyncSession, rows: list[Any]) -> list[TrainingOut]:
    counts = await service.attendance_counts(session, [t.id for t in rows])
    out = []
    for t in rows:
        item = TrainingOut.model_validate(t)
        item.attendance = counts.get(t.id, 0)
        out.append(item)
    return out


@trainings.post(
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


@trainings.get("", summary="Trainings", response_model=Page[TrainingOut])
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
        uscc=_own(principal, uscc),
    )
    return Page(items=await _training_out(session, rows), next_cursor=next_cursor)


@trainings.get(
    "/{training_id}",
    summary="A training",
    response_model=TrainingOut,
    responses=_not_found("Training"),
)
async def get_training(training_id: uuid.UUID, session: SessionDep, _: Reader) -> TrainingOut:
    """With its attendance count."""
    return (await _training_out(session, [await service.get_training(session, training_id)]))[0]


@trainings.post(
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


@trainings.get(
    "/{training_id}/attendance",
    summary="A training's attendance",
    response_model=Page[AttendanceOut],
    responses=_not_found("Training"),
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
        session, training, page=page, uscc=_own(principal, uscc)
    )
    return Page(items=[AttendanceOut.model_validate(a) for a in rows], next_cursor=next_cursor)


# --- honours ------------------------------------------------------------------------

awards = APIRouter(prefix="/v1/awards", tags=["honours"])


@awards.post(
    "",
    status_code=201,
    summary="Open an award round (推优评优)",
    response_model=AwardRoundOut,
    responses=_not_found("Zone"),
)
async def open_round(
    round_in: AwardRoundIn, session: SessionDep, principal: Admin, response: Response
) -> AwardRoundOut:
    """Admin only. Criteria: the credit levels allowed (A only by default), optionally a zone
    (its admitted members) or an industry; an open serious risk alert always blocks. Emits
    `registry.award.opened`."""
    award_round = await service.open_round(session, round_in=round_in, principal=principal)
    response.headers["Location"] = f"/v1/awards/{award_round.id}"
    return AwardRoundOut.model_validate(award_round)


@awards.get("", summary="Award rounds", response_model=Page[AwardRoundOut])
async def list_rounds(
    session: SessionDep,
    _: Reader,
    page: Paging,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="Year honoured")] = None,
    zone: ZoneQuery = None,
) -> Page[AwardRoundOut]:
    """Newest first."""
    rows, next_cursor = await service.list_rounds(session, page=page, year=year, zone_code=zone)
    return Page(items=[AwardRoundOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@awards.get(
    "/{round_id}",
    summary="An award round",
    response_model=AwardRoundOut,
    responses=_not_found("Award round"),
)
async def get_round(round_id: uuid.UUID, session: SessionDep, _: Reader) -> AwardRoundOut:
    """Its criteria."""
    return AwardRoundOut.model_validate(await service.get_round(session, round_id))


@awards.get(
    "/{round_id}/candidates",
    summary="Candidates, each with what blocks it",
    response_model=Page[Candidate],
    responses=_not_found("Award round"),
)
async def candidates(
    round_id: uuid.UUID,
    session: SessionDep,
    _: OfficerReader,
    page: Paging,
    eligible: Annotated[bool | None, Query(description="Only eligible, or only blocked")] = None,
) -> Page[Candidate]:
    """Every enterprise in the round's scope by USCC, with its credit level and, when
    ineligible, each blocking rule: `credit_level`, `open_serious_alert` (联合惩戒)."""
    award_round = await service.get_round(session, round_id)
    rows, next_cursor = await service.candidates(session, award_round, page=page, eligible=eligible)
    return Page(items=rows, next_cursor=next_cursor)


@awards.post(
    "/{round_id}/nominations",
    status_code=201,
    summary="Nominate an enterprise",
    response_model=NominationOut,
    responses={
        404: {"description": "Round or enterprise not found"},
        409: {"description": "Ineligible (`rule` names the blocking rule) or already nominated"},
    },
)
async def nominate(
    round_id: uuid.UUID, nomination_in: NominationIn, session: SessionDep, principal: Writer
) -> NominationOut:
    """Agencies and the office nominate; an enterprise token may put itself forward. An
    ineligible enterprise is a 409 whose `rule` is `scope`, `credit_level` or
    `open_serious_alert`, with every blocking reason. Emits `registry.award.nominated`."""
    ensure_own_enterprise(principal, nomination_in.uscc)
    award_round = await service.get_round(session, round_id)
    nomination = await service.nominate(
        session, award_round, nomination_in=nomination_in, principal=principal
    )
    return NominationOut.model_validate(nomination)


@awards.get(
    "/{round_id}/nominations",
    summary="A round's nominations",
    response_model=Page[NominationOut],
    responses=_not_found("Award round"),
)
async def list_nominations(
    round_id: uuid.UUID,
    session: SessionDep,
    principal: Reader,
    page: Paging,
    status: Annotated[
        str | None, Query(pattern="^(nominated|granted)$", description="nominated or granted")
    ] = None,
) -> Page[NominationOut]:
    """By USCC; an enterprise token sees only its own."""
    award_round = await service.get_round(session, round_id)
    rows, next_cursor = await service.list_nominations(
        session, award_round, page=page, status=status, uscc=principal.uscc
    )
    return Page(items=[NominationOut.model_validate(n) for n in rows], next_cursor=next_cursor)


@awards.post(
    "/{round_id}/nominations/{uscc}/grant",
    summary="Grant the award (品牌提升行动)",
    response_model=NominationOut,
    responses={
        404: {"description": "Round or nomination not found"},
        409: {"description": "Ineligible now (`rule` names it) or already granted"},
    },
)
async def grant(
    round_id: uuid.UUID, uscc: UsccPath, session: SessionDep, principal: Admin
) -> NominationOut:
    """Admin only. Eligibility is checked again: a level that fell or a serious alert raised
    since the nomination blocks it (409 naming the rule). Emits `registry.award.granted`."""
    award_round = await service.get_round(session, round_id)
    return NominationOut.model_validate(
        await service.grant(session, award_round, uscc, principal=principal)
    )


routers = [groups, meetings, items, assessments, responsibilities, standards, trainings, awards]
