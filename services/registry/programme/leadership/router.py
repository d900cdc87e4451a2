"""Leadership group, joint meeting, action item and target assessment endpoints."""

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from kit.db import SessionDep
from kit.pagination import Page
from kit.validation import AGENCY_PATTERN
from services.registry.programme.leadership import service
from services.registry.programme.leadership.schemas import (
    ActionItemDone,
    ActionItemOut,
    AgencyAssessment,
    GroupIn,
    GroupMemberIn,
    GroupMemberOut,
    GroupOut,
    MeetingIn,
    MeetingOut,
    MeetingSummary,
)
from services.registry.programme.shared import (
    Admin,
    AgencyQuery,
    OfficerReader,
    OfficerWriter,
    Paging,
    Reader,
    not_found,
    today,
)

GroupCode = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_-]{1,39}$", description="Group code")]
AgencyPath = Annotated[str, Path(pattern=AGENCY_PATTERN, description="Agency code")]


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
    "/{code}", summary="A leadership group", response_model=GroupOut, responses=not_found("Group")
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
    responses=not_found("Meeting"),
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
    day = today()
    return Page(items=[service.item_out(i, on=day) for i in rows], next_cursor=next_cursor)


@items.get(
    "/{item_id}",
    summary="An action item",
    response_model=ActionItemOut,
    responses=not_found("Action item"),
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
    responses=not_found("Group"),
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


routers = [groups, meetings, items, assessments]
