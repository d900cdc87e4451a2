"""Spreadsheet imports through the service layer: the rows written, the outcomes stored and
the events in the outbox, with real .xlsx and GB 18030 .csv files made here."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kit import spreadsheets
from kit.auth import Principal
from kit.db import utcnow
from kit.pagination import PageParams, decode_cursor
from kit.problems import NotFound, ProblemError
from services.registry.enterprises.models import Enterprise, Survey
from services.registry.imports import service
from services.registry.imports.models import ImportJob, ImportOutcome
from services.registry.imports.rows import Kind
from services.registry.memberships.models import Membership
from tests.helpers import gb18030_csv, new_uscc, xlsx
from tests.integration.conftest import emitted

HEADINGS = ["统一社会信用代码", "企业名称", "法定代表人", "行业", "年度", "年度出口额（美元）"]


async def run_import(
    session: AsyncSession,
    principal: Principal,
    content: bytes,
    kind: Kind = Kind.enterprises,
    *,
    dry_run: bool = False,
) -> tuple[ImportJob, list[ImportOutcome]]:
    """Submit `content` and let the worker run it to the end, on the test's transaction."""
    job = await service.submit(
        session,
        content=content,
        filename="名录.xlsx",
        kind=kind,
        dry_run=dry_run,
        principal=principal,
    )
    await session.commit()  # releases the test's savepoint: the worker's sessions see the job
    assert session.bind is not None
    maker = async_sessionmaker(
        bind=session.bind,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
        autoflush=False,
    )
    while await service.process_jobs(maker):
        pass
    await session.refresh(job)
    outcomes = list(
        await session.scalars(
            select(ImportOutcome).where(ImportOutcome.job_id == job.id).order_by(ImportOutcome.row)
        )
    )
    return job, outcomes


def roster(*usccs: str, year: int = 2024, export: int = 1_000_000) -> list[list[object]]:
    return [HEADINGS] + [
        [u, f"宁海第{i}文具有限公司", "张三", "文具", year, export + i] for i, u in enumerate(usccs)
    ]


@pytest.mark.parametrize("make", [xlsx, gb18030_csv])
async def test_chinese_roster_registers_enterprises_with_their_survey(
    session: AsyncSession, office: Principal, make
) -> None:  # type: ignore[no-untyped-def]
    a, b = new_uscc(), new_uscc()
    job, outcomes = await run_import(session, office, make(roster(a, b)))
    assert job.status == "done"
    assert job.counts == {"rows": 2, "created": 2, "updated": 0, "unchanged": 0, "rejected": 0}
    assert [(o.row, o.outcome, o.key) for o in outcomes] == [
        (2, "created", f"{a}/2024"),
        (3, "created", f"{b}/2024"),
    ]
    enterprise = await session.get(Enterprise, a)
    assert enterprise is not None
    assert (enterprise.name, enterprise.industry, enterprise.legal_representative) == (
        "宁海第0文具有限公司",
        "stationery",
        "张三",
    )
    assert enterprise.owner_agency == "commerce"
    survey = await session.scalar(select(Survey).where(Survey.uscc == b))
    assert survey is not None and (survey.year, survey.annual_export_usd) == (2024, 1_000_001)
    # new enterprises of a batch are registered together: each one's events in order
    types = [(t, s) for t, s, _ in await emitted(session)]
    for uscc in (a, b):
        assert [t for t, s in types if s == uscc] == [
            "registry.enterprise.registered.v1",
            "registry.survey.recorded.v1",
        ]
    assert len(types) == 4
    content = await session.scalar(select(ImportJob.content).where(ImportJob.id == job.id))
    assert content == b""  # done: the file is dropped


