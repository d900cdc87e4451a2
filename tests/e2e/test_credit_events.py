"""Credit's consumers on a stack of their own (one worker per service, so kill -9 is final):
inspection results and alerts become facts exactly once, through redeliveries and a crash."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from deploy.launcher import Stack
from kit.events import AlertRaised, TaskCompleted, make_event
from kit.messaging import connect
from tests.helpers import enterprise_body, make_stack, new_uscc, sql, token, wait_until


@pytest.fixture(scope="module")
def single() -> Iterator[Stack]:
    s = make_stack("credit-events")
    s.workers = 1
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CREDIT_RESCORE_CHUNK", "10")  # many small chunks: a job to interrupt
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
        nc = await connect(
            stack.nats_client_url, stack.nats_identity(events[0].source.split("/")[-1])
        )
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


def test_a_rescoring_job_killed_midway_resumes_after_its_last_chunk(
    single: Stack, client: httpx.Client
) -> None:
    # 3,000 enterprises stored at A with no facts: under the model each is B, a level change.
    sql(
        single,
        "credit",
        """INSERT INTO scores (uscc, name, industry, registered_at, score, level, model_version,
                               computed_at, version)
           SELECT 'ZZ' || lpad(i::text, 16, '0'), 'job test ' || i, 'molds', now(), 150, 'A', 1,
                  now(), 1
           FROM generate_series(1, 3000) AS i""",
    )
    job = client.post("/v1/credit/jobs", json={}).json()
    job_id = uuid.UUID(job["id"])

    def processed() -> int:
        return int(
            sql(single, "credit", "SELECT processed FROM rescore_jobs WHERE id = $1", job_id)[0][0]
        )

    wait_until(lambda: processed() >= 200, timeout=60, interval=0.05, what="some chunks")
    single.stop_service("credit", kill=True)
    at_kill = processed()
    single.start_service("credit")
    done = wait_until(
        lambda: (lambda j: j if j["status"] == "done" else None)(
            client.get(f"/v1/credit/jobs/{job_id}").json()
        ),
        timeout=120,
        what="job done",
    )
    assert at_kill < done["total"], "the kill came too late to prove anything"
    assert done["processed"] == done["total"]
    changes = sql(
        single,
        "credit",
        "SELECT count(*), count(DISTINCT uscc) FROM level_changes"
        " WHERE job_id = $1 AND uscc LIKE 'ZZ%'",
        job_id,
    )
    assert changes == [(3000, 3000)]  # each once, none lost, none twice
    assert done["level_changes"] >= 3000
    left = sql(
        single, "credit", "SELECT count(*) FROM scores WHERE uscc LIKE 'ZZ%' AND level <> 'B'"
    )
    assert left == [(0,)]
