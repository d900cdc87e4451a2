"""Events through the real broker: outbox → stream, credit levels → removal reviews, poison."""

from __future__ import annotations

import time
import uuid

import httpx

from kit.events import CreditLevelChanged, make_event
from tests.helpers import enterprise_body, new_uscc, publish_raw, sql, stream_events, wait_until


def _admitted_enterprise(api: httpx.Client) -> tuple[str, str]:
    uscc = new_uscc()
    api.post("/v1/enterprises", json=enterprise_body(uscc)).raise_for_status()
    mid = api.post("/v1/zones/lighting-provincial/applications", json={"uscc": uscc}).json()["id"]
    api.post(f"/v1/memberships/{mid}/decision", json={"decision": "admit"}).raise_for_status()
    # The credit service's own first level (B) arrives first, so the events below are newer.
    wait_until(
        lambda: api.get(f"/v1/enterprises/{uscc}").json()["credit_level"] == "B", what="level B"
    )
    return uscc, mid


def test_every_change_reaches_the_stream_once(stack, api: httpx.Client) -> None:  # type: ignore[no-untyped-def]
    uscc, mid = _admitted_enterprise(api)

    def mine() -> list[dict]:  # type: ignore[type-arg]
        return [e for e in stream_events(stack, "registry.>") if e.get("subject") == uscc]

    events = wait_until(lambda: (lambda es: es if len(es) >= 3 else None)(mine()), what="3 events")
    assert [e["type"] for e in events] == [
        "registry.enterprise.registered.v1",
        "registry.membership.applied.v1",
        "registry.membership.admitted.v1",
    ]
    first = events[0]
    assert first["specversion"] == "1.0" and first["source"] == "/services/registry"
    assert first["headers"]["Nats-Msg-Id"] == first["id"] and first["id"][14] == "7"
    assert first["data"]["uscc"] == uscc and events[2]["data"]["membership_id"] == mid


def test_credit_drop_to_d_raises_one_removal_review(stack, api: httpx.Client) -> None:  # type: ignore[no-untyped-def]
    uscc, mid = _admitted_enterprise(api)
    event = make_event(
        source="/services/credit",
        type="credit.level.changed.v1",
        subject=uscc,
        data=CreditLevelChanged(uscc=uscc, from_level="B", to_level="D", cause="退运", sequence=2),
    )
    payload = event.model_dump_json().encode()
    publish_raw(stack, "credit.level.changed", payload, msg_id=event.id)
    membership = wait_until(
        lambda: (lambda m: m if m["review_requested_at"] else None)(
            api.get(f"/v1/memberships/{mid}").json()
        ),
        what="removal review",
    )
    assert "credit level fell to D" in membership["review_reason"]
    assert api.get(f"/v1/enterprises/{uscc}").json()["credit_level"] == "D"
    listed = api.get("/v1/memberships", params={"under_review": True, "uscc": uscc}).json()["items"]
    assert [m["id"] for m in listed] == [mid]

    # Redelivery after the broker's duplicate window: a new Nats-Msg-Id, the same event id.
    publish_raw(stack, "credit.level.changed", payload, msg_id=f"{event.id}-again")
    wait_until(
        lambda: sql(
            stack, "registry", "SELECT 1 FROM inbox WHERE event_id = $1", uuid.UUID(event.id)
        ),
        what="inbox row",
    )
    # give the consumer time to (not) act on the duplicate
    wait_until(
        lambda: len(stream_events(stack, "credit.level.changed", "CREDIT")) >= 2,
        what="dup on stream",
    )
    time.sleep(1.5)
    reviews = sql(
        stack,
        "registry",
        "SELECT count(*) FROM outbox WHERE type = $1 AND payload->>'subject' = $2",
        "registry.membership.review_requested.v1",
        uscc,
    )
    assert reviews == [(1,)]
    applied = sql(
        stack, "registry", "SELECT count(*) FROM inbox WHERE event_id = $1", uuid.UUID(event.id)
    )
    assert applied == [(1,)]


