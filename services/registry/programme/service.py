"""Programme management (保障体系): the leadership group and its joint meetings, action items
and target assessment; the responsibility system; alliance standards; trainings; honours."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kit.auth import Principal
from kit.db import get_or_404, utcnow
from kit.events import (
    ActionItemChanged,
    AlertClosed,
    AlertRaised,
    AwardChanged,
    AwardRoundOpened,
    GroupMemberRole,
    LeadershipGroupChanged,
    MeetingHeld,
    ResponsibilityAssigned,
    StandardAdopted,
    StandardPublished,
    TrainingAttended,
    TrainingHeld,
    make_event,
)
from kit.outbox import emit
from kit.pagination import PageParams, keyset_page
from kit.problems import Conflict, NotFound, ProblemError, invalid
from kit.validation import CHINA
from services.registry.agencies.models import Agency
from services.registry.base import Base
from services.registry.enterprises import service as enterprises
from services.registry.enterprises.models import Enterprise
from services.registry.events import SOURCE, publish
from services.registry.memberships.models import Membership
from services.registry.programme.models import (
    ActionItem,
    AlertMirror,
    AwardNomination,
    AwardRound,
    GroupMember,
    LeadershipGroup,
    Meeting,
    Responsibility,
    SameLineDeclaration,
    Standard,
    StandardAdoption,
    Training,
    TrainingAttendance,
)
from services.registry.programme.schemas import (
    ActionItemDone,
    ActionItemOut,
    AdoptionIn,
    AgencyAssessment,
    AwardRoundIn,
    BlockingRule,
    Candidate,
    DeclarationIn,
    GroupIn,
    GroupMemberIn,
    GroupMemberOut,
    GroupOut,
    MeetingIn,
    MeetingOut,
    NominationIn,
    ResponsibilityIn,
    RoutedParty,
    RouteOut,
    StandardIn,
    Tier,
    TrainingIn,
    ZoneAdoption,
)
from services.registry.zones import service as zones
from services.registry.zones.models import Zone

M = TypeVar("M", bound=Base)
SERIOUS = "serious"
PRIMARY_RULE = "企业是产品质量安全第一责任人 (the enterprise is first responsible for its products)"


def today() -> date:
    """Today in Ninghai (China calendar day): deadlines and 'overdue' are counted in it."""
    return utcnow().astimezone(CHINA).date()


async def _agency(session: AsyncSession, code: str) -> Agency:
    return await get_or_404(session, Agency, code, "agency")


async def _agencies_exist(session: AsyncSession, codes: Sequence[str]) -> None:
    wanted = set(codes)
    if not wanted:
        return
    known = set((await session.scalars(select(Agency.code).where(Agency.code.in_(wanted)))).all())
    missing = sorted(wanted - known)
    if missing:
        raise NotFound("agency", ", ".join(missing))


def _round4(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


async def _insert_new(session: AsyncSession, model: type[M], **values: Any) -> M | None:
    """Insert a row unless one with the same key exists, a concurrent request's included:
    the new row, or None. ON CONFLICT DO NOTHING waits for the other transaction and leaves
    this one usable, where a failed flush would roll it back (and a 500 would follow)."""
    statement = insert(model).values(**values).on_conflict_do_nothing().returning(model)
    return await session.scalar(statement)


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
        raise Conflict(f"leadership group '{group_in.code}' already exists")
    await _agencies_exist(session, [m.agency_code for m in group_in.members])
    group = await _insert_new(
        session,
        LeadershipGroup,
        **group_in.model_dump(exclude={"members"}),
        created_at=utcnow(),
    )
    if group is None:  # set up by a concurrent request since the check above
        raise Conflict(f"leadership group '{group_in.code}' already exists")
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
    await _agency(session, agency_code)
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
        raise ProblemError("forbidden", "only the leadership group's office records meetings")
    if principal.agency is None or principal.agency != office:
        raise ProblemError(
            "forbidden",
            f"only the leadership group's office ({office or 'none set'}) records meetings",
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
        raise ProblemError("forbidden", f"the action item is {item.owner_agency}'s to report done")
    if item.status == "done":
        raise ProblemError(
            "illegal-transition",
            f"the action item was already done on {item.done_on}",
            current="done",
            requested="done",
            allowed=[],
        )
    if done_in.done_on is not None:
        held_on = await session.scalar(select(Meeting.held_on).where(Meeting.id == item.meeting_id))
        if held_on is not None and done_in.done_on < held_on:
            raise invalid("done_on", f"must not be before the meeting date (held_on {held_on})")
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
                on_time_rate=_round4(ok, assigned),
            )
        )
    return out, next_cursor


# --- responsibility system ----------------------------------------------------------


async def assign_responsibility(
    session: AsyncSession, *, responsibility_in: ResponsibilityIn, principal: Principal
) -> tuple[Responsibility, bool]:
    """Record who answers for what; the same party, zone, tier and topic again replaces
    its duty. Returns the row and whether it is new."""
    r = responsibility_in
    if r.zone_code:
        await zones.get(session, r.zone_code)
    if r.agency_code:
        await _agency(session, r.agency_code)
    if r.uscc:
        enterprise = await enterprises.get(session, r.uscc)
        if r.tier is Tier.primary and not await _admitted(session, r.zone_code, enterprise.uscc):
            raise Conflict(
                f"{enterprise.uscc} is not an admitted member of zone '{r.zone_code}': an "
                "enterprise is first responsible in a zone it belongs to",
                rule="zone_member",
                field="uscc",
            )
    # a concurrent request for the same party waits here for the other to commit, then
    # replaces the duty as a sequential repeat does
    row = await _insert_new(
        session,
        Responsibility,
        zone_code=r.zone_code,
        tier=r.tier.value,
        topic=r.topic,
        agency_code=r.agency_code,
        uscc=r.uscc,
        duty=r.duty,
        responsible_person=r.responsible_person,
        recorded_by=principal.subject,
        updated_at=utcnow(),
    )
    created = row is not None
    if row is None:
        row = await session.scalar(
            select(Responsibility)
            .where(
                Responsibility.zone_code.is_not_distinct_from(r.zone_code),
                Responsibility.tier == r.tier.value,
                Responsibility.topic == r.topic,
                Responsibility.agency_code.is_not_distinct_from(r.agency_code),
                Responsibility.uscc.is_not_distinct_from(r.uscc),
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if row is None:  # ON CONFLICT saw it; nothing deletes one, but never a 500
            raise Conflict("the responsibility changed while this request ran; retry")
        row.duty = r.duty
        row.responsible_person = r.responsible_person
        row.recorded_by = principal.subject
        row.updated_at = utcnow()
        await session.flush()
    await publish(
        session,
        "registry.responsibility.assigned.v1",
        r.zone_code or "county",
        ResponsibilityAssigned(
            responsibility_id=str(row.id),
            zone_code=row.zone_code,
            tier=r.tier.value,
            topic=row.topic,
            agency_code=row.agency_code,
            uscc=row.uscc,
        ),
    )
    return row, created


async def list_responsibilities(
    session: AsyncSession,
    *,
    page: PageParams,
    zone_code: str | None,
    tier: str | None,
    topic: str | None,
    agency_code: str | None,
    uscc: str | None,
    viewer_uscc: str | None = None,
) -> tuple[list[Responsibility], str | None]:
    """Responsibilities; with `zone`, the zone's and the county-wide ones. An enterprise
    (`viewer_uscc`) sees the agencies' and its own, not other enterprises'."""
    query = select(Responsibility)
    if viewer_uscc:
        query = query.where(or_(Responsibility.uscc.is_(None), Responsibility.uscc == viewer_uscc))
    if zone_code:
        query = query.where(
            or_(Responsibility.zone_code == zone_code, Responsibility.zone_code.is_(None))
        )
    if tier:
        query = query.where(Responsibility.tier == tier)
    if topic:
        query = query.where(Responsibility.topic == topic)
    if agency_code:
        query = query.where(Responsibility.agency_code == agency_code)
    if uscc:
        query = query.where(Responsibility.uscc == uscc)
    return await keyset_page(session, query, keys=[Responsibility.id], page=page)


async def _admitted(session: AsyncSession, zone_code: str | None, uscc: str) -> bool:
    return bool(
        await session.scalar(
            select(
                exists().where(
                    Membership.zone_code == zone_code,
                    Membership.uscc == uscc,
                    Membership.status == "admitted",
                )
            )
        )
    )


def _party(r: Responsibility, zone_code: str) -> RoutedParty:
    return RoutedParty(
        tier=Tier(r.tier),
        agency_code=r.agency_code,
        uscc=r.uscc,
        duty=r.duty,
        responsible_person=r.responsible_person,
        source="zone" if r.zone_code == zone_code else "county",
    )


async def route(session: AsyncSession, *, zone_code: str, topic: str, uscc: str | None) -> RouteOut:
    """Route a problem on `topic` in a zone: the supervising agency (the zone's before the
    county-wide, for the topic before one for `all`), else whoever is responsible overall;
    the enterprise named is first responsible. 404 when nobody is responsible at all."""
    zone = await zones.get(session, zone_code)
    rows = list(
        (
            await session.scalars(
                select(Responsibility).where(
                    or_(Responsibility.zone_code == zone.code, Responsibility.zone_code.is_(None)),
                    Responsibility.topic.in_((topic, "all")),
                    Responsibility.tier != Tier.primary.value,
                )
            )
        ).all()
    )

    def best(tier: Tier) -> Responsibility | None:
        ranked = sorted(
            (r for r in rows if r.tier == tier.value),
            # the zone's before the county's, the topic's before `all`, then the oldest
            key=lambda r: (r.zone_code is None, r.topic != topic, r.id),
        )
        return ranked[0] if ranked else None

    supervisory, overall = best(Tier.supervisory), best(Tier.overall)
    first: RoutedParty | None = None
    if uscc:
        enterprise = await enterprises.get(session, uscc)
        recorded = await session.scalar(
            select(Responsibility)
            .where(
                Responsibility.zone_code == zone.code,
                Responsibility.tier == Tier.primary.value,
                Responsibility.uscc == enterprise.uscc,
                Responsibility.topic.in_((topic, "all")),
            )
            .order_by(Responsibility.topic != topic)
            .limit(1)
        )
        first = (
            _party(recorded, zone.code)
            if recorded
            else RoutedParty(
                tier=Tier.primary,
                agency_code=None,
                uscc=enterprise.uscc,
                duty=PRIMARY_RULE,
                responsible_person=enterprise.legal_representative,
                source="rule",
            )
        )
    chain = [
        *([first] if first else []),
        *(_party(r, zone.code) for r in (supervisory, overall) if r is not None),
    ]
    owner_row = supervisory or overall
    if owner_row is None:
        raise NotFound("responsibility", f"{zone.code}/{topic}")
    return RouteOut(
        zone_code=zone.code,
        topic=topic,
        owner=_party(owner_row, zone.code),
        first_responsible=first,
        chain=chain,
    )


# --- alliance standards -------------------------------------------------------------


async def publish_standard(
    session: AsyncSession, *, standard_in: StandardIn, principal: Principal
) -> Standard:
    """Record an alliance standard; 409 if its code and version exist, 422 when its
    industry is not its zone's."""
    if standard_in.zone_code:
        zone = await zones.get(session, standard_in.zone_code)
        if standard_in.industry is not None and standard_in.industry.value != zone.industry:
            raise invalid(
                "industry",
                f"zone '{zone.code}' is of the {zone.industry} industry, "
                f"not {standard_in.industry.value}",
            )
    standard = await _insert_new(
        session,
        Standard,
        **standard_in.model_dump(exclude={"text", "text_sha256"}),
        text_sha256=standard_in.digest(),
        published_by=principal.subject,
        created_at=utcnow(),
    )
    if standard is None:
        published = await session.scalar(
            select(Standard.id).where(
                Standard.code == standard_in.code, Standard.version == standard_in.version
            )
        )
        raise Conflict(
            f"standard {standard_in.code} version {standard_in.version} is already published",
            standard_id=str(published),
        )
    await publish(
        session,
        "registry.standard.published.v1",
        standard.code,
        StandardPublished(
            standard_id=str(standard.id),
            code=standard.code,
            version=standard.version,
            title=standard.title,
            zone_code=standard.zone_code,
            industry=standard.industry,
            effective_on=standard.effective_on,
            text_sha256=standard.text_sha256,
        ),
    )
    return standard


