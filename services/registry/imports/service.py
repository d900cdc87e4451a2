"""Spreadsheet imports: a job per file, processed in batches by a periodic worker through
the registry's own service functions, so every change emits the event it emits one by one.

Each batch is one transaction holding the job row: the rows' effects, their outcomes and the
job's progress commit together, so a worker that dies mid-batch leaves nothing half done,
and once its lease runs out the next worker resumes the job at `next_row`. A dry run runs the
same code inside a savepoint it rolls back: it reports what would change and writes nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import timedelta
from itertools import islice
from typing import Any

from sqlalchemy import insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kit import spreadsheets
from kit.auth import Principal, agency_records, sees_agency_record
from kit.db import utcnow
from kit.pagination import PageParams, keyset_page
from kit.problems import CATALOG, NotFound, ProblemError
from services.registry.enterprises import service as enterprises
from services.registry.enterprises.models import Enterprise, Survey
from services.registry.enterprises.schemas import EnterprisePatch, SurveyIn
from services.registry.imports.models import ImportJob, ImportOutcome
from services.registry.imports.rows import (
    FIELDS,
    REQUIRED,
    EnterpriseRow,
    Kind,
    MembershipRow,
    RowError,
    SurveyRow,
    key_of,
    parse_enterprise,
    parse_membership,
    parse_survey,
    zh_field,
)
from services.registry.memberships import service as memberships
from services.registry.memberships.models import OPEN_STATUSES, Membership
from services.registry.memberships.schemas import ApplicationIn, Decision, DecisionIn
from services.registry.personal import owning_agency

log = logging.getLogger("registry.imports")

MAX_FILE_BYTES = 20 * 1024 * 1024
BATCH = 500
LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 3  # a job whose worker died this often is marked failed, not tried forever
WORKER = f"{socket.gethostname()[:30]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
COUNTS = ("rows", "created", "updated", "unchanged", "rejected")


async def submit(
    session: AsyncSession,
    *,
    content: bytes,
    filename: str | None,
    kind: Kind,
    dry_run: bool,
    principal: Principal,
) -> ImportJob:
    """Check the file's size, type and headings and queue it: 413 above 20 MiB, 415 when it
    is no spreadsheet, 422 when it is empty or lacks a required column."""
    if len(content) > MAX_FILE_BYTES:
        raise ProblemError(
            "payload-too-large",
            f"an import file may be at most {MAX_FILE_BYTES} bytes",
            limit_bytes=MAX_FILE_BYTES,
        )
    try:
        sheet = spreadsheets.read(content)
    except spreadsheets.NotASpreadsheet as exc:
        raise ProblemError(
            "unsupported-media-type", f"{exc}; send an .xlsx workbook or a .csv file"
        ) from exc
    if not sheet.headings:
        raise _file_problem("the file is empty: no heading row", "文件为空：没有标题行")
    present = {f for f in sheet.fields if f}
    missing = [f for f in REQUIRED[kind] if f not in present]
    if missing:
        raise _file_problem(
            f"required columns missing: {', '.join(missing)}",
            "缺少必需列：" + "、".join(zh_field(f) for f in missing),
        )
    if sheet.duplicated:
        raise _file_problem(
            f"more than one column for: {', '.join(sheet.duplicated)}",
            "列重复：" + "、".join(zh_field(f) for f in sheet.duplicated),
        )
    unused = [
        h
        for h, f in zip(sheet.headings, sheet.fields, strict=True)
        if f is not None and f not in FIELDS[kind]
    ]
    job = ImportJob(
        kind=kind.value,
        dry_run=dry_run,
        filename=(filename or "")[:255] or None,
        content=content,
        submitted_by=principal.subject,
        agency=principal.agency,
        scopes=sorted(principal.scopes),
        headings=sheet.headings,
        unknown_headings=[*sheet.unknown, *unused],
        estimated_rows=sheet.estimated_rows,
        counts=dict.fromkeys(COUNTS, 0),
    )
    session.add(job)
    await session.flush()
    return job


def _file_problem(en: str, zh: str) -> ProblemError:
    return ProblemError("validation", en, errors=[{"field": "file", "reason": en, "reason_zh": zh}])


async def get(session: AsyncSession, job_id: uuid.UUID, *, principal: Principal) -> ImportJob:
    """A job, or 404; an agency sees its own agency's jobs, the office and admins every one."""
    job = await session.get(ImportJob, job_id)
    if job is None or not sees_agency_record(principal, job.agency):
        raise NotFound("import", str(job_id))
    return job


