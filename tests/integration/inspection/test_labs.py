"""The public testing platform: labs registered with their accreditation, test requests
checked against it, moved by the lab's operator and announced; what is refused."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.db import utcnow
from kit.events import AgencyRegistered, BatchRecorded
from kit.problems import Conflict, NotFound, ProblemError
from services.inspection import consumers
from services.inspection.labs import models, schemas, service
from services.inspection.labs.schemas import LabIn, ResultIn
from tests.helpers import new_uscc
from tests.integration.conftest import emitted
from tests.integration.inspection.conftest import event

CIQ = Principal(subject="ciq-lab-staff", scopes=frozenset({"inspection:write"}), agency="ciq")


def _lab(cnas: str, **fields: object) -> LabIn:
    today = utcnow().date()
    return LabIn.model_validate(
        {
            "name": "宁波检验检疫科学技术研究院",
            "cnas_number": cnas,
            "agency": "ciq",
            "scope": [
                {"hs_prefix": "9405", "standard": "GB 7000.1", "title": "灯具安全"},
                {"product": "LED 灯具", "standard": "EN 60598-1:2015"},
            ],
            "valid_from": today - timedelta(days=365),
            "valid_to": today + timedelta(days=365),
            **fields,
        }
    )


async def _agency(session: AsyncSession, code: str = "ciq") -> None:
    agency = AgencyRegistered(
        code=code, name_zh="宁波海关技术中心", name_en="CIQ", group_role="member"
    )
    await consumers.on_agency(
        session, agency, event("registry", "registry.agency.registered.v1", code, agency)
    )


async def _batch(session: AsyncSession, uscc: str, number: str) -> uuid.UUID:
    """An export batch mirrored from registry's announcement."""
    batch = BatchRecorded(
        batch_id=str(uuid.uuid4()),
        uscc=uscc,
        number=number,
        kind="export",
        product="LED 灯具",
        hs_code="9405420000",
        destination="DE",
    )
    await consumers.on_batch(
        session, batch, event("registry", "registry.batch.recorded.v1", uscc, batch)
    )
    return uuid.UUID(batch.batch_id)


def _enterprise(uscc: str) -> Principal:
    return Principal(subject=f"user-{uscc}", scopes=frozenset({"inspection:write"}), uscc=uscc)


async def test_a_lab_is_run_by_a_member_agency_and_its_accreditation_number_is_its_own(
    session: AsyncSession,
) -> None:
    with pytest.raises(NotFound):  # no agency announced yet
        await service.create_lab(session, lab_in=_lab("CNASL5821"))
    await _agency(session)

    lab = await service.create_lab(session, lab_in=_lab("CNASL5821"))
    row = await session.get_one(models.Lab, lab.id)
    assert (row.cnas_number, row.agency, len(row.scope)) == ("CNAS L5821", "ciq", 2)
    assert await emitted(session) == [
        (
            "inspection.lab.registered.v1",
            str(lab.id),
            {
                "lab_id": str(lab.id),
                "name": "宁波检验检疫科学技术研究院",
                "cnas_number": "CNAS L5821",
                "cma_number": None,
                "agency": "ciq",
                "valid_from": row.valid_from.isoformat(),
                "valid_to": row.valid_to.isoformat(),
                "scope_entries": 2,
                "active": True,
            },
        )
    ]
    with pytest.raises(Conflict):  # the same number, written as the certificate does
        await service.create_lab(session, lab_in=_lab("CNAS L5821", name="另一实验室"))


