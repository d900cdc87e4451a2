"""The directory kept from registry's and credit's events (the consumers' handlers): who is
in which zone, at which level, and which recognised results may spare a check."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.events import (
    CreditFactRecorded,
    CreditLevelChanged,
    EnterpriseRegistered,
    MembershipChanged,
    RecognitionChanged,
    ZoneRegistered,
)
from kit.problems import ProblemError
from services.inspection import consumers
from services.inspection.directory import service as directory
from services.inspection.directory.models import DirectoryEntry, RecognitionMirror, ResultMirror
from tests.helpers import new_uscc
from tests.integration.conftest import emitted
from tests.integration.inspection.conftest import Listed, event


async def _entry(session: AsyncSession, uscc: str) -> DirectoryEntry:
    await session.flush()  # what the consumer's commit would write
    return await session.get_one(DirectoryEntry, uscc, populate_existing=True)


def _membership(uscc: str, zone: str, status: str) -> MembershipChanged:
    return MembershipChanged(
        membership_id=str(uuid.uuid4()), zone_code=zone, uscc=uscc, status=status, actor="office"
    )


async def test_zone_members_are_the_admitted_ones(session: AsyncSession) -> None:
    uscc = new_uscc()
    registered = EnterpriseRegistered(uscc=uscc, name="旧名称", industry="lighting")
    announcement = event("registry", "registry.enterprise.registered.v1", uscc, registered)
    await consumers.on_enterprise(session, registered, announcement)
    renamed = registered.model_copy(update={"name": "新名称", "industry": "hardware"})
    await consumers.on_enterprise(session, renamed, announcement)  # announced again

    for zone, member in (("lighting-p", True), ("hardware-p", True), ("lighting-p", False)):
        change = _membership(uscc, zone, "admitted" if member else "suspended")
        verb = "admitted" if member else "suspended"
        await consumers.on_membership(member)(
            session, change, event("registry", f"registry.membership.{verb}.v1", uscc, change)
        )

    entry = await _entry(session, uscc)
    assert (entry.name, entry.industry, entry.zones, entry.level) == (
        "新名称",
        "hardware",
        ["hardware-p"],
        "B",
    )
    stranger = new_uscc()  # registry's announcement not here yet: retried later
    early = _membership(stranger, "lighting-p", "admitted")
    with pytest.raises(LookupError):
        await consumers.on_membership(True)(
            session, early, event("registry", "registry.membership.admitted.v1", stranger, early)
        )
    assert await emitted(session) == []  # mirroring announces nothing


async def test_a_level_is_kept_by_credit_s_sequence_not_by_arrival(
    session: AsyncSession, listed: Listed
) -> None:
    uscc = await listed(level="C", sequence=5)

    def change(level: str, sequence: int) -> CreditLevelChanged:
        return CreditLevelChanged.model_validate(
            {"uscc": uscc, "to_level": level, "sequence": sequence, "model_version": 2}
        )

    late = change("A", 4)  # older, arriving after
    await consumers.on_level(session, late, event("credit", "credit.level.changed.v1", uscc, late))
    assert ((await _entry(session, uscc)).level, (await _entry(session, uscc)).level_seq) == (
        "C",
        5,
    )
    newer = change("D", 6)
    await consumers.on_level(
        session, newer, event("credit", "credit.level.changed.v1", uscc, newer)
    )
    entry = await _entry(session, uscc)
    assert (entry.level, entry.level_seq, entry.model_version) == ("D", 6, 2)

    unknown = CreditLevelChanged.model_validate(
        {"uscc": new_uscc(), "to_level": "D", "sequence": 1}
    )
    with pytest.raises(LookupError):
        await consumers.on_level(
            session, unknown, event("credit", "credit.level.changed.v1", unknown.uscc, unknown)
        )


async def test_recognitions_and_recognisable_results_are_mirrored(
    session: AsyncSession, listed: Listed
) -> None:
    uscc = await listed()
    recognition_id = str(uuid.uuid4())
    granted = RecognitionChanged(
        recognition_id=recognition_id,
        recognising_agency="customs",
        recognised_agency="samr",
        result_kind="inspection_result",
        valid_from=date(2026, 1, 1),
        valid_to=date(2026, 12, 31),
        status="active",
    )
    revoked = granted.model_copy(update={"status": "revoked"})
    for data, verb in ((granted, "granted"), (revoked, "revoked")):
        await consumers.on_recognition(
            session, data, event("credit", f"credit.recognition.{verb}.v1", "samr", data)
        )
    at = datetime.now(UTC) - timedelta(days=1)
    for kind in ("spot_check_pass", "penalty"):
        fact = CreditFactRecorded(
            fact_id=str(uuid.uuid4()),
            uscc=uscc,
            kind=kind,
            severity="general",
            source_agency="samr",
            occurred_at=at,
            checklist_items=["LED-01"],
        )
        await consumers.on_fact(
            session, fact, event("credit", "credit.fact.recorded.v1", uscc, fact)
        )

    mirror = await session.get_one(RecognitionMirror, uuid.UUID(recognition_id))
    assert (mirror.status, mirror.recognised_agency) == ("revoked", "samr")
    results = list(await session.scalars(select(ResultMirror).where(ResultMirror.uscc == uscc)))
    assert [(r.kind, r.agency, r.checklist_items) for r in results] == [
        ("spot_check_pass", "samr", ["LED-01"])
    ]


async def test_the_zones_registry_announced_are_the_ones_a_filter_accepts(
    session: AsyncSession,
) -> None:
    code = f"toys-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ProblemError) as unknown:
        await directory.known_zone(session, code)
    assert unknown.value.status == 422
    (error,) = unknown.value.extensions["errors"]
    assert (error["field"], error["type"]) == ("query.zone", "unknown_value")
    assert code not in error["allowed"]
    assert error["reason_zh"].startswith(f"没有此示范区“{code}”")

    planned = ZoneRegistered(
        code=code, level="provincial", industry="lighting", name_zh="玩具示范区", name_en="Toys"
    )
    announcement = event("registry", "registry.zone.registered.v1", code, planned)
    await consumers.on_zone(session, planned, announcement)
    await consumers.on_zone(session, planned, announcement)  # announced again: one row
    assert await directory.known_zone(session, code) == code
    assert await directory.known_zone(session, None) is None

    # a zone planned before zones were announced is learnt from its first admission
    older, uscc = f"older-{uuid.uuid4().hex[:8]}", new_uscc()
    registered = EnterpriseRegistered(uscc=uscc, name="宁海某厂", industry="lighting")
    await consumers.on_enterprise(
        session,
        registered,
        event("registry", "registry.enterprise.registered.v1", uscc, registered),
    )
    change = _membership(uscc, older, "admitted")
    await consumers.on_membership(True)(
        session, change, event("registry", "registry.membership.admitted.v1", uscc, change)
    )
    assert await directory.known_zone(session, older) == older
    with pytest.raises(ProblemError) as still_unknown:
        await directory.known_zone(session, "no-such-zone")
    assert {code, older} <= set(still_unknown.value.extensions["errors"][0]["allowed"])