def test_poison_message_is_dead_lettered_and_consumer_goes_on(stack, api: httpx.Client) -> None:  # type: ignore[no-untyped-def]
    poison = f"{{this is not an event {uuid.uuid4()}"
    publish_raw(stack, "credit.level.changed", poison.encode(), msg_id=poison)
    # Every consumer of the CREDIT stream gives up on it, each on its own. (Other modules
    # leave dead letters of their own on the shared stack: this test's is the poison.)
    mine = wait_until(
        lambda: [
            d
            for d in stream_events(stack, "deadletter.>", "DEADLETTER")
            if d["headers"]["X-Consumer"] == "registry-credit-levels" and d.get("raw") == poison
        ],
        what="registry's dead letter",
    )
    assert "not a valid event" in mine[0]["headers"]["X-Error"]
    uscc, _ = _admitted_enterprise(api)
    event = make_event(
        source="/services/credit",
        type="credit.level.changed.v1",
        subject=uscc,
        data=CreditLevelChanged(uscc=uscc, to_level="A", sequence=2),
    )
    publish_raw(stack, "credit.level.changed", event.model_dump_json().encode(), msg_id=event.id)
    wait_until(
        lambda: api.get(f"/v1/enterprises/{uscc}").json()["credit_level"] == "A", what="level A"
    )


def test_events_of_one_enterprise_reach_the_stream_in_order(stack, api: httpx.Client) -> None:  # type: ignore[no-untyped-def]
    """Two relays (two workers) must not interleave: one publisher at a time keeps seq order."""
    usccs = [new_uscc() for _ in range(4)]
    for uscc in usccs:
        api.post("/v1/enterprises", json=enterprise_body(uscc)).raise_for_status()
    for n in range(15):
        for uscc in usccs:
            api.patch(f"/v1/enterprises/{uscc}", json={"employees": 100 + n}).raise_for_status()

    def updates() -> dict[str, list[int]]:
        seen: dict[str, list[int]] = {}
        for e in stream_events(stack, "registry.enterprise.updated"):
            if e["subject"] in usccs:
                seen.setdefault(e["subject"], []).append(e["data"]["version"])
        return seen

    seen = wait_until(
        lambda: (lambda s: s if sum(map(len, s.values())) == 60 else None)(updates()),
        what="60 update events",
    )
    for versions in seen.values():
        assert versions == sorted(versions) and len(versions) == 15


def test_a_late_older_credit_event_does_not_overwrite_a_newer_one(stack, api: httpx.Client) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    uscc, _ = _admitted_enterprise(api)
    newer = make_event(
        source="/services/credit",
        type="credit.level.changed.v1",
        subject=uscc,
        data=CreditLevelChanged(uscc=uscc, from_level="D", to_level="A", sequence=3),
    )
    older = make_event(
        source="/services/credit",
        type="credit.level.changed.v1",
        subject=uscc,
        data=CreditLevelChanged(uscc=uscc, from_level="B", to_level="D", sequence=2),
    )
    older.time = newer.time - timedelta(minutes=5)
    publish_raw(stack, "credit.level.changed", newer.model_dump_json().encode(), msg_id=newer.id)
    wait_until(lambda: api.get(f"/v1/enterprises/{uscc}").json()["credit_level"] == "A", what="A")
    publish_raw(stack, "credit.level.changed", older.model_dump_json().encode(), msg_id=older.id)
    wait_until(
        lambda: sql(
            stack, "registry", "SELECT 1 FROM inbox WHERE event_id = $1", uuid.UUID(older.id)
        ),
        what="older event handled",
    )
    assert api.get(f"/v1/enterprises/{uscc}").json()["credit_level"] == "A"
    assert (
        api.get("/v1/memberships", params={"uscc": uscc, "under_review": True}).json()["items"]
        == []
    )


def test_events_on_the_streams_match_the_asyncapi_document(stack, api: httpx.Client) -> None:  # type: ignore[no-untyped-def]
    """What outside consumers generate code from must describe what they receive: every
    event on every service's stream (the seeded demo's and these tests') validates against
    its message's payload schema in /asyncapi.json."""
    import jsonschema_rs

    _admitted_enterprise(api)  # at least a registration, a membership and a credit level
    document = api.get("/asyncapi.json").json()
    messages = document["components"]["messages"]
    validators = {
        message["name"]: jsonschema_rs.validator_for(
            {**message["payload"], "components": {"schemas": document["components"]["schemas"]}}
        )
        for message in messages.values()
    }
    checked: dict[str, int] = {}
    failures: list[str] = []
    for stream in ("REGISTRY", "CREDIT", "INSPECTION", "NOTIFY"):
        for event in stream_events(stack, f"{stream.lower()}.>", stream=stream):
            event_type = event.get("type")
            if event_type not in validators:
                continue  # a poison test's bytes
            body = {k: v for k, v in event.items() if k != "headers"}
            errors = [e.message for e in validators[event_type].iter_errors(body)]
            checked[stream] = checked.get(stream, 0) + 1
            if errors and len(failures) < 10:
                failures.append(f"{event_type} {event['id']}: {errors[:3]}")
    assert checked.get("REGISTRY", 0) > 10 and checked.get("CREDIT", 0) > 0, checked
    assert not failures, failures
