"""The leadership group and its roster; joint meetings, their action items and the
overdue announcements; the target assessment per agency and year."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kit.auth import Principal
from kit.db import get_or_404, utcnow
from kit.events import ActionItemChanged, GroupMemberRole, LeadershipGroupChanged, MeetingHeld
from kit.pagination import PageParams, keyset_page
from kit.problems import Conflict, NotFound, ProblemError, invalid
from services.registry.agencies.models import Agency
from services.registry.events import publish
from services.registry.programme.leadership.models import (
    ActionItem,
    GroupMember,
    LeadershipGroup,
    Meeting,
)
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
)
from services.registry.programme.shared import get_agency, insert_new, round4, today
from services.registry.zones import service as zones


async def _agencies_exist(session: AsyncSession, codes: Sequence[str]) -> None:
    wanted = set(codes)
    if not wanted:
        return
    known = set((await session.scalars(select(Agency.code).where(Agency.code.in_(wanted)))).all())
    missing = sorted(wanted - known)
    if missing:
        raise NotFound("agency", ", ".join(missing))


# --- leadership group ---------------------------------------------------------------


async def get_group(session: AsyncSession, code: str) -> LeadershipGroup:
    """A leadership group, or 404."""
    return await get_or_404(session, LeadershipGroup, code, "leadership group")


async def _members(session: AsyncSession, code: str) -> list[GroupMember]:
    query = select(GroupMember).where(GroupMember.group_code == code)
    return list((await session.scalars(query.order_by(GroupMember.agency_code))).all())


async def group_out(session: AsyncSession, group: LeadershipGroup) -> GroupOut:
    """A group with its roster, leader unit and office."""
    return _group_out(group, await _members(session, group.code))


async def group_outs(session: AsyncSession, groups: Sequence[LeadershipGroup]) -> list[GroupOut]:
    """Groups with their rosters, read in one query for the page."""
    rosters: dict[str, list[GroupMember]] = {}
    if groups:
        query = select(GroupMember).where(GroupMember.group_code.in_([g.code for g in groups]))
        for m in await session.scalars(query.order_by(GroupMember.agency_code)):
            rosters.setdefault(m.group_code, []).append(m)
    return [_group_out(g, rosters.get(g.code, [])) for g in groups]


def _group_out(group: LeadershipGroup, members: list[GroupMember]) -> GroupOut:
    role = {m.role: m.agency_code for m in members}
    return GroupOut(
        code=group.code,
        county=group.county,
        name_zh=group.name_zh,
        name_en=group.name_en,
        basis=group.basis,
        established_on=group.established_on,
        leader=role.get("leader"),
        office=role.get("office"),
        members=[GroupMemberOut.model_validate(m) for m in members],
        created_at=group.created_at,
    )


async def _announce_group(session: AsyncSession, group: LeadershipGroup) -> None:
    members = await _members(session, group.code)
    await publish(
        session,
        "registry.leadership_group.changed.v1",
        group.code,
        LeadershipGroupChanged(
            group_code=group.code,
            county=group.county,
            members=[
                GroupMemberRole(agency_code=m.agency_code, role=m.role)  # type: ignore[arg-type]
                for m in members
            ],
        ),
    )


async def create_group(session: AsyncSession, *, group_in: GroupIn) -> LeadershipGroup:
    """Set up a county's group with its roster; 409 if the code exists."""
    if await session.get(LeadershipGroup, group_in.code) is not None:
        raise Conflict(
            f"leadership group '{group_in.code}' already exists",
            detail_zh=f"领导小组“{group_in.code}”已存在",
        )
    await _agencies_exist(session, [m.agency_code for m in group_in.members])
    group = await insert_new(
        session,
        LeadershipGroup,
        **group_in.model_dump(exclude={"members"}),
        created_at=utcnow(),
    )
    if group is None:  # set up by a concurrent request since the check above
        raise Conflict(
            f"leadership group '{group_in.code}' already exists",
            detail_zh=f"领导小组“{group_in.code}”已存在",
        )
    for m in group_in.members:
        session.add(GroupMember(group_code=group.code, **m.model_dump(mode="json")))
    await session.flush()
    await _announce_group(session, group)
    return group


