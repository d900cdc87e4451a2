"""Labs and test requests: accreditation checked at request time, results linked to the
batch, a failed result recorded as a risk signal (and so matched and raised as an alert)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.bulk import Lines
from kit.db import get_or_404, utcnow
from kit.events import LabChanged, LabTestChanged
from kit.pagination import PageParams, encode_cursor, keyset_page
from kit.problem_text import FIELD_LABELS
from kit.problems import Conflict, ProblemError, invalid
from kit.uscc import normalize
from kit.validation import CHINA
from kit.vocabulary import STATUSES, name
from services.inspection.directory.models import AgencyMirror
from services.inspection.events import publish
from services.inspection.labs import scope as scopes
from services.inspection.labs.models import Lab, TestRequest
from services.inspection.labs.schemas import (
    LabIn,
    LabOut,
    LabPatch,
    ResultIn,
    TestRequestIn,
    TestStatus,
)
from services.inspection.risk import matching
from services.inspection.risk import signals as risk_signals
from services.inspection.risk.models import BatchMirror
from services.inspection.risk.schemas import SignalIn, SignalKind

# A failed lab test enters risk early warning as a `lab_test` signal about its batch: its
# alert is as severe as the result (a serious failure blocks honours as an open serious
# alert), and credit does not count the signal (the test result itself is the fact, from
# inspection.test.completed).
FAILED_TEST_KIND = SignalKind.lab_test
FAILED_TEST_RISK = "检测不合格 lab test failed"
MAX_SCANNED = 10_000  # labs read for a scope search
REPORT_NUMBER_INDEX = "uq_test_requests_lab_id_report_number_ci"


def _today() -> date:
    """Today in Ninghai: accreditations are valid per calendar day in China."""
    return utcnow().astimezone(CHINA).date()


def accreditation(lab: Lab) -> str:
    """How a lab's accreditation is named in messages: CNAS and/or CMA numbers."""
    numbers = [n for n in (lab.cnas_number, lab.cma_number and f"CMA {lab.cma_number}") if n]
    return " / ".join(numbers) or lab.name


def lab_out(lab: Lab) -> LabOut:
    """The API view, with `valid_today`."""
    out = LabOut.model_validate(lab)
    out.valid_today = lab.active and lab.valid_from <= _today() <= lab.valid_to
    return out


async def _announce_lab(session: AsyncSession, lab: Lab, verb: str) -> None:
    await publish(
        session,
        f"inspection.lab.{verb}.v1",
        str(lab.id),
        LabChanged(
            lab_id=str(lab.id),
            name=lab.name,
            cnas_number=lab.cnas_number,
            cma_number=lab.cma_number,
            agency=lab.agency,
            valid_from=lab.valid_from,
            valid_to=lab.valid_to,
            scope_entries=len(lab.scope),
            active=lab.active,
        ),
    )


async def _ensure_numbers_free(
    session: AsyncSession, cnas: str | None, cma: str | None, lab_id: uuid.UUID | None = None
) -> None:
    clauses = []
    if cnas:
        clauses.append(Lab.cnas_number == cnas)
    if cma:
        clauses.append(Lab.cma_number == cma)
    if not clauses:
        return
    query = select(Lab.id).where(or_(*clauses))
    if lab_id is not None:
        query = query.where(Lab.id != lab_id)
    other = await session.scalar(query.limit(1))
    if other is not None:
        raise Conflict(
            "another lab holds this CNAS or CMA number",
            detail_zh="另一家实验室已使用此 CNAS 或 CMA 编号",
            lab_id=str(other),
        )


async def _ensure_known_agency(session: AsyncSession, agency: str | None) -> None:
    """A lab's operator is a member agency registry announced (404 like registry's own
    references): a code no agency holds would leave its requests movable by the office alone."""
    if agency is not None:
        await get_or_404(session, AgencyMirror, agency, "agency")


