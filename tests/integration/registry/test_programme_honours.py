"""Award rounds (推优评优): who may be nominated and granted — the round's zone, its allowed
credit levels, and the joint-punishment rule (联合惩戒) of an open serious alert, checked
again at the grant."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, Literal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.db import utcnow
from kit.events import AlertClosed, AlertRaised, CloudEvent, CreditLevelChanged
from kit.pagination import PageParams
from kit.problems import Conflict, ProblemError
from services.registry.consumers import on_credit_level_changed
from services.registry.enterprises.models import Enterprise
from services.registry.programme.honours import service
from services.registry.programme.honours.models import AwardNomination, AwardRound
from services.registry.programme.honours.schemas import AwardRoundIn, NominationIn
from services.registry.zones import service as zones
from services.registry.zones.schemas import ZoneIn
from tests.integration.conftest import emitted
from tests.integration.registry.conftest import enterprise_in_zone

ZONE = "lighting-provincial"
ADMIN = Principal(subject="office-admin", scopes=frozenset({"admin"}))
Level = Literal["A", "B", "C"]


async def _zone(session: AsyncSession) -> None:
    zone_in = {"code": ZONE, "name_zh": "灯具示范区", "name_en": "Lighting zone"}
    await zones.create(
        session,
        zone_in=ZoneIn.model_validate({**zone_in, "industry": "lighting", "level": "provincial"}),
    )


async def _enterprise(session: AsyncSession, level: Level | None, *, admitted: bool = True) -> str:
    """A registered enterprise, admitted to the zone, at `level` as credit announced it."""
    uscc = await enterprise_in_zone(session, ZONE if admitted else None)
    if level is not None:
        change = CreditLevelChanged(uscc=uscc, to_level=level, sequence=1)
        event = CloudEvent(
            source="/services/credit",
            type="credit.level.changed.v1",
            subject=uscc,
            data=change.model_dump(mode="json"),
        )
        await on_credit_level_changed(session, change, event)
        enterprise = await session.get_one(Enterprise, uscc)
        await session.refresh(enterprise)  # the consumer's UPDATE bypasses the identity map
        assert enterprise.credit_level == level
    return uscc


async def _round(session: AsyncSession, **fields: Any) -> AwardRound:
    round_in = AwardRoundIn.model_validate(
        {"title": "2026年度示范区优质企业", "year": 2026, **fields}
    )
    return await service.open_round(session, round_in=round_in, principal=ADMIN)


async def _nominate(session: AsyncSession, award_round: AwardRound, uscc: str) -> AwardNomination:
    return await service.nominate(
        session, award_round, nomination_in=NominationIn(uscc=uscc), principal=ADMIN
    )


async def _raise_serious_alert(session: AsyncSession, uscc: str) -> str:
    alert_id = str(uuid.uuid4())
    await service.alert_raised(
        session,
        AlertRaised(
            alert_id=alert_id,
            uscc=uscc,
            signal_kind="foreign_notification",
            severity="serious",
            agency="ciq",
            raised_at=utcnow() - timedelta(hours=1),
        ),
    )
    return alert_id


def _award_events(events: list[tuple[str, str, dict[str, Any]]]) -> list[tuple[str, str, str]]:
    changed = ("registry.award.nominated.v1", "registry.award.granted.v1")
    return [(t, s, d["status"]) for t, s, d in events if t in changed]


async def test_a_level_the_round_does_not_allow_blocks_the_nomination(
    session: AsyncSession,
) -> None:
    await _zone(session)
    award_round = await _round(session, zone_code=ZONE)  # A only by default
    rated_b, unrated = await _enterprise(session, "B"), await _enterprise(session, None)
    for uscc, shown in ((rated_b, "credit level B"), (unrated, "not yet rated")):
        with pytest.raises(Conflict) as refused:
            await _nominate(session, award_round, uscc)
        assert refused.value.extensions["rule"] == "credit_level"
        assert shown in refused.value.detail
    assert (await session.scalars(select(AwardNomination))).all() == []
    events = await emitted(session)
    opened = [(s, d) for t, s, d in events if t == "registry.award.opened.v1"]
    assert opened == [
        (
            str(award_round.id),
            {
                "round_id": str(award_round.id),
                "title": "2026年度示范区优质企业",
                "year": 2026,
                "allowed_levels": ["A"],
                "zone_code": ZONE,
                "industry": None,
            },
        )
    ]
    assert _award_events(events) == []


async def test_only_members_of_the_zone_are_nominated_and_only_once(session: AsyncSession) -> None:
    await _zone(session)
    award_round = await _round(session, zone_code=ZONE, allowed_levels=["B", "A"])
    assert award_round.allowed_levels == ["A", "B"]
    outsider = await _enterprise(session, "A", admitted=False)
    with pytest.raises(Conflict) as out_of_scope:
        await _nominate(session, award_round, outsider)
    assert out_of_scope.value.extensions["rule"] == "scope"

    member = await _enterprise(session, "B")
    nomination = await _nominate(session, award_round, member)
    assert (nomination.status, nomination.nominated_by) == ("nominated", "office-admin")
    with pytest.raises(Conflict):
        await _nominate(session, award_round, member)
    assert _award_events(await emitted(session)) == [
        ("registry.award.nominated.v1", member, "nominated")
    ]


async def test_an_open_serious_alert_blocks_the_grant_until_it_closes(
    session: AsyncSession,
) -> None:
    await _zone(session)
    award_round = await _round(session, zone_code=ZONE)
    uscc = await _enterprise(session, "A")
    await _nominate(session, award_round, uscc)
    alert_id = await _raise_serious_alert(session, uscc)
    with pytest.raises(Conflict) as punished:
        await service.grant(session, award_round, uscc, principal=ADMIN)
    assert punished.value.extensions["rule"] == "open_serious_alert"
    assert alert_id in punished.value.detail and "联合惩戒" in punished.value.detail
    nomination = await session.get(AwardNomination, (award_round.id, uscc))
    assert nomination is not None and nomination.status == "nominated"

    await service.alert_closed(
        session,
        AlertClosed(
            alert_id=alert_id, uscc=uscc, severity="serious", agency="ciq", closed_at=utcnow()
        ),
    )
    granted = await service.grant(session, award_round, uscc, principal=ADMIN)
    assert (granted.status, granted.granted_by) == ("granted", "office-admin")
    with pytest.raises(ProblemError) as again:
        await service.grant(session, award_round, uscc, principal=ADMIN)
    assert again.value.slug == "illegal-transition"
    assert _award_events(await emitted(session)) == [
        ("registry.award.nominated.v1", uscc, "nominated"),
        ("registry.award.granted.v1", uscc, "granted"),
    ]


async def test_candidates_are_split_by_what_blocks_them(session: AsyncSession) -> None:
    await _zone(session)
    award_round = await _round(session, zone_code=ZONE)
    clean, unrated, flagged = (
        await _enterprise(session, "A"),
        await _enterprise(session, None),
        await _enterprise(session, "A"),
    )
    await _enterprise(session, "A", admitted=False)  # outside the round's zone: not a candidate
    await _raise_serious_alert(session, flagged)
    await _nominate(session, award_round, clean)
    page = PageParams(cursor=None, limit=50)

    listed, _ = await service.candidates(session, award_round, page=page, eligible=None)
    by_uscc = {c.uscc: c for c in listed}
    assert set(by_uscc) == {clean, unrated, flagged}
    assert by_uscc[clean].eligible and by_uscc[clean].nomination == "nominated"
    assert [r.rule for r in by_uscc[unrated].reasons] == ["credit_level"]
    assert [r.rule for r in by_uscc[flagged].reasons] == ["open_serious_alert"]
    eligible, _ = await service.candidates(session, award_round, page=page, eligible=True)
    assert [c.uscc for c in eligible] == [clean]
    blocked, _ = await service.candidates(session, award_round, page=page, eligible=False)
    assert sorted(c.uscc for c in blocked) == sorted([unrated, flagged])