async def search(
    session: AsyncSession,
    *,
    principal: Principal,
    page: PageParams,
    kind: Kind | None,
    status: str | None,
) -> tuple[list[ImportJob], str | None]:
    """Jobs newest first (ids are time-ordered), seen as `get` sees one: an agency its own
    agency's, the office and admins every one."""
    query = select(ImportJob).where(agency_records(principal, ImportJob.agency))
    if kind is not None:
        query = query.where(ImportJob.kind == kind.value)
    if status is not None:
        query = query.where(ImportJob.status == status)
    return await keyset_page(session, query, keys=[ImportJob.id], page=page, descending=True)


async def outcomes(
    session: AsyncSession, job: ImportJob, *, page: PageParams, outcome: str | None
) -> tuple[list[ImportOutcome], str | None]:
    """A job's row outcomes by row number."""
    query = select(ImportOutcome).where(ImportOutcome.job_id == job.id)
    if outcome:
        query = query.where(ImportOutcome.outcome == outcome)
    return await keyset_page(session, query, keys=[ImportOutcome.row], page=page)


async def rejected_rows(
    session: AsyncSession, job: ImportJob
) -> AsyncIterator[tuple[int, list[str], str]]:
    """(row, cells, reason) of each rejected row, in order. One plain statement: a GET's
    session has no transaction, and a server-side cursor needs one."""
    query = (
        select(
            ImportOutcome.row, ImportOutcome.cells, ImportOutcome.reason_zh, ImportOutcome.reason_en
        )
        .where(ImportOutcome.job_id == job.id, ImportOutcome.outcome == "rejected")
        .order_by(ImportOutcome.row)
    )
    for row, cells, zh, en in await session.execute(query):
        yield row, [str(c) for c in cells or []], f"{zh} / {en}"


# --- the worker -------------------------------------------------------------------------


@dataclass
class Outcome:
    """One row's outcome, as stored."""

    row: int
    outcome: str
    key: str | None = None
    field: str | None = None
    reason_zh: str | None = None
    reason_en: str | None = None
    changed: list[str] = dc_field(default_factory=list)
    cells: list[str] | None = None


@dataclass
class Batch:
    """What one batch's transaction already holds: the enterprises and surveys its rows
    name, loaded (and locked) in one query each instead of one per row."""

    principal: Principal
    enterprises: dict[str, Enterprise | None] = dc_field(default_factory=dict)
    surveys: dict[tuple[str, int], Survey] = dc_field(default_factory=dict)

    async def load(self, session: AsyncSession, kind: Kind, values: list[dict[str, str]]) -> None:
        """Load the batch's enterprises and their surveys (enterprises and surveys kinds)."""
        if kind is Kind.memberships:
            return
        usccs = sorted({v["uscc"].strip().upper() for v in values if v.get("uscc")})
        if not usccs:
            return
        self.enterprises = dict.fromkeys(usccs)
        found = await session.scalars(
            select(Enterprise)
            .where(Enterprise.uscc.in_(usccs))
            .order_by(Enterprise.uscc)
            .with_for_update()
        )
        self.enterprises.update({e.uscc: e for e in found})
        surveys = await session.scalars(
            select(Survey).where(Survey.uscc.in_(usccs)).order_by(Survey.id).with_for_update()
        )
        self.surveys = {(s.uscc, s.year): s for s in surveys}

    async def enterprise(self, session: AsyncSession, uscc: str) -> Enterprise | None:
        """The enterprise, from the batch's load when it covers it."""
        if uscc in self.enterprises:
            return self.enterprises[uscc]
        found = await session.get(Enterprise, uscc, with_for_update=True)
        self.enterprises[uscc] = found
        return found

    async def survey(self, session: AsyncSession, uscc: str, year: int) -> Survey | None:
        """The enterprise's survey of `year`, from the batch's load when it covers it."""
        if uscc in self.enterprises:
            return self.surveys.get((uscc, year))
        return await session.scalar(
            select(Survey).where(Survey.uscc == uscc, Survey.year == year).with_for_update()
        )

    def forget(self, values: dict[str, str]) -> None:
        """A row rolled back: what it added is gone, so look its enterprise up again."""
        uscc = values.get("uscc", "").strip().upper()
        self.enterprises.pop(uscc, None)
        self.surveys = {k: v for k, v in self.surveys.items() if k[0] != uscc}