async def set_member(
    session: AsyncSession, group: LeadershipGroup, agency_code: str, *, member_in: GroupMemberIn
) -> GroupMember:
    """Add an agency to the group or change its role; 409 if the leader or office role is
    another agency's (change that one to member first)."""
    await get_agency(session, agency_code)
    # the group row serialises roster changes: two concurrent leaders cannot both pass
    await session.get(LeadershipGroup, group.code, with_for_update=True)
    if member_in.role.value in ("leader", "office"):
        holder = await session.scalar(
            select(GroupMember.agency_code).where(
                GroupMember.group_code == group.code,
                GroupMember.role == member_in.role.value,
                GroupMember.agency_code != agency_code,
            )
        )
        if holder is not None:
            raise Conflict(
                f"'{holder}' is the group's {member_in.role.value}; make it a member first",
                detail_zh=f"“{holder}”是领导小组的 {member_in.role.value}；请先将其改为成员",
                rule=f"one_{member_in.role.value}",
                holder=holder,
            )
    values = member_in.model_dump(mode="json")
    row = await session.get(GroupMember, (group.code, agency_code), with_for_update=True)
    if row is None:
        row = GroupMember(group_code=group.code, agency_code=agency_code, **values)
        session.add(row)
    else:
        for key, value in values.items():
            setattr(row, key, value)
        row.updated_at = utcnow()
    await session.flush()
    await _announce_group(session, group)
    return row


async def list_groups(
    session: AsyncSession, *, page: PageParams
) -> tuple[list[LeadershipGroup], str | None]:
    """Groups by code."""
    return await keyset_page(
        session, select(LeadershipGroup), keys=[LeadershipGroup.code], page=page
    )


def ensure_group_office(principal: Principal, office: str | None) -> None:
    """The group's office (办公室) convenes and records meetings; an admin may too."""
    if principal.is_admin:
        return
    if principal.uscc is not None or principal.inspector_id is not None:
        raise ProblemError(
            "forbidden",
            "only the leadership group's office records meetings",
            detail_zh="只有领导小组办公室可以记录会议",
        )
    if principal.agency is None or principal.agency != office:
        raise ProblemError(
            "forbidden",
            f"only the leadership group's office ({office or 'none set'}) records meetings",
            detail_zh=f"只有领导小组办公室（{office or '未设置'}）可以记录会议",
        )


# --- joint meetings and action items -----------------------------------------------


def item_out(item: ActionItem, *, on: date | None = None) -> ActionItemOut:
    """An action item with `overdue` and `on_time` worked out for today (China)."""
    day = on or today()
    done = item.status == "done"
    return ActionItemOut(
        id=item.id,
        meeting_id=item.meeting_id,
        decision_no=item.decision_no,
        title=item.title,
        owner_agency=item.owner_agency,
        deadline=item.deadline,
        zone_code=item.zone_code,
        status="done" if done else "open",
        overdue=not done and item.deadline < day,
        on_time=(item.done_on <= item.deadline) if done and item.done_on else None,
        done_on=item.done_on,
        done_at=item.done_at,
        done_by=item.done_by,
        evidence=item.evidence,
        evidence_ref=item.evidence_ref,
        created_at=item.created_at,
    )


def _item_event(item: ActionItem) -> ActionItemChanged:
    out = item_out(item)
    return ActionItemChanged(
        item_id=str(item.id),
        meeting_id=str(item.meeting_id),
        owner_agency=item.owner_agency,
        title=item.title,
        deadline=item.deadline,
        status=out.status,
        overdue=out.overdue,
        done_on=item.done_on,
        on_time=out.on_time,
    )