def _normalised(lab_in: LabIn | LabPatch) -> dict[str, Any]:
    values = lab_in.model_dump(exclude_unset=isinstance(lab_in, LabPatch))
    if values.get("cnas_number"):
        values["cnas_number"] = "CNAS " + values["cnas_number"].removeprefix("CNAS").strip()
    if lab_in.scope is not None:
        values["scope"] = [e.model_dump(exclude_none=True) for e in lab_in.scope]
    return values


async def create_lab(session: AsyncSession, *, lab_in: LabIn) -> Lab:
    """Register a lab; a CNAS or CMA number another lab holds is a 409, an operating agency
    that is not a member agency a 404."""
    values = _normalised(lab_in)
    await _ensure_known_agency(session, values.get("agency"))
    await _ensure_numbers_free(session, values.get("cnas_number"), values.get("cma_number"))
    lab = Lab(**values)
    session.add(lab)
    await session.flush()
    await _announce_lab(session, lab, "registered")
    return lab


async def get_lab(session: AsyncSession, lab_id: uuid.UUID, *, for_update: bool = False) -> Lab:
    """One lab, or 404."""
    return await get_or_404(session, Lab, lab_id, "lab", for_update=for_update)


async def update_lab(session: AsyncSession, lab: Lab, patch: LabPatch) -> Lab:
    """Change a lab's accreditation or details."""
    values = _normalised(patch)
    await _ensure_numbers_free(
        session, values.get("cnas_number"), values.get("cma_number"), lab_id=lab.id
    )
    valid_from = values.get("valid_from", lab.valid_from)
    valid_to = values.get("valid_to", lab.valid_to)
    if valid_to < valid_from:
        raise invalid("valid_to", "must not be before valid_from", "不能早于有效期起始日期")
    if not (values.get("cnas_number", lab.cnas_number) or values.get("cma_number", lab.cma_number)):
        raise invalid(
            "cnas_number", "a lab needs a CNAS or a CMA number", "实验室须有 CNAS 或 CMA 编号"
        )
    for attribute, value in values.items():
        setattr(lab, attribute, value)
    lab.version += 1
    await session.flush()
    await _announce_lab(session, lab, "updated")
    return lab


async def search_labs(
    session: AsyncSession,
    *,
    page: PageParams,
    hs_code: str | None,
    standard: str | None,
    valid_today: bool | None,
) -> tuple[list[Lab], str | None]:
    """Labs by id; with `hs_code` and `standard`, only those accredited for both today."""
    query = select(Lab)
    today = _today()
    if valid_today is not None:
        current = Lab.active & (Lab.valid_from <= today) & (Lab.valid_to >= today)
        query = query.where(current if valid_today else ~current)
    if not (hs_code or standard):
        return await keyset_page(session, query, keys=[Lab.id], page=page)
    # A county has tens of labs: the scope (normalised standards, HS prefixes) is matched
    # here rather than in SQL, on the labs after the cursor.
    if page.cursor is not None:
        try:
            query = query.where(Lab.id > uuid.UUID(str(page.cursor["id"])))
        except (KeyError, ValueError) as exc:
            raise ProblemError(
                "bad-request",
                "cursor is not one this list issued",
                detail_zh="翻页游标不是本列表签发的",
            ) from exc
    matching = [
        lab
        for lab in await session.scalars(query.order_by(Lab.id).limit(MAX_SCANNED))
        if any(
            (not standard or scopes.standard_covers(e["standard"], standard))
            and (not hs_code or scopes.product_covers(e, hs_code, None))
            for e in lab.scope
        )
    ]
    if len(matching) <= page.limit:
        return matching, None
    rows = matching[: page.limit]
    return rows, encode_cursor({"id": str(rows[-1].id)})


# --- test requests -------------------------------------------------------------------------