async def test_a_test_request_goes_from_requested_to_a_passed_report(
    session: AsyncSession,
) -> None:
    await _agency(session)
    lab = await service.create_lab(session, lab_in=_lab("CNAS L5822"))
    uscc = new_uscc()
    batch_id = await _batch(session, uscc, "NB-2026-0815")

    asked = schemas.TestRequestIn(lab_id=lab.id, batch_id=batch_id, standard="GB 7000.1-2015")
    request = await service.create_request(session, request_in=asked, principal=_enterprise(uscc))
    assert (request.hs_code, request.product, request.status) == (
        "9405420000",
        "LED 灯具",
        "requested",
    )
    await service.accept(session, request, CIQ)
    report = ResultIn.model_validate(
        {
            "outcome": "pass",
            "report_number": " WT2026-0815 ",
            "values": [{"item": "耐压试验", "value": "1500 V 1 min 无击穿", "outcome": "pass"}],
        }
    )
    await service.record_result(session, request, CIQ, result=report)

    row = await session.get_one(models.TestRequest, request.id, populate_existing=True)
    assert (row.status, row.outcome, row.report_number, row.version) == (
        "tested",
        "pass",
        "WT2026-0815",
        3,
    )
    assert row.signal_id is None and row.decided_by == "ciq-lab-staff"
    events = [(t, s, d) for t, s, d in await emitted(session) if t.startswith("inspection.test.")]
    assert [(t, s, d["status"]) for t, s, d in events] == [
        ("inspection.test.requested.v1", uscc, "requested"),
        ("inspection.test.accepted.v1", uscc, "accepted"),
        ("inspection.test.completed.v1", uscc, "tested"),
    ]
    completed = events[-1][2]
    assert (completed["outcome"], completed["severity"], completed["agency"]) == (
        "pass",
        "general",
        "ciq",
    )
    assert (completed["report_number"], completed["batch_id"]) == ("WT2026-0815", str(batch_id))

    again = await service.create_request(session, request_in=asked, principal=_enterprise(uscc))
    await service.accept(session, again, CIQ)
    same_report = report.model_copy(update={"report_number": "wt2026-0815"})
    with pytest.raises(Conflict):  # one report number per lab, whatever its case
        await service.record_result(session, again, CIQ, result=same_report)


async def test_requests_outside_the_scope_or_out_of_turn_are_refused(
    session: AsyncSession,
) -> None:
    await _agency(session)
    lab = await service.create_lab(session, lab_in=_lab("CNAS L5823"))
    uscc = new_uscc()
    batch_id = await _batch(session, uscc, "NB-2026-0816")
    user = _enterprise(uscc)

    outside = schemas.TestRequestIn(lab_id=lab.id, batch_id=batch_id, standard="IEC 62471:2006")
    with pytest.raises(ProblemError) as unaccredited:
        await service.create_request(session, request_in=outside, principal=user)
    assert unaccredited.value.slug == "validation"
    assert unaccredited.value.extensions["missing_scope"]["standard"] == "IEC 62471:2006"
    asked = schemas.TestRequestIn(lab_id=lab.id, batch_id=batch_id, standard="EN 60598-1:2015")
    with pytest.raises(ProblemError) as not_theirs:
        await service.create_request(session, request_in=asked, principal=_enterprise(new_uscc()))
    assert not_theirs.value.slug == "forbidden"

    request = await service.create_request(session, request_in=asked, principal=user)
    report = ResultIn.model_validate(
        {
            "outcome": "pass",
            "report_number": "WT2026-0900",
            "values": [{"item": "光生物安全", "value": "RG0", "outcome": "pass"}],
        }
    )
    with pytest.raises(ProblemError) as not_accepted:
        await service.record_result(session, request, CIQ, result=report)
    assert not_accepted.value.slug == "illegal-transition"
    assert not_accepted.value.detail_zh == "状态为“已申请”的检测申请不能录入检测结果"
    samr = Principal(subject="samr-staff", scopes=frozenset({"inspection:write"}), agency="samr")
    with pytest.raises(ProblemError) as not_the_operator:
        await service.accept(session, request, samr)
    assert not_the_operator.value.slug == "forbidden"
    assert request.status == "requested"
    assert [t for t, _, _ in await emitted(session) if t.startswith("inspection.test.")] == [
        "inspection.test.requested.v1"
    ]