async def hold_meeting(
    session: AsyncSession, *, meeting_in: MeetingIn, principal: Principal
) -> Meeting:
    """Record a held meeting; each decision's action items are assigned to their owners.
    Attendees and owners must be registered agencies (404), owners members of the group
    (409), zones known (404)."""
    group = await get_group(session, meeting_in.group_code)
    members = {m.agency_code: m.role for m in await _members(session, group.code)}
    ensure_group_office(principal, next((a for a, r in members.items() if r == "office"), None))
    items_in = [
        (number, item)
        for number, decision in enumerate(meeting_in.decisions, start=1)
        for item in decision.action_items
    ]
    await _agencies_exist(session, [*meeting_in.attendees, *(i.owner_agency for _, i in items_in)])
    for _, item in items_in:
        if item.owner_agency not in members:
            raise Conflict(
                f"'{item.owner_agency}' is not a member of the leadership group '{group.code}'",
                detail_zh=f"“{item.owner_agency}”不是领导小组“{group.code}”的成员单位",
                rule="owner_in_group",
                field="owner_agency",
            )
    for zone_code in {i.zone_code for _, i in items_in if i.zone_code}:
        await zones.get(session, zone_code)
    meeting = Meeting(
        group_code=group.code,
        title=meeting_in.title,
        held_on=meeting_in.held_on,
        location=meeting_in.location,
        agenda=meeting_in.agenda,
        attendees=meeting_in.attendees,
        minutes=meeting_in.minutes,
        minutes_sha256=hashlib.sha256(meeting_in.minutes.encode("utf-8")).hexdigest(),
        decisions=[d.text for d in meeting_in.decisions],
        recorded_by=principal.subject,
    )
    session.add(meeting)
    await session.flush()
    items = [
        ActionItem(
            meeting_id=meeting.id,
            decision_no=number,
            position=position,
            title=item.title,
            owner_agency=item.owner_agency,
            deadline=item.deadline,
            zone_code=item.zone_code,
            status="open",
            created_at=utcnow(),
        )
        for position, (number, item) in enumerate(items_in, start=1)
    ]
    session.add_all(items)
    await session.flush()
    await publish(
        session,
        "registry.meeting.held.v1",
        group.code,
        MeetingHeld(
            meeting_id=str(meeting.id),
            group_code=group.code,
            title=meeting.title,
            held_on=meeting.held_on,
            attendees=meeting.attendees,
            decisions=len(meeting.decisions),
            action_item_ids=[str(i.id) for i in items],
        ),
    )
    for assigned in items:
        await publish(
            session,
            "registry.action_item.assigned.v1",
            assigned.owner_agency,
            _item_event(assigned),
        )
    return meeting


async def get_meeting(session: AsyncSession, meeting_id: uuid.UUID) -> Meeting:
    """A meeting, or 404."""
    return await get_or_404(session, Meeting, meeting_id, "meeting")


async def meeting_out(session: AsyncSession, meeting: Meeting) -> MeetingOut:
    """A meeting with its action items in decision order."""
    items = await session.scalars(
        select(ActionItem).where(ActionItem.meeting_id == meeting.id).order_by(ActionItem.position)
    )
    day = today()
    return MeetingOut(
        id=meeting.id,
        group_code=meeting.group_code,
        title=meeting.title,
        held_on=meeting.held_on,
        location=meeting.location,
        agenda=meeting.agenda,
        attendees=meeting.attendees,
        minutes=meeting.minutes,
        minutes_sha256=meeting.minutes_sha256,
        decisions=meeting.decisions,
        action_items=[item_out(i, on=day) for i in items],
        recorded_by=meeting.recorded_by,
        created_at=meeting.created_at,
    )


async def list_meetings(
    session: AsyncSession,
    *,
    page: PageParams,
    group_code: str | None,
    since: date | None,
    until: date | None,
) -> tuple[list[Meeting], str | None]:
    """Meetings, newest first."""
    query = select(Meeting)
    if group_code:
        query = query.where(Meeting.group_code == group_code)
    if since:
        query = query.where(Meeting.held_on >= since)
    if until:
        query = query.where(Meeting.held_on <= until)
    return await keyset_page(
        session, query, keys=[Meeting.held_on, Meeting.id], page=page, descending=True
    )


async def get_item(
    session: AsyncSession, item_id: uuid.UUID, *, for_update: bool = False
) -> ActionItem:
    """An action item, or 404."""
    return await get_or_404(session, ActionItem, item_id, "action item", for_update=for_update)


async def list_items(
    session: AsyncSession,
    *,
    page: PageParams,
    owner_agency: str | None,
    status: str | None,
    overdue: bool | None,
    meeting_id: uuid.UUID | None,
) -> tuple[list[ActionItem], str | None]:
    """Action items by deadline, then id."""
    query = select(ActionItem)
    if owner_agency:
        query = query.where(ActionItem.owner_agency == owner_agency)
    if status:
        query = query.where(ActionItem.status == status)
    if meeting_id:
        query = query.where(ActionItem.meeting_id == meeting_id)
    if overdue is not None:
        late = and_(ActionItem.status == "open", ActionItem.deadline < today())
        query = query.where(late if overdue else ~late)
    return await keyset_page(session, query, keys=[ActionItem.deadline, ActionItem.id], page=page)


