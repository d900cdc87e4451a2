"""The directory: enterprises (from registry), their levels (from credit), the recognised
results that may spare them a check (from credit), and the draw's population."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    String,
    any_,
    bindparam,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from kit.db import get_or_404, newer_than_mirrored, once_each, values_table
from kit.events import (
    RESULT_FACT_KINDS,
    AgencyRegistered,
    CreditFactRecorded,
    CreditLevelChanged,
    EnterpriseRegistered,
    ModelPublished,
    RecognitionChanged,
    ZoneRegistered,
)
from kit.measures import LEVELS, LevelEffects, effects_of
from kit.pagination import PageParams, keyset_page
from kit.problems import NotFound
from kit.uscc import normalize
from kit.validation import unknown_value
from services.inspection.directory.models import (
    AgencyMirror,
    DirectoryEntry,
    MeasuresMirror,
    RecognitionMirror,
    ResultMirror,
    ZoneMirror,
)

RECOGNISABLE = {kind for kinds in RESULT_FACT_KINDS.values() for kind in kinds}


async def get(session: AsyncSession, uscc: str, *, for_update: bool = False) -> DirectoryEntry:
    """One entry, or 404."""
    key = normalize(uscc)
    return await get_or_404(session, DirectoryEntry, key, "enterprise", for_update=for_update)


async def search(
    session: AsyncSession,
    *,
    page: PageParams,
    industry: str | None,
    zone: str | None,
    level: str | None,
) -> tuple[list[DirectoryEntry], str | None]:
    """Entries by USCC."""
    query = select(DirectoryEntry)
    if industry:
        query = query.where(DirectoryEntry.industry == industry)
    if zone:
        query = query.where(DirectoryEntry.zones.any_() == zone)
    if level:
        query = query.where(DirectoryEntry.level == level)
    return await keyset_page(session, query, keys=[DirectoryEntry.uscc], page=page)


# A run of registrations in one prebuilt statement, whatever its length (compiled and
# prepared once, not a multi-row INSERT built per run); a later announcement renames.
ANNOUNCE = text(
    """
    INSERT INTO directory (uscc, name, industry, zones, level, updated_at)
    SELECT t.uscc, t.name, t.industry, '{}', 'B', now()
    FROM unnest(CAST(:usccs AS text[]), CAST(:names AS text[]), CAST(:industries AS text[]))
        AS t(uscc, name, industry)
    ON CONFLICT (uscc) DO UPDATE SET name = excluded.name, industry = excluded.industry
    """
)


async def announce(session: AsyncSession, registered: Sequence[EnterpriseRegistered]) -> None:
    """Registry registered enterprises (a later announcement renames): one upsert per run."""
    for run in once_each(registered, key=lambda e: e.uscc):
        await session.execute(
            ANNOUNCE,
            {
                "usccs": [e.uscc for e in run],
                "names": [e.name for e in run],
                "industries": [e.industry for e in run],
            },
        )


async def mirror_agency(session: AsyncSession, agency: AgencyRegistered) -> None:
    """Registry added a member agency."""
    names = {"name_zh": agency.name_zh, "name_en": agency.name_en}
    await session.execute(
        insert(AgencyMirror)
        .values(code=agency.code, **names)
        .on_conflict_do_update(index_elements=["code"], set_=names)
    )


async def ensure_agencies(session: AsyncSession, codes: Sequence[str]) -> None:
    """404 naming the first code registry never announced as a member agency: campaigns and
    inspectors belong to member agencies only."""
    known = set(
        await session.scalars(select(AgencyMirror.code).where(AgencyMirror.code.in_(codes)))
    )
    for code in codes:
        if code not in known:
            raise NotFound("agency", code)


async def mirror_measures(session: AsyncSession, published: ModelPublished) -> None:
    """Credit put a model version's measures in force (an older one arriving late is kept
    for the record but never wins: the newest version is read)."""
    if not published.measures:  # announced before measures were (#17): nothing to keep
        return
    await session.execute(
        insert(MeasuresMirror)
        .values(
            model_version=published.version,
            measures={lv: e.model_dump() for lv, e in published.measures.items()},
        )
        .on_conflict_do_nothing()
    )


async def measures_in_force(session: AsyncSession) -> tuple[int | None, dict[str, LevelEffects]]:
    """(model version, effects per level) of the newest measures credit announced; (None,
    the platform defaults) until it has announced any."""
    row = await session.scalar(
        select(MeasuresMirror).order_by(MeasuresMirror.model_version.desc()).limit(1)
    )
    measures = row.measures if row is not None else None
    return (row.model_version if row else None), {lv: effects_of(measures, lv) for lv in LEVELS}


async def mirror_zone(session: AsyncSession, zone: ZoneRegistered | str) -> None:
    """Registry planned a zone (or an admission named one): its code is known from now on."""
    code = zone if isinstance(zone, str) else zone.code
    await session.execute(insert(ZoneMirror).values(code=code).on_conflict_do_nothing())


async def known_zone(session: AsyncSession, zone: str | None) -> str | None:
    """A `zone` filter's code when registry announced it; a 422 listing the known ones else
    (like registry's own filters: a zone is data, not an enum)."""
    if zone is None or await session.get(ZoneMirror, zone) is not None:
        return zone
    codes = list((await session.scalars(select(ZoneMirror.code).order_by(ZoneMirror.code))).all())
    raise unknown_value("zone", zone, codes, what="zone", what_zh="示范区")


async def set_zone(session: AsyncSession, *, uscc: str, zone: str, member: bool) -> None:
    """Admitted to (or out of) a zone."""
    entry = await session.get(DirectoryEntry, uscc, with_for_update=True)
    if entry is None:  # registry's announcement is on its way: retried with backoff
        raise LookupError(f"enterprise {uscc} not announced yet")
    await mirror_zone(session, zone)
    zones = set(entry.zones) | {zone} if member else set(entry.zones) - {zone}
    entry.zones = sorted(zones)


async def set_levels(
    session: AsyncSession, changes: Sequence[tuple[CreditLevelChanged, datetime]]
) -> None:
    """Credit's levels (each at its event's time), unless an older event arrives late; one
    statement per run (a rescoring storm's batch). Retried (raises) while registry's
    announcement of an enterprise has not arrived."""
    for run in once_each(changes, key=lambda item: item[0].uscc):
        incoming = values_table(
            uscc=([c.uscc for c, _ in run], String()),
            level=([c.to_level for c, _ in run], String()),
            seq=([c.sequence for c, _ in run], BigInteger()),
            at=([at for _, at in run], DateTime(timezone=True)),
            model_version=([c.model_version for c, _ in run], Integer()),
        )
        updated = set(
            await session.scalars(
                update(DirectoryEntry)
                .where(
                    DirectoryEntry.uscc == incoming.c.uscc,
                    newer_than_mirrored(
                        DirectoryEntry.level_seq,
                        DirectoryEntry.level_at,
                        incoming.c.seq,
                        incoming.c.at,
                    ),
                )
                .values(
                    level=incoming.c.level,
                    level_at=incoming.c.at,
                    level_seq=incoming.c.seq,
                    model_version=incoming.c.model_version,
                )
                .returning(DirectoryEntry.uscc)
                .execution_options(synchronize_session=False)
            )
        )
        rest = {c.uscc for c, _ in run} - updated
        if rest:
            known = set(
                await session.scalars(
                    select(DirectoryEntry.uscc).where(DirectoryEntry.uscc.in_(rest))
                )
            )
            if missing := rest - known:
                raise LookupError(f"enterprises {sorted(missing)} not announced yet")


async def mirror_recognition(session: AsyncSession, recognition: RecognitionChanged) -> None:
    """Keep the ledger's entry as credit last announced it."""
    values = recognition.model_dump(exclude={"recognition_id"})
    await session.execute(
        insert(RecognitionMirror)
        .values(id=recognition.recognition_id, **values)
        .on_conflict_do_update(index_elements=["id"], set_=values)
    )


async def mirror_result(session: AsyncSession, fact: CreditFactRecorded) -> None:
    """A recognisable result (passed check, certification, passed lab test)."""
    if fact.kind not in RECOGNISABLE:
        return
    await session.execute(
        insert(ResultMirror)
        .values(
            fact_id=fact.fact_id,
            uscc=fact.uscc,
            agency=fact.source_agency,
            kind=fact.kind,
            occurred_at=fact.occurred_at,
            checklist_items=fact.checklist_items or [],
        )
        .on_conflict_do_nothing()
    )


async def covered_by_recognition(
    session: AsyncSession,
    *,
    agencies: Sequence[str],
    usccs: Sequence[str],
    industries: dict[str, str | None],
    items: set[str],
    window: tuple[date, date],
) -> set[str]:
    """Enterprises whose every checklist item is covered, for one of `agencies`, by a result
    of an agency they recognise (监管互认), in the recognition's scope and period."""
    recognitions = list(
        await session.scalars(
            select(RecognitionMirror).where(
                RecognitionMirror.recognising_agency.in_(agencies),
                RecognitionMirror.status == "active",
                RecognitionMirror.valid_from <= window[1],
                RecognitionMirror.valid_to >= window[0],
            )
        )
    )
    if not recognitions:
        return set()
    covered: set[str] = set()
    results = await session.execute(
        select(ResultMirror).where(
            ResultMirror.agency.in_({r.recognised_agency for r in recognitions}),
            ResultMirror.uscc == any_(bindparam("usccs", list(usccs), type_=ARRAY(String))),
        )
    )
    for (result,) in results:
        for r in recognitions:
            if (
                r.recognised_agency == result.agency
                and result.kind in RESULT_FACT_KINDS[r.result_kind]
                and r.valid_from <= result.occurred_at.date() <= r.valid_to
                and (not r.industries or industries.get(result.uscc) in r.industries)
                and (not r.checklist_items or items <= set(r.checklist_items))
                and (not result.checklist_items or items <= set(result.checklist_items))
            ):
                covered.add(result.uscc)
    return covered