async def test_reimport_changes_nothing_and_emits_nothing_then_a_changed_row_updates(
    session: AsyncSession, office: Principal
) -> None:
    a, b = new_uscc(), new_uscc()
    await run_import(session, office, xlsx(roster(a, b)))
    before = len(await emitted(session))
    job, outcomes = await run_import(session, office, xlsx(roster(a, b)))
    assert job.counts["unchanged"] == 2 and outcomes == []
    assert len(await emitted(session)) == before

    changed = roster(a, b)
    changed[2][1] = "宁海新名称文具有限公司"  # b's name
    changed[1][5] = 2_000_000  # a's 2024 exports
    job, outcomes = await run_import(session, office, gb18030_csv(changed))
    assert job.counts == {"rows": 2, "created": 0, "updated": 2, "unchanged": 0, "rejected": 0}
    assert [(o.row, o.changed) for o in outcomes] == [
        (2, ["survey.annual_export_usd"]),
        (3, ["name"]),
    ]
    new_events = (await emitted(session))[before:]
    assert [(t, s) for t, s, _ in new_events] == [
        ("registry.survey.recorded.v1", a),
        ("registry.enterprise.updated.v1", b),
    ]
    assert new_events[1][2]["changed"] == ["name"]


async def test_bad_rows_are_rejected_with_field_and_reasons_and_good_rows_kept(
    session: AsyncSession, office: Principal
) -> None:
    good, dup = new_uscc(), new_uscc()
    bad_uscc = good[:-1] + ("0" if good[-1] != "0" else "1")
    rows = [
        [*HEADINGS, "未知列"],
        [good, "宁海好企业", "王五", "灯具", 2024, 10, "x"],
        [bad_uscc, "错误代码企业", "", "灯具", 2024, 10, ""],
        [dup, "重复企业", "", "模具", 2024, 10, ""],
        [dup, "重复企业", "", "模具", 2024, 10, ""],
        [new_uscc(), "未知行业企业", "", "纺织", 2024, 10, ""],
        [new_uscc(), "", "", "模具", 2024, 10, ""],
    ]
    job, outcomes = await run_import(session, office, xlsx(rows))
    assert job.unknown_headings == ["未知列"]
    assert job.counts == {"rows": 6, "created": 2, "updated": 0, "unchanged": 0, "rejected": 4}
    rejected = {o.row: o for o in outcomes if o.outcome == "rejected"}
    assert {r: o.field for r, o in rejected.items()} == {
        3: "uscc",
        5: "uscc",
        6: "industry",
        7: "name",
    }
    assert "统一社会信用代码无效" in (rejected[3].reason_zh or "")
    assert "check character" in (rejected[3].reason_en or "")
    assert rejected[5].reason_zh == "与第 4 行重复"
    assert "duplicate of row 4" in (rejected[5].reason_en or "")
    assert "纺织" in (rejected[6].reason_zh or "") and "unknown industry" in (
        rejected[6].reason_en or ""
    )
    assert await session.get(Enterprise, good) is not None

    workbook = load_workbook(
        io.BytesIO(
            spreadsheets.rejected_workbook(
                job.headings, [r async for r in service.rejected_rows(session, job)]
            )
        )
    )
    sheet = workbook.active
    assert sheet is not None
    cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert cells[0][-2:] == ["行号 / Row", "原因 / Reason"]
    assert [c[0] for c in cells[1:]] == [bad_uscc, dup, rows[5][0], rows[6][0]]
    assert [c[-2] for c in cells[1:]] == [3, 5, 6, 7]


async def test_dry_run_writes_nothing_and_reports_what_would_change(
    session: AsyncSession, office: Principal
) -> None:
    existing, new = new_uscc(), new_uscc()
    await run_import(session, office, xlsx(roster(existing)))
    before = len(await emitted(session))
    rows = roster(existing, new)
    rows[1][1] = "改名文具有限公司"
    job, outcomes = await run_import(session, office, xlsx(rows), dry_run=True)
    assert job.dry_run and job.status == "done"
    assert [(o.outcome, o.changed) for o in outcomes] == [("updated", ["name"]), ("created", [])]
    assert await session.get(Enterprise, new) is None
    renamed = await session.get(Enterprise, existing)
    assert renamed is not None
    await session.refresh(renamed)
    assert renamed.name == "宁海第0文具有限公司"
    assert len(await emitted(session)) == before


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b"", 422),
        (xlsx([]), 422),
        (xlsx([["企业名称"], ["只有名称"]]), 422),  # no USCC column
        (b"%PDF-1.7\n\x00\x00\x01", 415),
        (b"x" * (service.MAX_FILE_BYTES + 1), 413),
    ],
)
async def test_files_refused_at_submission(
    session: AsyncSession, office: Principal, content: bytes, status: int
) -> None:
    with pytest.raises(ProblemError) as caught:
        await service.submit(
            session,
            content=content,
            filename=None,
            kind=Kind.enterprises,
            dry_run=False,
            principal=office,
        )
    assert caught.value.status == status
    assert await session.scalar(select(ImportJob.id)) is None