def _event(request: TestRequest, lab: Lab, summary: str, severity: str | None) -> LabTestChanged:
    return LabTestChanged(
        request_id=str(request.id),
        uscc=request.uscc,
        lab_id=str(lab.id),
        lab_name=lab.name,
        agency=lab.agency,
        batch_id=str(request.batch_id),
        batch_number=request.batch_number,
        hs_code=request.hs_code,
        standard=request.standard,
        status=request.status,  # type: ignore[arg-type]
        outcome=request.outcome,  # type: ignore[arg-type]
        severity=severity,  # type: ignore[arg-type]
        report_number=request.report_number,
        tested_at=request.tested_at,
        signal_id=str(request.signal_id) if request.signal_id else None,
        summary=summary,
    )


VERBS = {
    "requested": "requested",
    "accepted": "accepted",
    "rejected": "rejected",
    "tested": "completed",
}


async def _announce(
    session: AsyncSession, request: TestRequest, lab: Lab, severity: str | None = None
) -> None:
    what = f"{lab.name} · {request.standard} · batch {request.batch_number}"
    if request.outcome:
        what += f" · {request.outcome} ({request.report_number})"
    await publish(
        session,
        f"inspection.test.{VERBS[request.status]}.v1",
        request.uscc,
        _event(request, lab, what, severity),
    )


async def create_request(
    session: AsyncSession, *, request_in: TestRequestIn, principal: Principal
) -> TestRequest:
    """An enterprise's request for one of its export batches; the lab must be accredited
    today for the product and standard (422 naming the missing scope)."""
    lab = await get_lab(session, request_in.lab_id)
    batch = await get_or_404(session, BatchMirror, request_in.batch_id, "export batch")
    if not principal.can_act_for(batch.uscc):
        raise ProblemError(
            "forbidden",
            "an enterprise requests tests of its own batches only",
            detail_zh="企业只能为本企业的批次申请检测",
        )
    if principal.uscc is None and not principal.is_admin:
        # an agency or inspector token would be requesting in the enterprise's name
        raise ProblemError(
            "forbidden",
            "an enterprise (or the office for it) requests tests",
            detail_zh="检测须由企业（或示范区办公室代为）申请",
        )
    hs_code = request_in.hs_code or batch.hs_code
    if hs_code is None:
        raise invalid(
            "hs_code",
            f"batch {batch.number} has no HS code: name the product's",
            f"批次 {batch.number} 没有 HS 编码：请填写产品的 HS 编码",
        )
    if request_in.hs_code and batch.hs_code and request_in.hs_code[:6] != batch.hs_code[:6]:
        raise invalid(
            "hs_code",
            f"batch {batch.number} is HS {batch.hs_code}",
            f"批次 {batch.number} 的 HS 编码为 {batch.hs_code}",
        )
    product = request_in.product or batch.product
    missing = scopes.missing_scope(
        scope=lab.scope,
        valid_from=lab.valid_from,
        valid_to=lab.valid_to,
        active=lab.active,
        hs_code=hs_code,
        product=product,
        standard=request_in.standard,
        on=_today(),
        accreditation=accreditation(lab),
    )
    if missing is not None:
        raise ProblemError(
            "validation",
            f"{missing.field}: {missing.reason}",
            detail_zh=f"{FIELD_LABELS.get(missing.field, missing.field)}：{missing.reason_zh}",
            errors=[
                {"field": missing.field, "reason": missing.reason, "reason_zh": missing.reason_zh}
            ],
            missing_scope={"hs_code": hs_code, "product": product, "standard": request_in.standard},
        )
    request = TestRequest(
        uscc=batch.uscc,
        lab_id=lab.id,
        batch_id=batch.id,
        batch_number=batch.number,
        hs_code=hs_code,
        product=product,
        standard=request_in.standard.strip(),
        note=request_in.note,
        status=TestStatus.requested.value,
        requested_by=principal.subject,
        requested_at=utcnow(),
        values=[],
    )
    session.add(request)
    await session.flush()
    await _announce(session, request, lab)
    return request


async def get_request(
    session: AsyncSession, request_id: uuid.UUID, *, for_update: bool = False
) -> TestRequest:
    """One request, or 404."""
    return await get_or_404(session, TestRequest, request_id, "test request", for_update=for_update)


