"""Inspector roster imports against the inspection database: a GB 18030 .csv and an .xlsx
with Chinese headings made here, each bad row rejected with its field and reasons in zh-CN
and en, a dry run writing nothing, a re-import changing nothing, a changed row updating the
officer, files refused whole, and the job list."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.feed_imports import import_file, search_jobs
from kit.pagination import PageParams, decode_cursor
from kit.problems import ProblemError
from services.inspection.inspector_imports.models import InspectorImport, InspectorImportOutcome
from services.inspection.inspector_imports.service import FEED
from services.inspection.inspectors.models import Inspector
from tests.helpers import gb18030_csv, xlsx

HEADINGS = ["执法证号", "姓名", "部门", "单位", "专业领域", "是否有效"]
ROSTER: list[list[object]] = [
    HEADINGS,
    ["IMP-0001", "王芳", "customs", "宁海办事处", "文具、模具", "是"],  # 2: created
    ["IMP-0002", "李强", "", "", "lighting", ""],  # 3: blank agency: the importer's
    ["IMP-0001", "王芳", "customs", "", "", ""],  # 4: duplicate of row 2
    ["IMP 3", "赵六", "customs", "", "", ""],  # 5: bad badge number
    ["IMP-0004", "", "customs", "", "", ""],  # 6: no name
    ["IMP-0005", "钱七", "customs", "", "纺织", ""],  # 7: unknown industry
    ["IMP-0006", "孙八", "tax_bureau", "", "", ""],  # 8: not a member agency
    ["IMP-0007", "周九", "customs", "", "", "也许"],  # 9: unknown active flag
]
AGENCY = Principal(
    subject="customs-staff", scopes=frozenset({"inspection:write"}), agency="customs"
)


async def run(
    session: AsyncSession, principal: Principal, content: bytes, *, dry_run: bool = False
) -> tuple[InspectorImport, list[InspectorImportOutcome]]:
    job: InspectorImport = await import_file(
        session,
        FEED,
        InspectorImport,
        InspectorImportOutcome,
        content=content,
        filename="检查员名录.csv",
        dry_run=dry_run,
        principal=principal,
    )
    outcomes = list(
        await session.scalars(
            select(InspectorImportOutcome)
            .where(InspectorImportOutcome.job_id == job.id)
            .order_by(InspectorImportOutcome.row)
        )
    )
    return job, outcomes


async def pool(session: AsyncSession) -> dict[str, Inspector]:
    found = await session.scalars(select(Inspector).where(Inspector.badge_number.like("IMP-%")))
    return {i.badge_number: i for i in found}


async def test_a_gb18030_roster_adds_officers_and_rejects_each_bad_row(
    session: AsyncSession,
) -> None:
    job, outcomes = await run(session, AGENCY, gb18030_csv(ROSTER))
    assert job.counts == {"rows": 8, "created": 2, "updated": 0, "unchanged": 0, "rejected": 6}
    assert job.kind == "inspectors" and job.agency == "customs" and job.unknown_headings == []
    assert [(o.row, o.outcome, o.field) for o in outcomes] == [
        (2, "created", None),
        (3, "created", None),
        (4, "rejected", "badge_number"),
        (5, "rejected", "badge_number"),
        (6, "rejected", "name"),
        (7, "rejected", "specialties"),
        (8, "rejected", "agency"),
        (9, "rejected", "active"),
    ]
    reasons = {o.row: (o.reason_zh, o.reason_en) for o in outcomes}
    assert reasons[4] == ("与第 2 行重复（执法证号相同）", "duplicate of row 2 (same badge_number)")
    assert reasons[6] == ("缺少必填项：姓名", "name is required")
    assert "纺织" in (reasons[7][0] or "") and "文具" in (reasons[7][0] or "")
    assert "unknown industry" in (reasons[7][1] or "")
    assert reasons[8][0] == "部门“tax_bureau”不是已登记的成员部门"
    assert outcomes[3].cells == ["IMP 3", "赵六", "customs", "", "", ""]
    officers = await pool(session)
    assert sorted(officers) == ["IMP-0001", "IMP-0002"]
    first = officers["IMP-0001"]
    assert (first.name, first.agency, first.unit, first.active) == (
        "王芳",
        "customs",
        "宁海办事处",
        True,
    )
    assert first.specialties == ["stationery", "molds"]
    assert officers["IMP-0002"].agency == "customs" and officers["IMP-0002"].unit is None


async def test_dry_run_then_import_then_reimport_then_a_changed_row(
    session: AsyncSession, office: Principal
) -> None:
    rows: list[list[object]] = [
        HEADINGS,
        ["IMP-0101", "吴一", "海关", "北仑", "五金", "在岗"],
        ["IMP-0102", "郑二", "customs", "", "", "否"],
    ]
    await _name_customs(session)
    dry, _ = await run(session, office, xlsx(rows), dry_run=True)
    assert dry.dry_run and dry.counts["created"] == 2 and dry.counts["rejected"] == 0
    assert await pool(session) == {}

    job, _ = await run(session, office, xlsx(rows))
    assert job.counts == dry.counts
    officers = await pool(session)
    assert officers["IMP-0101"].agency == "customs"  # the agency named in Chinese
    assert officers["IMP-0102"].active is False

    again, outcomes = await run(session, office, xlsx(rows))
    assert again.counts == {"rows": 2, "created": 0, "updated": 0, "unchanged": 2, "rejected": 0}
    assert outcomes == []  # unchanged rows are only counted
    assert (await pool(session))["IMP-0101"].version == 1

    rows[1] = ["IMP-0101", "吴一", "海关", "宁海", "五金、灯具", ""]  # blank active: kept
    changed, outcomes = await run(session, office, xlsx(rows))
    assert changed.counts["updated"] == 1 and changed.counts["unchanged"] == 1
    assert [(o.row, o.outcome, o.changed) for o in outcomes] == [
        (2, "updated", ["specialties", "unit"])
    ]
    updated = (await pool(session))["IMP-0101"]
    assert updated.unit == "宁海" and updated.specialties == ["hardware", "lighting"]
    assert updated.active is True and updated.version == 2


async def test_an_agency_imports_only_its_own_officers(
    session: AsyncSession, office: Principal
) -> None:
    rows: list[list[object]] = [
        HEADINGS,
        ["IMP-0201", "冯三", "samr", "", "", ""],
        ["IMP-0202", "陈四", "customs", "", "", ""],
    ]
    await run(session, office, xlsx([HEADINGS, ["IMP-0202", "陈四", "samr", "", "", ""]]))
    job, outcomes = await run(session, AGENCY, gb18030_csv(rows))
    assert job.counts["rejected"] == 2 and job.counts["created"] == 0
    forbidden, moved = outcomes
    assert forbidden.field is None and forbidden.reason_zh is not None
    assert "只有 samr" in forbidden.reason_zh and "only samr" in (forbidden.reason_en or "")
    assert moved.field == "agency" and moved.reason_en == (
        "badge number IMP-0202 is in the pool under samr"
    )


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b"", 422),  # empty: no heading row
        (gb18030_csv([["姓名", "部门"], ["王芳", "customs"]]), 422),  # no 执法证号 column
        (gb18030_csv([["执法证号", "Badge", "姓名"]]), 422),  # the badge column twice
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, 415),  # not a spreadsheet
        (b"a,b\n" + b"x" * (5 * 1024 * 1024), 413),  # above the feed limit
    ],
)
async def test_files_refused_whole(
    session: AsyncSession, office: Principal, content: bytes, status: int
) -> None:
    with pytest.raises(ProblemError) as caught:
        await run(session, office, content)
    assert caught.value.status == status
    assert await session.scalar(select(func.count()).select_from(InspectorImport)) == 0


async def test_jobs_listed_newest_first_each_agency_its_own(
    session: AsyncSession, office: Principal
) -> None:
    samr = Principal(subject="samr-staff", scopes=frozenset({"inspection:read"}), agency="samr")
    mine, _ = await run(session, AGENCY, xlsx([HEADINGS, ["IMP-0301", "褚五", "", "", "", ""]]))
    later, _ = await run(session, office, xlsx([HEADINGS]), dry_run=True)
    page = PageParams(cursor=None, limit=1)
    listed, cursor = await search_jobs(session, InspectorImport, office, page)
    assert [j.id for j in listed] == [later.id] and cursor is not None
    rest, _ = await search_jobs(
        session, InspectorImport, office, PageParams(cursor=decode_cursor(cursor), limit=1)
    )
    assert [j.id for j in rest] == [mine.id]
    assert [j.id for j in (await search_jobs(session, InspectorImport, AGENCY, page))[0]] == [
        mine.id
    ]
    assert (await search_jobs(session, InspectorImport, samr, page))[0] == []
    only_dry, _ = await search_jobs(session, InspectorImport, office, page, dry_run=True)
    assert [j.id for j in only_dry] == [later.id]
    enterprise = Principal(subject="e", scopes=frozenset({"inspection:read"}), uscc="X" * 18)
    with pytest.raises(ProblemError) as caught:
        await search_jobs(session, InspectorImport, enterprise, page)
    assert caught.value.status == 403


async def _name_customs(session: AsyncSession) -> None:
    """Customs as registry would name it, so a roster may say 海关."""
    from services.inspection.directory.models import AgencyMirror

    customs = await session.get(AgencyMirror, "customs")
    assert customs is not None
    customs.name_zh, customs.name_en = "海关", "Customs"
    await session.flush()
