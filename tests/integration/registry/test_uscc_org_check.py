"""The GB 11714 check of the organisation code embedded in a USCC, as the registry enforces
it for new registrations (REGISTRY_USCC_ORG_CHECK, on by default), and the demo seed's
codes under it."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from deploy.seed import _seed
from kit.auth import Principal
from kit.problems import ProblemError
from kit.uscc import check_char, org_check_char, validate_organisation_code
from services.registry.config import settings
from services.registry.enterprises import service
from services.registry.enterprises.models import Enterprise
from services.registry.enterprises.schemas import EnterpriseIn
from services.registry.imports.rows import Kind
from tests.helpers import enterprise_body, new_uscc, xlsx
from tests.integration.conftest import emitted
from tests.integration.registry.test_imports import HEADINGS, run_import


def without_org_check(uscc: str) -> str:
    """`uscc` with a wrong organisation-code check character and a right 18th one: a code
    GB 32100's own check passes."""
    wrong = "0" if org_check_char(uscc[8:16]) != "0" else "1"
    body = uscc[:16] + wrong
    return body + check_char(body)


def _enterprise(uscc: str) -> EnterpriseIn:
    return EnterpriseIn.model_validate(enterprise_body(uscc))


async def test_a_new_code_failing_the_organisation_check_is_refused_naming_uscc(
    session: AsyncSession,
) -> None:
    uscc = without_org_check(new_uscc())
    with pytest.raises(ProblemError) as caught:
        await service.register(session, enterprise_in=_enterprise(uscc))
    problem = caught.value
    assert problem.status == 422
    [error] = problem.extensions["errors"]
    assert error["field"] == "uscc"
    assert "organisation code" in error["reason"] and "GB 11714" in error["reason"]
    assert "组织机构代码校验码错误" in error["reason_zh"]
    assert await session.get(Enterprise, uscc) is None
    assert await emitted(session) == []


async def test_the_setting_off_accepts_a_code_whose_own_check_is_right(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "uscc_org_check", False)
    uscc = without_org_check(new_uscc())
    await service.register(session, enterprise_in=_enterprise(uscc))
    assert await session.get(Enterprise, uscc) is not None


async def test_an_import_refuses_the_new_row_and_keeps_the_others(
    session: AsyncSession, office: Principal
) -> None:
    good, bad = new_uscc(), without_org_check(new_uscc())
    rows = [
        HEADINGS,
        [good, "宁海好文具有限公司", "王五", "文具", 2024, 10],
        [bad, "宁海错码文具有限公司", "", "文具", 2024, 10],
    ]
    job, outcomes = await run_import(session, office, xlsx(rows), Kind.enterprises)
    assert job.counts is not None and job.counts["created"] == 1 and job.counts["rejected"] == 1
    [rejected] = [o for o in outcomes if o.outcome == "rejected"]
    assert (rejected.row, rejected.field) == (3, "uscc")
    assert "组织机构代码" in (rejected.reason_zh or "")
    assert "organisation code" in (rejected.reason_en or "")
    assert await session.get(Enterprise, bad) is None


async def test_every_seeded_code_carries_the_organisation_check(session: AsyncSession) -> None:
    await _seed(session, per_industry=3)
    codes = list(await session.scalars(select(Enterprise.uscc)))
    assert len(codes) == 24
    assert [validate_organisation_code(c) for c in codes] == codes