async def test_surveys_by_year_need_a_registered_enterprise(
    session: AsyncSession, office: Principal
) -> None:
    known = new_uscc()
    await run_import(session, office, xlsx(roster(known, year=2023)))
    rows: list[list[object]] = [
        ["统一社会信用代码", "年度", "从业人数", "年度出口额（美元）"],
        [known, 2023, 80, 1_000_000],  # employees new, exports as before
        [known, 2022, 70, 900_000],
        [new_uscc(), 2022, 5, 5],
    ]
    _job, outcomes = await run_import(session, office, gb18030_csv(rows), Kind.surveys)
    assert [(o.row, o.outcome, o.field) for o in outcomes] == [
        (2, "updated", None),
        (3, "created", None),
        (4, "rejected", "uscc"),
    ]
    assert outcomes[0].changed == ["employees"]
    assert outcomes[2].reason_zh == "企业未登记：请先导入企业名录"
    surveys = (await session.scalars(select(Survey).where(Survey.uscc == known))).all()
    assert sorted((s.year, s.employees, s.annual_export_usd) for s in surveys) == [
        (2022, 70, 900_000),
        (2023, 80, 1_000_000),
    ]


async def test_memberships_apply_and_admit_in_bulk(
    session: AsyncSession, office: Principal, zone: str
) -> None:
    a, b = new_uscc(), new_uscc()
    await run_import(session, office, xlsx(roster(a, b)))
    rows: list[list[object]] = [
        ["统一社会信用代码", "示范区代码", "决定"],
        [a, zone, "准入"],
        [b, zone, "申请"],
        [a, "no-such-zone", "申请"],
    ]
    job, outcomes = await run_import(session, office, xlsx(rows), Kind.memberships)
    assert [(o.row, o.outcome) for o in outcomes] == [
        (2, "created"),
        (3, "created"),
        (4, "rejected"),
    ]
    assert "no-such-zone" in (outcomes[2].reason_en or "")
    statuses = dict(
        (
            await session.execute(
                select(Membership.uscc, Membership.status).where(Membership.zone_code == zone)
            )
        ).all()
    )
    assert statuses == {a: "admitted", b: "applied"}
    before = len(await emitted(session))
    job, outcomes = await run_import(session, office, xlsx(rows[:3]), Kind.memberships)
    assert job.counts["unchanged"] == 2 and len(await emitted(session)) == before