async def get_standard(session: AsyncSession, standard_id: uuid.UUID) -> Standard:
    """A standard, or 404."""
    return await get_or_404(session, Standard, standard_id, "standard")


async def adopters(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Adopting enterprises per standard."""
    if not ids:
        return {}
    rows = await session.execute(
        select(StandardAdoption.standard_id, func.count())
        .where(StandardAdoption.standard_id.in_(ids))
        .group_by(StandardAdoption.standard_id)
    )
    return {sid: n for sid, n in rows.tuples()}


async def list_standards(
    session: AsyncSession,
    *,
    page: PageParams,
    zone_code: str | None,
    industry: str | None,
    code: str | None,
) -> tuple[list[Standard], str | None]:
    """Standards, oldest first; with `zone`, those that apply to it (the zone's and its
    industry's)."""
    query = select(Standard)
    if zone_code:
        zone = await zones.get(session, zone_code)
        query = query.where(
            or_(
                Standard.zone_code == zone.code,
                and_(Standard.zone_code.is_(None), Standard.industry == zone.industry),
            )
        )
    if industry:
        query = query.where(Standard.industry == industry)
    if code:
        query = query.where(Standard.code == code)
    return await keyset_page(session, query, keys=[Standard.id], page=page)


async def adopt(
    session: AsyncSession, standard: Standard, *, adoption_in: AdoptionIn, principal: Principal
) -> tuple[StandardAdoption, bool]:
    """An enterprise adopts a standard; adopting again answers the existing adoption."""
    enterprise = await enterprises.get(session, adoption_in.uscc)
    key = (standard.id, enterprise.uscc)
    existing = await session.get(StandardAdoption, key)
    if existing is not None:
        return existing, False
    adoption = await _insert_new(
        session,
        StandardAdoption,
        standard_id=standard.id,
        uscc=enterprise.uscc,
        adopted_on=adoption_in.adopted_on or today(),
        recorded_by=principal.subject,
        created_at=utcnow(),
    )
    if adoption is None:  # a concurrent request adopted it and committed meanwhile
        existing = await session.get(StandardAdoption, key, populate_existing=True)
        if existing is None:  # ON CONFLICT saw it; nothing deletes one, but never a 500
            raise Conflict("the adoption changed while this request ran; retry")
        return existing, False
    await publish(
        session,
        "registry.standard.adopted.v1",
        enterprise.uscc,
        StandardAdopted(
            standard_id=str(standard.id),
            code=standard.code,
            version=standard.version,
            uscc=enterprise.uscc,
            on=adoption.adopted_on,
        ),
    )
    return adoption, True


async def list_adoptions(
    session: AsyncSession, standard: Standard, *, page: PageParams, uscc: str | None
) -> tuple[list[StandardAdoption], str | None]:
    """A standard's adopters, by USCC."""
    query = select(StandardAdoption).where(StandardAdoption.standard_id == standard.id)
    if uscc:
        query = query.where(StandardAdoption.uscc == uscc)
    return await keyset_page(session, query, keys=[StandardAdoption.uscc], page=page)


async def declare(
    session: AsyncSession,
    standard: Standard,
    *,
    declaration_in: DeclarationIn,
    principal: Principal,
) -> SameLineDeclaration:
    """同线同质同标 for a product; 409 unless the enterprise adopted the standard, or when
    the product is already declared to it."""
    enterprise = await enterprises.get(session, declaration_in.uscc)
    if await session.get(StandardAdoption, (standard.id, enterprise.uscc)) is None:
        raise Conflict(
            f"{enterprise.uscc} has not adopted {standard.code}; adopt the standard first",
            rule="adopted_first",
        )
    declared = await session.scalar(
        select(SameLineDeclaration.id).where(
            SameLineDeclaration.standard_id == standard.id,
            SameLineDeclaration.uscc == enterprise.uscc,
            SameLineDeclaration.product == declaration_in.product,
        )
    )
    if declared is not None:
        raise Conflict(
            f"'{declaration_in.product}' is already declared to {standard.code}",
            declaration_id=str(declared),
        )
    declaration = await _insert_new(
        session,
        SameLineDeclaration,
        standard_id=standard.id,
        uscc=enterprise.uscc,
        product=declaration_in.product,
        hs_code=declaration_in.hs_code,
        declared_on=declaration_in.declared_on or today(),
        recorded_by=principal.subject,
        created_at=utcnow(),
    )
    if declaration is None:  # declared by a concurrent request since the check above
        declared = await session.scalar(
            select(SameLineDeclaration.id).where(
                SameLineDeclaration.standard_id == standard.id,
                SameLineDeclaration.uscc == enterprise.uscc,
                SameLineDeclaration.product == declaration_in.product,
            )
        )
        raise Conflict(
            f"'{declaration_in.product}' is already declared to {standard.code}",
            declaration_id=str(declared),
        )
    await publish(
        session,
        "registry.standard.declared.v1",
        enterprise.uscc,
        StandardAdopted(
            standard_id=str(standard.id),
            code=standard.code,
            version=standard.version,
            uscc=enterprise.uscc,
            on=declaration.declared_on,
            product=declaration.product,
            hs_code=declaration.hs_code,
        ),
    )
    return declaration


async def list_declarations(
    session: AsyncSession, standard: Standard, *, page: PageParams, uscc: str | None
) -> tuple[list[SameLineDeclaration], str | None]:
    """A standard's declarations, oldest first."""
    query = select(SameLineDeclaration).where(SameLineDeclaration.standard_id == standard.id)
    if uscc:
        query = query.where(SameLineDeclaration.uscc == uscc)
    return await keyset_page(session, query, keys=[SameLineDeclaration.id], page=page)


async def adoption_by_zone(
    session: AsyncSession, *, page: PageParams, zone_code: str | None
) -> tuple[list[ZoneAdoption], str | None]:
    """Per zone: applicable standards, admitted members, members adopting one, declarations."""
    query = select(Zone)
    if zone_code:
        query = query.where(Zone.code == zone_code)
    rows, next_cursor = await keyset_page(session, query, keys=[Zone.code], page=page)
    # one query for the page's zones (it was four per zone), each count correlated to its zone
    applies = or_(
        Standard.zone_code == Zone.code,
        and_(Standard.zone_code.is_(None), Standard.industry == Zone.industry),
    )
    applicable = select(Standard.id).where(applies).correlate(Zone)
    members = (
        select(Membership.uscc)
        .where(Membership.zone_code == Zone.code, Membership.status == "admitted")
        .correlate(Zone)
    )
    figures = select(
        Zone.code,
        select(func.count()).select_from(Standard).where(applies).correlate(Zone).scalar_subquery(),
        select(func.count()).select_from(members.subquery()).correlate(Zone).scalar_subquery(),
        select(func.count(func.distinct(StandardAdoption.uscc)))
        .where(StandardAdoption.standard_id.in_(applicable), StandardAdoption.uscc.in_(members))
        .correlate(Zone)
        .scalar_subquery(),
        select(func.count())
        .select_from(SameLineDeclaration)
        .where(
            SameLineDeclaration.standard_id.in_(applicable),
            SameLineDeclaration.uscc.in_(members),
        )
        .correlate(Zone)
        .scalar_subquery(),
    ).where(Zone.code.in_([z.code for z in rows]))
    counts = {row[0]: row[1:] for row in (await session.execute(figures)).tuples()}
    out = []
    for zone in rows:
        standards, member_count, adopting, declarations = counts[zone.code]
        out.append(
            ZoneAdoption(
                zone_code=zone.code,
                standards=standards or 0,
                members=member_count or 0,
                adopters=adopting or 0,
                adoption_rate=_round4(adopting or 0, member_count or 0),
                declarations=declarations or 0,
            )
        )
    return out, next_cursor


# --- trainings ----------------------------------------------------------------------


async def hold_training(
    session: AsyncSession, *, training_in: TrainingIn, principal: Principal
) -> Training:
    """Record a training organised by the token's agency (an admin may name another) and
    the enterprises that attended it."""
    organiser = training_in.organiser_agency or principal.agency
    if organiser is None:
        raise ProblemError(
            "validation",
            "organiser_agency: required when the token names no agency",
            errors=[{"field": "organiser_agency", "reason": "required for this token"}],
        )
    if organiser != principal.agency and not principal.is_admin:
        raise ProblemError("forbidden", "an agency records the trainings it organised")
    await _agency(session, organiser)
    if training_in.zone_code:
        await zones.get(session, training_in.zone_code)
    training = Training(
        title=training_in.title,
        topic=training_in.topic.value,
        held_on=training_in.held_on,
        organiser_agency=organiser,
        zone_code=training_in.zone_code,
        location=training_in.location,
        hours=training_in.hours,
        recorded_by=principal.subject,
    )
    session.add(training)
    await session.flush()
    await publish(
        session,
        "registry.training.held.v1",
        organiser,
        TrainingHeld(
            training_id=str(training.id),
            topic=training.topic,
            title=training.title,
            held_on=training.held_on,
            organiser_agency=organiser,
            zone_code=training.zone_code,
        ),
    )
    if training_in.attendees:
        await attend(session, training, usccs=training_in.attendees, principal=principal)
    return training


async def get_training(session: AsyncSession, training_id: uuid.UUID) -> Training:
    """A training, or 404."""
    return await get_or_404(session, Training, training_id, "training")


async def attendance_counts(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """Attending enterprises per training."""
    if not ids:
        return {}
    rows = await session.execute(
        select(TrainingAttendance.training_id, func.count())
        .where(TrainingAttendance.training_id.in_(ids))
        .group_by(TrainingAttendance.training_id)
    )
    return {tid: n for tid, n in rows.tuples()}


async def attend(
    session: AsyncSession, training: Training, *, usccs: Sequence[str], principal: Principal
) -> tuple[list[str], list[str]]:
    """Record attendance (by the organiser or an admin); each new one emits
    `registry.training.attended`, which credit records as a `training` fact. Unknown
    enterprises are a 404 naming them; already recorded ones are duplicates."""
    if not principal.is_admin and principal.agency != training.organiser_agency:
        raise ProblemError(
            "forbidden", f"attendance is recorded by the organiser ({training.organiser_agency})"
        )
    wanted = list(dict.fromkeys(usccs))
    known = set(
        (await session.scalars(select(Enterprise.uscc).where(Enterprise.uscc.in_(wanted)))).all()
    )
    missing = [u for u in wanted if u not in known]
    if missing:
        raise NotFound("enterprise", ", ".join(missing[:20]))
    inserted = set(
        (
            await session.scalars(
                insert(TrainingAttendance)
                .values(
                    [
                        {
                            "training_id": training.id,
                            "uscc": u,
                            "recorded_by": principal.subject,
                            "created_at": utcnow(),
                        }
                        for u in wanted
                    ]
                )
                .on_conflict_do_nothing()
                .returning(TrainingAttendance.uscc)
            )
        ).all()
    )
    recorded = [u for u in wanted if u in inserted]
    await emit(  # one statement for a whole class of attendees
        session,
        *(
            make_event(
                source=SOURCE,
                type="registry.training.attended.v1",
                subject=u,
                data=TrainingAttended(
                    training_id=str(training.id),
                    uscc=u,
                    topic=training.topic,
                    title=training.title,
                    held_on=training.held_on,
                    organiser_agency=training.organiser_agency,
                ),
            )
            for u in recorded
        ),
    )
    return recorded, [u for u in wanted if u not in inserted]


async def list_trainings(
    session: AsyncSession,
    *,
    page: PageParams,
    topic: str | None,
    organiser: str | None,
    zone_code: str | None,
    uscc: str | None,
) -> tuple[list[Training], str | None]:
    """Trainings, newest first; with `uscc`, those the enterprise attended."""
    query = select(Training)
    if topic:
        query = query.where(Training.topic == topic)
    if organiser:
        query = query.where(Training.organiser_agency == organiser)
    if zone_code:
        query = query.where(Training.zone_code == zone_code)
    if uscc:
        query = query.where(
            exists().where(
                TrainingAttendance.training_id == Training.id, TrainingAttendance.uscc == uscc
            )
        )
    return await keyset_page(
        session, query, keys=[Training.held_on, Training.id], page=page, descending=True
    )


async def list_attendance(
    session: AsyncSession, training: Training, *, page: PageParams, uscc: str | None
) -> tuple[list[TrainingAttendance], str | None]:
    """A training's attendance, by USCC."""
    query = select(TrainingAttendance).where(TrainingAttendance.training_id == training.id)
    if uscc:
        query = query.where(TrainingAttendance.uscc == uscc)
    return await keyset_page(session, query, keys=[TrainingAttendance.uscc], page=page)


# --- open alerts (inspection's, mirrored) and honours -------------------------------


async def alert_raised(session: AsyncSession, alert: AlertRaised) -> None:
    """Remember an alert about an enterprise; a closure that came first is kept."""
    if alert.uscc is None:
        return
    await session.execute(
        insert(AlertMirror)
        .values(
            alert_id=uuid.UUID(alert.alert_id),
            uscc=alert.uscc,
            severity=alert.severity,
            kind=alert.signal_kind,
            agency=alert.agency,
            raised_at=alert.raised_at,
        )
        .on_conflict_do_update(
            index_elements=[AlertMirror.alert_id],
            set_={"kind": alert.signal_kind, "raised_at": alert.raised_at},
        )
    )


async def alert_closed(session: AsyncSession, alert: AlertClosed) -> None:
    """The alert no longer counts as open (even if its raising arrives later)."""
    if alert.uscc is None:
        return
    await session.execute(
        insert(AlertMirror)
        .values(
            alert_id=uuid.UUID(alert.alert_id),
            uscc=alert.uscc,
            severity=alert.severity,
            agency=alert.agency,
            closed_at=alert.closed_at,
        )
        .on_conflict_do_update(
            index_elements=[AlertMirror.alert_id], set_={"closed_at": alert.closed_at}
        )
    )


async def open_serious_alerts(session: AsyncSession, usccs: Sequence[str]) -> dict[str, list[str]]:
    """Open serious alert ids per enterprise."""
    if not usccs:
        return {}
    rows = await session.execute(
        select(AlertMirror.uscc, AlertMirror.alert_id)
        .where(
            AlertMirror.uscc.in_(usccs),
            AlertMirror.closed_at.is_(None),
            AlertMirror.severity == SERIOUS,
        )
        .order_by(AlertMirror.alert_id)
    )
    found: dict[str, list[str]] = {}
    for uscc, alert_id in rows:
        found.setdefault(uscc, []).append(str(alert_id))
    return found


async def open_round(
    session: AsyncSession, *, round_in: AwardRoundIn, principal: Principal
) -> AwardRound:
    """Open an award round with its criteria."""
    if round_in.zone_code:
        await zones.get(session, round_in.zone_code)
    award_round = AwardRound(
        **round_in.model_dump(mode="json", exclude={"allowed_levels"}),
        allowed_levels=[level.value for level in round_in.allowed_levels],
        opened_by=principal.subject,
    )
    session.add(award_round)
    await session.flush()
    await publish(
        session,
        "registry.award.opened.v1",
        str(award_round.id),
        AwardRoundOpened(
            round_id=str(award_round.id),
            title=award_round.title,
            year=award_round.year,
            allowed_levels=award_round.allowed_levels,
            zone_code=award_round.zone_code,
            industry=award_round.industry,
        ),
    )
    return award_round


async def get_round(session: AsyncSession, round_id: uuid.UUID) -> AwardRound:
    """An award round, or 404."""
    return await get_or_404(session, AwardRound, round_id, "award round")


async def list_rounds(
    session: AsyncSession, *, page: PageParams, year: int | None, zone_code: str | None
) -> tuple[list[AwardRound], str | None]:
    """Award rounds, newest first."""
    query = select(AwardRound)
    if year:
        query = query.where(AwardRound.year == year)
    if zone_code:
        query = query.where(AwardRound.zone_code == zone_code)
    return await keyset_page(session, query, keys=[AwardRound.id], page=page, descending=True)


def _in_scope(award_round: AwardRound) -> list[Any]:
    conditions: list[Any] = []
    if award_round.zone_code:
        conditions.append(
            exists().where(
                Membership.uscc == Enterprise.uscc,
                Membership.zone_code == award_round.zone_code,
                Membership.status == "admitted",
            )
        )
    if award_round.industry:
        conditions.append(Enterprise.industry == award_round.industry)
    return conditions


def _eligible_clause(award_round: AwardRound) -> Any:
    serious_open = exists().where(
        AlertMirror.uscc == Enterprise.uscc,
        AlertMirror.closed_at.is_(None),
        AlertMirror.severity == SERIOUS,
    )
    # not yet rated (NULL) is ineligible: without the IS NOT NULL the clause would be NULL
    # for it, and `eligible=false` (NOT clause) would drop it from the blocked list
    return and_(
        Enterprise.credit_level.is_not(None),
        Enterprise.credit_level.in_(award_round.allowed_levels),
        ~serious_open,
    )


def blocking_rules(
    award_round: AwardRound, enterprise: Enterprise, alerts: list[str], *, in_scope: bool
) -> list[BlockingRule]:
    """Every rule that keeps the enterprise out of the round, in a fixed order."""
    reasons = []
    if not in_scope:
        where = [
            f"an admitted member of '{award_round.zone_code}'" if award_round.zone_code else "",
            f"of the {award_round.industry} industry" if award_round.industry else "",
        ]
        reasons.append(
            BlockingRule(
                rule="scope",
                detail=f"the round is for enterprises {' and '.join(w for w in where if w)}",
            )
        )
    if enterprise.credit_level not in award_round.allowed_levels:
        reasons.append(
            BlockingRule(
                rule="credit_level",
                detail=f"credit level {enterprise.credit_level or 'not yet rated'} is not among "
                f"the round's allowed levels {', '.join(award_round.allowed_levels)}",
            )
        )
    if alerts:
        reasons.append(
            BlockingRule(
                rule="open_serious_alert",
                detail="joint punishment (联合惩戒): open serious risk alert " + ", ".join(alerts),
            )
        )
    return reasons


async def candidates(
    session: AsyncSession, award_round: AwardRound, *, page: PageParams, eligible: bool | None
) -> tuple[list[Candidate], str | None]:
    """Enterprises in the round's scope by USCC, each with what blocks it."""
    query: Select[Any] = select(Enterprise).where(*_in_scope(award_round))
    if eligible is not None:
        clause = _eligible_clause(award_round)
        query = query.where(clause if eligible else ~clause)
    rows, next_cursor = await keyset_page(session, query, keys=[Enterprise.uscc], page=page)
    usccs = [e.uscc for e in rows]
    alerts = await open_serious_alerts(session, usccs)
    nominations = {
        u: s
        for u, s in await session.execute(
            select(AwardNomination.uscc, AwardNomination.status).where(
                AwardNomination.round_id == award_round.id, AwardNomination.uscc.in_(usccs)
            )
        )
    }
    out = []
    for e in rows:
        reasons = blocking_rules(award_round, e, alerts.get(e.uscc, []), in_scope=True)
        out.append(
            Candidate(
                uscc=e.uscc,
                name=e.name,
                credit_level=e.credit_level,
                eligible=not reasons,
                reasons=reasons,
                nomination=nominations.get(e.uscc),  # type: ignore[arg-type]
            )
        )
    return out, next_cursor


async def _ensure_eligible(session: AsyncSession, award_round: AwardRound, uscc: str) -> Enterprise:
    """409 naming the first rule that blocks the enterprise (and listing all of them)."""
    enterprise = await enterprises.get(session, uscc)
    scoped = _in_scope(award_round)
    in_scope = not scoped or bool(
        await session.scalar(select(exists().where(Enterprise.uscc == enterprise.uscc, *scoped)))
    )
    alerts = (await open_serious_alerts(session, [enterprise.uscc])).get(enterprise.uscc, [])
    reasons = blocking_rules(award_round, enterprise, alerts, in_scope=in_scope)
    if reasons:
        raise Conflict(
            f"{enterprise.uscc} is not eligible: {reasons[0].detail}",
            rule=reasons[0].rule,
            reasons=[r.model_dump() for r in reasons],
        )
    return enterprise


async def _award_event(
    session: AsyncSession, award_round: AwardRound, n: AwardNomination, event_type: str
) -> None:
    await publish(
        session,
        event_type,
        n.uscc,
        AwardChanged(
            round_id=str(award_round.id),
            title=award_round.title,
            year=award_round.year,
            uscc=n.uscc,
            status=n.status,  # type: ignore[arg-type]
            zone_code=award_round.zone_code,
        ),
    )


async def nominate(
    session: AsyncSession,
    award_round: AwardRound,
    *,
    nomination_in: NominationIn,
    principal: Principal,
) -> AwardNomination:
    """Nominate an eligible enterprise; 409 naming the blocking rule, or if nominated."""
    enterprise = await _ensure_eligible(session, award_round, nomination_in.uscc)
    # one statement for the sequential repeat and the concurrent one: both are the same 409
    nomination = await _insert_new(
        session,
        AwardNomination,
        round_id=award_round.id,
        uscc=enterprise.uscc,
        status="nominated",
        citation=nomination_in.citation,
        nominated_by=principal.subject,
        nominated_at=utcnow(),
    )
    if nomination is None:
        raise Conflict(f"{enterprise.uscc} is already nominated in this round")
    await _award_event(session, award_round, nomination, "registry.award.nominated.v1")
    return nomination


async def grant(
    session: AsyncSession, award_round: AwardRound, uscc: str, *, principal: Principal
) -> AwardNomination:
    """Grant the award to a nominee, checking eligibility again (a level may have fallen or
    an alert been raised since the nomination); 409 naming the blocking rule."""
    key = uscc.strip().upper()
    nomination = await session.get(AwardNomination, (award_round.id, key), with_for_update=True)
    if nomination is None:
        raise NotFound("nomination", f"{award_round.id}/{key}")
    if nomination.status == "granted":
        raise ProblemError(
            "illegal-transition",
            "the award is already granted",
            current="granted",
            requested="granted",
            allowed=[],
        )
    await _ensure_eligible(session, award_round, key)
    nomination.status = "granted"
    nomination.granted_by = principal.subject
    nomination.granted_at = utcnow()
    await session.flush()
    await _award_event(session, award_round, nomination, "registry.award.granted.v1")
    return nomination


async def list_nominations(
    session: AsyncSession,
    award_round: AwardRound,
    *,
    page: PageParams,
    status: str | None,
    uscc: str | None,
) -> tuple[list[AwardNomination], str | None]:
    """A round's nominations, by USCC."""
    query = select(AwardNomination).where(AwardNomination.round_id == award_round.id)
    if status:
        query = query.where(AwardNomination.status == status)
    if uscc:
        query = query.where(AwardNomination.uscc == uscc)
    return await keyset_page(session, query, keys=[AwardNomination.uscc], page=page)