async def announce_overdue(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Emit registry.action_item.overdue once for each open item past its deadline (a batch
    of at most 500 per call; rows another process holds are left to it)."""
    async with sessionmaker() as session, session.begin():
        late = list(
            await session.scalars(
                select(ActionItem)
                .where(
                    ActionItem.status == "open",
                    ActionItem.deadline < today(),
                    ActionItem.overdue_notified_at.is_(None),
                )
                .order_by(ActionItem.deadline, ActionItem.id)
                .limit(500)
                .with_for_update(skip_locked=True)
            )
        )
        for item in late:
            item.overdue_notified_at = utcnow()
            await publish(
                session, "registry.action_item.overdue.v1", item.owner_agency, _item_event(item)
            )
    return len(late)


async def mark_done(
    session: AsyncSession, item: ActionItem, *, done_in: ActionItemDone, principal: Principal
) -> ActionItem:
    """open → done with evidence, by the owner agency (or an admin); 409 when already done."""
    if not principal.is_admin and principal.agency != item.owner_agency:
        raise ProblemError(
            "forbidden",
            f"the action item is {item.owner_agency}'s to report done",
            detail_zh=f"该督办事项应由 {item.owner_agency} 报告完成",
        )
    if item.status == "done":
        raise ProblemError(
            "illegal-transition",
            f"the action item was already done on {item.done_on}",
            detail_zh=f"该督办事项已于 {item.done_on} 完成",
            current="done",
            requested="done",
            allowed=[],
        )
    if done_in.done_on is not None:
        held_on = await session.scalar(select(Meeting.held_on).where(Meeting.id == item.meeting_id))
        if held_on is not None and done_in.done_on < held_on:
            raise invalid(
                "done_on",
                f"must not be before the meeting date (held_on {held_on})",
                f"不能早于会议日期（{held_on}）",
            )
    item.status = "done"
    item.done_at = utcnow()
    item.done_on = done_in.done_on or today()
    item.evidence = done_in.evidence
    item.evidence_ref = done_in.evidence_ref
    item.done_by = principal.subject
    await session.flush()
    await publish(session, "registry.action_item.done.v1", item.owner_agency, _item_event(item))
    return item


async def assessments(
    session: AsyncSession,
    *,
    year: int,
    page: PageParams,
    agency: str | None,
    group_code: str | None,
) -> tuple[list[AgencyAssessment], str | None]:
    """纳入全县目标管理考核: per agency, the action items due in `year` — assigned, done on
    time, done late, open, overdue (today, China). Agencies by code; with `group`, its
    members and the items of its meetings only."""
    day = today()
    item_filters = [  # a range, so the (owner_agency, deadline) index serves
        ActionItem.deadline >= date(year, 1, 1),
        ActionItem.deadline < date(year + 1, 1, 1),
    ]
    agencies = select(Agency)
    if group_code:
        await get_group(session, group_code)
        item_filters.append(
            ActionItem.meeting_id.in_(select(Meeting.id).where(Meeting.group_code == group_code))
        )
        agencies = agencies.where(
            Agency.code.in_(
                select(GroupMember.agency_code).where(GroupMember.group_code == group_code)
            )
        )
    if agency:
        agencies = agencies.where(Agency.code == agency)
    rows, next_cursor = await keyset_page(session, agencies, keys=[Agency.code], page=page)
    done = ActionItem.status == "done"
    figures = {
        r.owner_agency: r
        for r in await session.execute(
            select(
                ActionItem.owner_agency,
                func.count().label("assigned"),
                func.count().filter(done, ActionItem.done_on <= ActionItem.deadline).label("ok"),
                func.count().filter(done, ActionItem.done_on > ActionItem.deadline).label("late"),
                func.count().filter(~done).label("open"),
                func.count().filter(~done, ActionItem.deadline < day).label("overdue"),
            )
            .where(*item_filters, ActionItem.owner_agency.in_([a.code for a in rows]))
            .group_by(ActionItem.owner_agency)
        )
    }
    out = []
    for a in rows:
        f = figures.get(a.code)
        assigned, ok = (f.assigned, f.ok) if f else (0, 0)
        out.append(
            AgencyAssessment(
                agency_code=a.code,
                name_zh=a.name_zh,
                name_en=a.name_en,
                year=year,
                assigned=assigned,
                done_on_time=ok,
                done_late=f.late if f else 0,
                open=f.open if f else 0,
                overdue=f.overdue if f else 0,
                on_time_rate=round4(ok, assigned),
            )
        )
    return out, next_cursor