def ensure_may_see(principal: Principal, request: TestRequest) -> None:
    """An enterprise sees its own requests; inspectors none (not their task)."""
    if not principal.can_act_for(request.uscc):
        raise ProblemError(
            "forbidden",
            "an enterprise sees only its own test requests",
            detail_zh="企业只能查看本企业的检测申请",
        )
    if principal.inspector_id is not None:
        raise ProblemError(
            "forbidden",
            "test requests are the enterprise's and the lab's",
            detail_zh="检测申请只属于企业和实验室",
        )


async def ensure_may_move(session: AsyncSession, request: TestRequest, principal: Principal) -> Lab:
    """The request's lab, when the caller is its operating agency or an admin (else 403)."""
    lab = await get_lab(session, request.lab_id)
    ensure_lab_operator(principal, lab)
    return lab


def ensure_lab_operator(principal: Principal, lab: Lab) -> None:
    """The lab's operating agency (or an admin) accepts, rejects and records results."""
    if principal.is_admin:
        return
    if principal.uscc is not None or principal.inspector_id is not None:
        raise ProblemError(
            "forbidden",
            "the lab records this, not an enterprise or inspector",
            detail_zh="此项由实验室记录，而不是企业或检查员",
        )
    if lab.agency is None or principal.agency != lab.agency:
        raise ProblemError(
            "forbidden",
            f"only the lab's operator ({lab.agency or 'the office'}) may do this",
            detail_zh=f"只有实验室的运营部门（{lab.agency or '示范区办公室'}）可以执行此操作",
        )


async def search_requests(
    session: AsyncSession,
    *,
    page: PageParams,
    principal: Principal,
    uscc: str | None,
    lab_id: uuid.UUID | None,
    batch_id: uuid.UUID | None,
    status: str | None,
    outcome: str | None,
) -> tuple[list[TestRequest], str | None]:
    """Requests the caller may see, oldest first."""
    if principal.inspector_id is not None:
        raise ProblemError(
            "forbidden",
            "test requests are the enterprise's and the lab's",
            detail_zh="检测申请只属于企业和实验室",
        )
    query = select(TestRequest)
    uscc = principal.uscc or uscc
    if uscc:
        query = query.where(TestRequest.uscc == normalize(uscc))
    if lab_id:
        query = query.where(TestRequest.lab_id == lab_id)
    if batch_id:
        query = query.where(TestRequest.batch_id == batch_id)
    if status:
        query = query.where(TestRequest.status == status)
    if outcome:
        query = query.where(TestRequest.outcome == outcome)
    return await keyset_page(session, query, keys=[TestRequest.id], page=page)


def _expect(request: TestRequest, *allowed: TestStatus, doing: str, doing_zh: str) -> None:
    if request.status not in allowed:
        raise ProblemError(
            "illegal-transition",
            f"a test request that is {request.status} cannot be {doing}",
            detail_zh=f"状态为“{name(STATUSES, request.status)}”的检测申请不能{doing_zh}",
            status_now=request.status,
            allowed_from=[a.value for a in allowed],
        )


async def accept(session: AsyncSession, request: TestRequest, principal: Principal) -> TestRequest:
    """The lab takes the request (the sample is received)."""
    lab = await ensure_may_move(session, request, principal)
    _expect(request, TestStatus.requested, doing="accepted", doing_zh="受理")
    request.status = TestStatus.accepted.value
    request.accepted_at = utcnow()
    request.decided_by = principal.subject
    request.version += 1
    await session.flush()
    await _announce(session, request, lab)
    return request


async def reject(
    session: AsyncSession, request: TestRequest, principal: Principal, *, reason: str
) -> TestRequest:
    """The lab declines the request, before or after accepting it."""
    lab = await ensure_may_move(session, request, principal)
    _expect(request, TestStatus.requested, TestStatus.accepted, doing="rejected", doing_zh="退回")
    request.status = TestStatus.rejected.value
    request.reason = reason
    request.decided_by = principal.subject
    request.version += 1
    await session.flush()
    await _announce(session, request, lab)
    return request


