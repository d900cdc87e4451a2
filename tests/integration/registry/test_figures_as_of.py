"""What registry tells inspection so figures are as of their period (#17): a decision's
effective date when recorded after the fact, and the surveys' yearly figures."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from kit.validation import CHINA
from services.registry.enterprises import service as enterprises
from services.registry.enterprises.schemas import SurveyIn
from services.registry.memberships import service
from services.registry.memberships.models import Membership
from services.registry.memberships.schemas import ApplicationIn, Decision, DecisionIn
from tests.integration.conftest import emitted
from tests.integration.registry.test_memberships import Registered


async def test_an_admission_recorded_after_the_fact_carries_its_effective_date(
    session: AsyncSession, office: Principal, zone: str, registered: Registered
) -> None:
    uscc = await registered()
    m = await service.apply(session, zone, application=ApplicationIn(uscc=uscc), principal=office)
    admit = DecisionIn(decision=Decision.admit, effective_on=date(2017, 3, 1))
    await service.decide(session, m, decision_in=admit, principal=office)
    row = await session.get(Membership, m.id, populate_existing=True)
    since = datetime(2017, 3, 1, tzinfo=CHINA)
    assert row is not None and row.decided_at == since
    events = {t: d for t, _, d in await emitted(session) if t.startswith("registry.membership.")}
    assert events["registry.membership.applied.v1"]["effective_at"] is None  # the event's time
    assert (
        datetime.fromisoformat(str(events["registry.membership.admitted.v1"]["effective_at"]))
        == since
    )


@pytest.mark.parametrize(
    "effective_on", [date.today() + timedelta(days=2), date(2014, 12, 31), "2017-13-01"]
)
def test_an_effective_date_in_the_future_or_before_the_programme_is_refused(
    effective_on: object,
) -> None:
    with pytest.raises(ValidationError) as raised:
        DecisionIn.model_validate({"decision": "admit", "effective_on": effective_on})
    assert [e["loc"] for e in raised.value.errors()] == [("effective_on",)]


async def test_a_survey_announces_its_yearly_figures(
    session: AsyncSession, office: Principal, registered: Registered
) -> None:
    uscc = await registered()
    enterprise = await enterprises.get(session, uscc)
    body = {"year": 2019, "annual_export_usd": 2_500_000}
    quality = {"returns": 2, "foreign_notifications": 1, "management_system": "ISO9001"}
    await enterprises.add_survey(
        session, enterprise, survey_in=SurveyIn(**body, quality=quality), principal=office
    )
    # replaced: the counts it cannot read (not a count) are announced as unknown
    odd = {"returns": "两次", "foreign_notifications": True}
    await enterprises.put_survey(
        session, enterprise, survey_in=SurveyIn(**body, quality=odd), principal=office
    )
    announced = [(s, d) for t, s, d in await emitted(session) if t == "registry.survey.recorded.v1"]
    expected = {"uscc": uscc, "year": 2019, "annual_export_usd": 2_500_000}
    assert announced == [
        (uscc, {**expected, "foreign_notifications": 1, "returns": 2}),
        (uscc, {**expected, "foreign_notifications": None, "returns": None}),
    ]