async def process_jobs(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Claim one queued job (or one whose worker's lease ran out) and run it to the end;
    the number of jobs run (0 or 1). Several processes run this side by side safely."""
    job_id = await _claim(sessionmaker)
    if job_id is None:
        return 0
    await run(sessionmaker, job_id)
    return 1


async def _claim(sessionmaker: async_sessionmaker[AsyncSession]) -> uuid.UUID | None:
    async with sessionmaker() as session, session.begin():
        now = utcnow()
        job = await session.scalar(
            select(ImportJob)
            .where(
                or_(
                    ImportJob.status == "queued",
                    (ImportJob.status == "running") & (ImportJob.lease_until < now),
                )
            )
            .order_by(ImportJob.created_at)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if job is None:
            return None
        if job.attempts >= MAX_ATTEMPTS:
            job.status = "failed"
            job.error = f"interrupted {job.attempts} times; rows up to {job.next_row} settled"
            job.finished_at = now
            return None
        job.status, job.worker, job.lease_until = "running", WORKER, now + LEASE
        job.attempts += 1
        return job.id


async def run(sessionmaker: async_sessionmaker[AsyncSession], job_id: uuid.UUID) -> None:
    """Run a claimed job batch by batch from where it stands."""
    async with sessionmaker() as session:
        job = await session.get(ImportJob, job_id)
        assert job is not None
        content = await session.scalar(select(ImportJob.content).where(ImportJob.id == job_id))
        kind, settled = Kind(job.kind), job.next_row
    assert content is not None
    rows = spreadsheets.read(content).rows()
    del content
    seen: dict[str, int] = {}
    try:
        for number, values, _cells in islice(rows, settled):  # settled before: keys only
            key = key_of(kind, values)
            if key is not None:
                seen.setdefault(key, number)
        while True:
            batch = list(islice(rows, BATCH))
            if not await _batch(sessionmaker, job_id, kind, batch, seen, settled):
                return
            settled += len(batch)
            if not batch:
                return
    except spreadsheets.NotASpreadsheet as exc:
        async with sessionmaker() as session, session.begin():
            failed = await session.get(ImportJob, job_id, with_for_update=True)
            if failed is not None:
                failed.status, failed.error, failed.finished_at = "failed", str(exc), utcnow()


async def _batch(
    sessionmaker: async_sessionmaker[AsyncSession],
    job_id: uuid.UUID,
    kind: Kind,
    batch: list[tuple[int, dict[str, str], list[str]]],
    seen: dict[str, int],
    settled: int,
) -> bool:
    """Process one batch (an empty one finishes the job); False when the job is no longer
    this worker's to run."""
    async with sessionmaker() as session, session.begin():
        job = await session.scalar(
            select(ImportJob).where(ImportJob.id == job_id).with_for_update(skip_locked=True)
        )
        if (
            job is None
            or job.worker != WORKER
            or job.status != "running"
            or job.next_row != settled
        ):
            return False
        principal = Principal(
            subject=job.submitted_by, scopes=frozenset(job.scopes), agency=job.agency
        )
        results: list[Outcome] = []
        dry = await session.begin_nested() if job.dry_run else None
        held = Batch(principal)
        await held.load(session, kind, [values for _, values, _ in batch])
        if kind is Kind.enterprises:
            results = await _enterprise_batch(session, batch, seen, held)
        else:
            for number, values, cells in batch:
                results.append(await _row(session, kind, number, values, cells, seen, held))
        if dry is not None:
            await dry.rollback()
        stored = [r for r in results if r.outcome != "unchanged"]
        if stored:
            await session.execute(
                insert(ImportOutcome),
                [{**r.__dict__, "job_id": job_id} for r in stored],
            )
        counts = dict(job.counts)
        counts["rows"] = counts.get("rows", 0) + len(results)
        for r in results:
            counts[r.outcome] = counts.get(r.outcome, 0) + 1
        job.counts = counts
        job.next_row = settled + len(batch)
        job.lease_until = utcnow() + LEASE
        if not batch:  # done: the file is no longer needed (rejected rows keep their cells)
            job.status, job.finished_at, job.lease_until = "done", utcnow(), None
            job.content = b""
            job.estimated_rows = counts["rows"]
    return True


async def _row(
    session: AsyncSession,
    kind: Kind,
    number: int,
    values: dict[str, str],
    cells: list[str],
    seen: dict[str, int],
    held: Batch,
) -> Outcome:
    key = key_of(kind, values)
    try:
        if key is not None and seen.get(key, number) != number:
            raise _duplicate(key, seen[key])
        if key is not None:
            seen[key] = number
        async with session.begin_nested():
            outcome, changed = await _apply(session, kind, values, held)
    except RowError as exc:
        held.forget(values)
        return Outcome(number, "rejected", key, exc.field, exc.zh, exc.en, [], cells)
    except ProblemError as exc:
        held.forget(values)
        errors = exc.extensions.get("errors") or [{}]
        field_name = errors[0].get("field") if isinstance(errors[0], dict) else None
        zh = f"{CATALOG[exc.slug][2]}：{exc.detail_zh or exc.detail}"
        return Outcome(number, "rejected", key, field_name, zh, exc.detail, [], cells)
    return Outcome(number, outcome, key, changed=changed)


def _duplicate(key: str, first: int) -> RowError:
    same = "USCC and year" if "/" in key else "USCC"
    return RowError("uscc", f"与第 {first} 行重复", f"duplicate of row {first} (same {same})")


async def _enterprise_batch(
    session: AsyncSession,
    batch: list[tuple[int, dict[str, str], list[str]]],
    seen: dict[str, int],
    held: Batch,
) -> list[Outcome]:
    """An enterprises batch: the rows registering new enterprises in one multi-row INSERT for
    the enterprises, one for their surveys and one for each kind of event (the same rows and
    events as one by one; no ORM objects), then the other rows one by one, each in its
    savepoint. Should the
    bulk step fail (an enterprise registered meanwhile), its rows go one by one too."""
    results: dict[int, Outcome] = {}
    fresh: list[tuple[int, dict[str, str], list[str], EnterpriseRow]] = []
    fresh_usccs: set[str] = set()
    later: list[tuple[int, dict[str, str], list[str]]] = []
    for number, values, cells in batch:
        key = key_of(Kind.enterprises, values)
        try:
            if key is not None and seen.get(key, number) != number:
                raise _duplicate(key, seen[key])
            if key is not None:
                seen[key] = number
            row = parse_enterprise(values)
        except RowError as exc:
            results[number] = Outcome(number, "rejected", key, exc.field, exc.zh, exc.en, [], cells)
            continue
        new = row.uscc in held.enterprises and held.enterprises[row.uscc] is None
        if new and row.uscc not in fresh_usccs:
            fresh.append((number, values, cells, row))
            fresh_usccs.add(row.uscc)
        else:
            later.append((number, values, cells))
    if fresh:
        try:
            async with session.begin_nested():
                await enterprises.insert_registrations(
                    session,
                    [f[3].register for f in fresh],
                    owner_agency=owning_agency(held.principal),
                )
                await enterprises.insert_surveys(
                    session,
                    [(f[3].uscc, f[3].survey) for f in fresh if f[3].survey is not None],
                    principal=held.principal,
                )
        except ProblemError:
            later += [(n, v, c) for n, v, c, _ in fresh]
        else:
            for number, values, _, _ in fresh:
                results[number] = Outcome(number, "created", key_of(Kind.enterprises, values))
    for f in fresh:  # registered now, or not after all: a later row of theirs reads them
        held.forget(f[1])
    for number, values, cells in sorted(later, key=lambda r: r[0]):
        results[number] = await _row(session, Kind.enterprises, number, values, cells, seen, held)
    return [results[n] for n in sorted(results)]


async def _apply(
    session: AsyncSession, kind: Kind, values: dict[str, str], held: Batch
) -> tuple[str, list[str]]:
    if kind is Kind.enterprises:
        return await _enterprise(session, parse_enterprise(values), held)
    if kind is Kind.surveys:
        return await _survey_row(session, parse_survey(values), held)
    return await _membership(session, parse_membership(values), held.principal)


async def _enterprise(
    session: AsyncSession, row: EnterpriseRow, held: Batch
) -> tuple[str, list[str]]:
    enterprise = await held.enterprise(session, row.uscc)
    changed: list[str] = []
    if enterprise is None:
        error = enterprises.organisation_check_error(row.uscc)
        if error is not None:
            raise RowError("uscc", f"统一社会信用代码无效：{error.zh}", f"invalid USCC: {error}")
        enterprise = await enterprises.register(
            session, enterprise_in=row.register, owner_agency=owning_agency(held.principal)
        )
        held.enterprises[row.uscc] = enterprise
        outcome = "created"
    else:
        changes: dict[str, Any] = row.given.model_dump(mode="json", exclude_unset=True)
        if row.hs_codes is not None and set(row.hs_codes) != set(enterprise.hs_codes):
            changes["products"] = [p for p in enterprise.products if p["hs_code"] in row.hs_codes]
            changes["products"] += [
                {"hs_code": c, "name": c, "brand": None}
                for c in row.hs_codes
                if c not in enterprise.hs_codes
            ]
        changed = [f for f, v in changes.items() if getattr(enterprise, f) != v]
        if changed:
            patch = EnterprisePatch.model_validate({f: changes[f] for f in changed})
            await enterprises.update(session, enterprise, patch=patch)
        outcome = "updated" if changed else "unchanged"
    if row.survey is not None:
        survey_changed = await _survey(session, enterprise, row.survey, held)
        if outcome != "created":
            changed += [f"survey.{f}" for f in survey_changed]
        if survey_changed and outcome == "unchanged":
            outcome = "updated"
    return outcome, changed


async def _survey(
    session: AsyncSession, enterprise: Enterprise, survey_in: SurveyIn, held: Batch
) -> list[str]:
    """Record or update the year's survey with the figures given; the fields changed."""
    principal = held.principal
    existing = await held.survey(session, enterprise.uscc, survey_in.year)
    if existing is None:
        survey = await enterprises.add_survey(
            session, enterprise, survey_in=survey_in, principal=principal
        )
        held.surveys[(enterprise.uscc, survey.year)] = survey
        return [str(survey_in.year)]
    given = survey_in.model_fields_set - {"year"}
    data = survey_in.model_dump(mode="json")
    changed = sorted(f for f in given if getattr(existing, f) != data[f])
    if changed:
        current = {f: getattr(existing, f) for f in SurveyIn.model_fields}
        merged = SurveyIn.model_validate({**current, **{f: data[f] for f in changed}})
        await enterprises.put_survey(session, enterprise, survey_in=merged, principal=principal)
    return changed


async def _survey_row(session: AsyncSession, row: SurveyRow, held: Batch) -> tuple[str, list[str]]:
    enterprise = await held.enterprise(session, row.uscc)
    if enterprise is None:
        raise RowError(
            "uscc", "企业未登记：请先导入企业名录", f"enterprise {row.uscc} is not registered"
        )
    existed = await held.survey(session, row.uscc, row.survey.year)
    changed = await _survey(session, enterprise, row.survey, held)
    if existed is None:
        return "created", []
    return ("updated" if changed else "unchanged"), changed


async def _membership(
    session: AsyncSession, row: MembershipRow, principal: Principal
) -> tuple[str, list[str]]:
    membership = await session.scalar(
        select(Membership)
        .where(
            Membership.zone_code == row.zone,
            Membership.uscc == row.uscc,
            Membership.status.in_(OPEN_STATUSES),
        )
        .with_for_update()
    )
    outcome, changed = "unchanged", []
    if membership is None:
        membership = await memberships.apply(
            session,
            row.zone,
            application=ApplicationIn(uscc=row.uscc, note=row.note),
            principal=principal,
        )
        outcome, changed = "created", ["status"]
    if row.admit and membership.status in ("applied", "assessing"):
        membership = await memberships.decide(
            session,
            membership,
            decision_in=DecisionIn(decision=Decision.admit, reason=row.note),
            principal=principal,
        )
        if outcome == "unchanged":
            outcome, changed = "updated", ["status"]
    return outcome, changed