async def record_result(
    session: AsyncSession, request: TestRequest, principal: Principal, *, result: ResultIn
) -> TestRequest:
    """The report of an accepted request, announced by `inspection.test.completed`; a fail is
    also recorded as a risk signal naming the batch, so it matches that batch exactly and
    raises an alert like any other signal."""
    lab = await ensure_may_move(session, request, principal)
    _expect(request, TestStatus.accepted, doing="given a result", doing_zh="录入检测结果")
    # once per lab, whatever the case: WT-1 and wt-1 are the same report (the database's
    # unique index on lab and lower(report_number) holds it against concurrent results)
    taken = await session.scalar(
        select(TestRequest.id).where(
            TestRequest.lab_id == lab.id,
            func.lower(TestRequest.report_number) == result.report_number.lower(),
        )
    )
    if taken is not None:
        raise _report_taken(result.report_number, taken)
    now = utcnow()
    request.status = TestStatus.tested.value
    request.outcome = result.outcome
    request.report_number = result.report_number
    request.values = [v.model_dump(exclude_none=True) for v in result.values]
    request.tested_at = min(result.tested_at or now, now)
    request.decided_by = principal.subject
    request.version += 1
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent result took the number first
        if REPORT_NUMBER_INDEX not in str(exc):
            raise
        raise _report_taken(result.report_number, None) from exc
    severity = "general"
    if result.outcome == "fail":
        signal = await _record_failure(session, request, lab, principal, result)
        request.signal_id = signal.id
        request.alert_id = signal.alert_id
        severity = matching.RISK_SEVERITY[result.risk_level]
    await session.flush()
    await _announce(session, request, lab, severity)
    return request


def _report_taken(report_number: str, taken: uuid.UUID | None) -> Conflict:
    extra = {"existing_test_request_id": str(taken)} if taken is not None else {}
    return Conflict(
        f"report {report_number} of this lab is already recorded",
        detail_zh=f"本实验室的报告 {report_number} 已记录",
        **extra,
    )


async def _record_failure(
    session: AsyncSession,
    request: TestRequest,
    lab: Lab,
    principal: Principal,
    result: ResultIn,
) -> Any:
    failing = "; ".join(
        f"{v.item}: {v.value}" + (f" (limit {v.limit})" if v.limit else "")
        for v in result.values
        if v.outcome == "fail"
    )
    batch = await session.get(BatchMirror, request.batch_id)
    assert batch is not None  # the request was made against it; mirrors are never deleted
    signal_in = SignalIn(
        kind=FAILED_TEST_KIND,
        reference=f"{accreditation(lab)} {result.report_number}"[:100],
        source_agency=lab.agency or principal.agency,
        notified_at=request.tested_at,
        risk_type=FAILED_TEST_RISK,
        risk_level=result.risk_level,  # type: ignore[arg-type]
        product=request.product,
        uscc=request.uscc,
        batch_number=batch.number,
        declaration_no=batch.declaration_no,
        hs_code=request.hs_code,
        destination=batch.destination,
        description=f"{lab.name} report {result.report_number} to {request.standard}: {failing}"[
            :4000
        ],
    )
    lines: Lines[SignalIn] = Lines(single=True, good=[(1, signal_in)], received=1)
    # recorded as the lab's agency (ensure_lab_operator: the caller is of it, or an admin)
    outcome, signals = await risk_signals.record_signals(session, lines, principal)
    if lines.errors:
        raise invalid("report_number", str(lines.errors[0]["errors"]))
    if not signals:  # the same report was recorded as a signal before: link to it
        return await risk_signals.get_signal(session, outcome.recorded[0].id)
    await session.flush()
    return await risk_signals.get_signal(session, signals[0].id)