async def test_a_job_whose_worker_died_is_resumed_where_it_stopped(
    session: AsyncSession, office: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    usccs = [new_uscc() for _ in range(5)]
    monkeypatch.setattr(service, "BATCH", 2)
    job = await service.submit(
        session,
        content=xlsx(roster(*usccs)),
        filename=None,
        kind=Kind.enterprises,
        dry_run=False,
        principal=office,
    )
    # another worker claimed it, settled the first two rows and died
    job.status, job.worker, job.next_row, job.attempts = "running", "dead-worker", 2, 1
    job.lease_until = utcnow() - service.LEASE
    job.counts = {**job.counts, "rows": 2, "created": 2}
    await session.commit()
    assert session.bind is not None
    maker = async_sessionmaker(bind=session.bind, join_transaction_mode="create_savepoint")
    assert await service.process_jobs(maker) == 1
    await session.refresh(job)
    assert (job.status, job.attempts, job.next_row) == ("done", 2, 5)
    assert job.counts["created"] == 5
    assert [await session.get(Enterprise, u) is not None for u in usccs] == [
        False,
        False,
        True,
        True,
        True,
    ]


async def test_a_batch_mixing_new_known_and_repeated_enterprises(
    session: AsyncSession, office: Principal
) -> None:
    known = new_uscc()
    await run_import(session, office, xlsx(roster(known, year=2023)))
    before = len(await emitted(session))
    new = new_uscc()
    rows: list[list[object]] = [
        HEADINGS,
        [new, "新企业", "", "文具", 2023, 10],
        [known, "宁海第0文具有限公司", "张三", "文具", 2024, 20],  # known: a new year
        [new, "新企业", "", "文具", 2024, 30],  # new again: its second year, after the first
    ]
    _job, outcomes = await run_import(session, office, xlsx(rows))
    assert [(o.row, o.outcome, o.changed) for o in outcomes] == [
        (2, "created", []),
        (3, "updated", ["survey.2024"]),
        (4, "updated", ["survey.2024"]),
    ]
    years = (await session.scalars(select(Survey.year).where(Survey.uscc == new))).all()
    assert sorted(years) == [2023, 2024]
    events = [(t, s) for t, s, _ in await emitted(session)][before:]
    assert [t for t, s in events if s == new] == [
        "registry.enterprise.registered.v1",
        "registry.survey.recorded.v1",
        "registry.survey.recorded.v1",
    ]
    assert [t for t, s in events if s == known] == ["registry.survey.recorded.v1"]


async def test_jobs_listed_newest_first_filtered_each_agency_its_own(
    session: AsyncSession, office: Principal
) -> None:
    customs = Principal(subject="c", scopes=frozenset({"registry:write"}), agency="customs")
    first, _ = await run_import(session, customs, xlsx(roster(new_uscc())))
    second, _ = await run_import(session, office, xlsx(roster(new_uscc())), dry_run=True)
    queued = await service.submit(
        session,
        content=gb18030_csv([["统一社会信用代码", "年度"], [new_uscc(), 2024]]),
        filename=None,
        kind=Kind.surveys,
        dry_run=False,
        principal=office,
    )
    page = PageParams(cursor=None, limit=2)

    async def ids(principal: Principal, **filters: object) -> list[object]:
        found, _ = await service.search(
            session,
            principal=principal,
            page=page,
            kind=filters.get("kind"),  # type: ignore[arg-type]
            status=filters.get("status"),  # type: ignore[arg-type]
        )
        return [j.id for j in found]

    listed, cursor = await service.search(
        session, principal=office, page=page, kind=None, status=None
    )
    assert [j.id for j in listed] == [queued.id, second.id] and cursor is not None
    rest, end = await service.search(
        session,
        principal=office,
        page=PageParams(cursor=decode_cursor(cursor), limit=2),
        kind=None,
        status=None,
    )
    assert [j.id for j in rest] == [first.id] and end is None
    assert await ids(office, kind=Kind.surveys) == [queued.id]
    assert await ids(office, status="queued") == [queued.id]
    assert await ids(office, kind=Kind.enterprises, status="done") == [second.id, first.id]
    assert await ids(customs) == [first.id]  # an agency sees its own agency's jobs only


async def test_a_job_is_read_by_its_agency_and_admins_only(session: AsyncSession) -> None:
    """An admin's job without an agency is not every agency-less caller's: an enterprise or
    an inspector token reads no job, another agency or a client without one not this one
    (404 all), and the list shows a client without an agency nothing."""
    admin = Principal(subject="root", scopes=frozenset({"admin"}))
    job, _ = await run_import(session, admin, xlsx(roster(new_uscc())), dry_run=True)
    assert (await service.get(session, job.id, principal=admin)).id == job.id
    for stranger in (
        Principal(subject="e", scopes=frozenset({"registry:read"}), uscc=new_uscc()),
        Principal(subject="i", scopes=frozenset({"registry:read"}), inspector_id="i-1"),
        Principal(subject="c", scopes=frozenset({"registry:read"}), agency="customs"),
    ):
        with pytest.raises(NotFound):
            await service.get(session, job.id, principal=stranger)
    nobody = Principal(subject="n", scopes=frozenset({"registry:read"}))  # no agency, no admin
    with pytest.raises(NotFound):
        await service.get(session, job.id, principal=nobody)
    page = PageParams(cursor=None, limit=500)
    listed, _ = await service.search(session, principal=nobody, page=page, kind=None, status=None)
    assert listed == []
