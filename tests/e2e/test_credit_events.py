"""Credit's consumers on a stack of their own (one worker per service, so kill -9 is final):
inspection results and alerts become facts exactly once, through redeliveries and a crash."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import nats
import pytest

from deploy.launcher import Stack
from kit.events import AlertRaised, TaskCompleted, make_event
from tests.helpers import enterprise_body, make_stack, new_uscc, sql, token, wait_until


@pytest.fixture(scope="module")
def single() -> Iterator[Stack]:
    s = make_stack("credit-events")
    s.workers = 1
    try:
        s.start(seed=False)
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def client(single: Stack) -> Iterator[httpx.Client]:
    bearer = token(single.url("gateway"))
    with httpx.Client(
        base_url=single.url("gateway"), timeout=30, headers={"Authorization": f"Bearer {bearer}"}
    ) as c:
        yield c


def _enterprises(client: httpx.Client, n: int) -> list[str]:
    usccs = [new_uscc() for _ in range(n)]
    for uscc in usccs:
        client.post("/v1/enterprises", json=enterprise_body(uscc)).raise_for_status()
    for uscc in usccs:
        wait_until(
            lambda u=uscc: client.get(f"/v1/credit/enterprises/{u}").status_code == 200,
            what="announced",
        )
    return usccs


def _task(uscc: str, outcome: str = "pass") -> object:
    return make_event(
        source="/services/inspection",
        type="inspection.task.completed.v1",
        subject=uscc,
        data=TaskCompleted(
            task_id=str(uuid.uuid4()),
            uscc=uscc,
            agency="market_supervision",
            outcome=outcome,  # type: ignore[arg-type]
            checklist_items=["LED-01"],
            completed_at=datetime.now(UTC),
        ),
    )


def _publish(stack: Stack, events: list, *, suffix: str = "") -> None:  # type: ignore[type-arg]
    async def run() -> None:
        nc = await nats.connect(stack.nats_client_url)
        try:
            js = nc.jetstream()
            for e in events:
                await js.publish(
                    e.nats_subject,
                    e.model_dump_json().encode(),
                    headers={"Nats-Msg-Id": e.id + suffix},
                )
        finally:
            await nc.close()

    asyncio.run(run())


def _facts_from(stack: Stack, events: list) -> int:  # type: ignore[type-arg]
    rows = sql(
        stack,
        "credit",
        "SELECT count(*) FROM facts WHERE source_event_id = ANY($1::uuid[])",
        [uuid.UUID(e.id) for e in events],
    )
    return int(rows[0][0])


def test_a_redelivered_result_counts_once(single: Stack, client: httpx.Client) -> None:
    (uscc,) = _enterprises(client, 1)
    event = _task(uscc, "fail")
    _publish(single, [event])
    _publish(single, [event], suffix="-after-the-duplicate-window")
    wait_until(lambda: _facts_from(single, [event]) == 1, what="fact")
    wait_until(
        lambda: sql(
            single, "credit", "SELECT 1 FROM inbox WHERE event_id = $1", uuid.UUID(event.id)
        ),
        what="inbox",
    )
    facts = client.get("/v1/credit/facts", params={"uscc": uscc}).json()["items"]
    assert [(f["kind"], f["source_agency"]) for f in facts] == [
        ("spot_check_fail", "market_supervision")
    ]
    assert facts[0]["details"]["checklist_items"] == ["LED-01"]
    assert client.get(f"/v1/credit/enterprises/{uscc}").json()["score"] == 88


def test_alerts_become_facts_and_complaints_do_not(single: Stack, client: httpx.Client) -> None:
    (uscc,) = _enterprises(client, 1)
    alerts = [
        make_event(
            source="/services/inspection",
            type="inspection.alert.raised.v1",
            subject=uscc,
            data=AlertRaised(
                alert_id=str(uuid.uuid4()),
                uscc=uscc,
                signal_kind=kind,  # type: ignore[arg-type]
                severity="serious",
                agency="ciq",
                reference="RAPEX A12/0001/26",
                raised_at=datetime.now(UTC),
            ),
        )
        for kind in ("complaint", "foreign_notification")
    ]
    _publish(single, alerts)
    wait_until(lambda: _facts_from(single, alerts) == 1, what="fact from the notification")
    score = client.get(f"/v1/credit/enterprises/{uscc}").json()
    assert score["level"] == "C" and score["overrides"]  # a serious notification caps at C
    assert _facts_from(single, alerts[:1]) == 0


def test_killed_mid_batch_every_event_applies_exactly_once(
    single: Stack, client: httpx.Client
) -> None:
    usccs = _enterprises(client, 10)
    events = [_task(usccs[i % len(usccs)], "pass" if i % 3 else "fail") for i in range(400)]
    _publish(single, events)
    wait_until(lambda: _facts_from(single, events) >= 20, what="some applied")
    single.stop_service("credit", kill=True)
    applied_before_restart = _facts_from(single, events)
    single.start_service("credit")
    wait_until(lambda: _facts_from(single, events) == 400, timeout=120, what="all applied")
    assert applied_before_restart < 400, "the kill came too late to prove anything"
    duplicates = sql(
        single,
        "credit",
        "SELECT count(*) - count(DISTINCT source_event_id) FROM facts WHERE uscc = ANY($1)",
        usccs,
    )
    assert duplicates == [(0,)]
    inbox = sql(
        single,
        "credit",
        "SELECT count(*) FROM inbox WHERE consumer = 'credit-inspection' AND event_id = ANY($1::uuid[])",
        [uuid.UUID(e.id) for e in events],
    )
    assert inbox == [(400,)]
    for uscc in usccs:  # every stored score is the one its facts give
        score = client.get(f"/v1/credit/enterprises/{uscc}").json()
        assert len(score["contributions"]) == 40
        simulated = client.post("/v1/credit/simulate", json={"uscc": uscc}).json()
        assert abs(simulated["score"] - score["score"]) < 0.05
