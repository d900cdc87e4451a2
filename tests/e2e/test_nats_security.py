"""NATS identities and permissions, and forged events, on the real server the stack runs."""

from __future__ import annotations

import asyncio
import json
import stat
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import nats
import nats.errors
import pytest

from deploy.launcher import Stack
from kit.events import CreditLevelChanged, make_event
from kit.messaging import NatsIdentity, connect
from tests.helpers import enterprise_body, new_uscc, publish_raw, sql, stream_events, wait_until


def _run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_an_anonymous_client_is_refused(stack: Stack) -> None:
    async def attempt(identity: NatsIdentity | None) -> None:
        options = dict(connect_timeout=2, allow_reconnect=False)
        if identity is None:
            await asyncio.wait_for(nats.connect(stack.nats_client_url, **options), 20)
        else:
            await asyncio.wait_for(connect(stack.nats_client_url, identity, **options), 20)

    with pytest.raises(Exception, match=r"(?i)authorization"):
        _run(attempt(None))
    with pytest.raises(Exception, match=r"(?i)authorization"):
        _run(attempt(NatsIdentity(user="registry", password="guess")))


async def _refused(identity: NatsIdentity, stack: Stack, act) -> list[str]:  # type: ignore[no-untyped-def]
    """Run `act(js)` as `identity`; the server's errors it caused (permission violations)."""
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc).lower())

    nc = await connect(stack.nats_client_url, identity, error_cb=on_error)
    try:
        with pytest.raises((nats.errors.TimeoutError, nats.errors.Error, TimeoutError)):
            await act(nc.jetstream(timeout=2))
        await asyncio.sleep(0.2)  # the violation arrives asynchronously
    finally:
        await nc.close()
    return errors


def test_a_service_publishes_only_its_own_subjects_and_cannot_manage_streams(
    stack: Stack,
) -> None:
    registry = stack.nats_identity("registry")
    before = len(stream_events(stack, "credit.level.changed", "CREDIT"))
    forged = make_event(
        source="/services/credit",
        type="credit.level.changed.v1",
        subject="x",
        data=CreditLevelChanged(uscc="x", to_level="D"),
    )

    async def forge(js) -> None:  # type: ignore[no-untyped-def]
        await js.publish("credit.level.changed", forged.model_dump_json().encode(), timeout=2)

    errors = _run(_refused(registry, stack, forge))
    assert any("permissions violation" in e and "credit.level.changed" in e for e in errors)
    assert len(stream_events(stack, "credit.level.changed", "CREDIT")) == before

    async def delete(js) -> None:  # type: ignore[no-untyped-def]
        await js.delete_stream("CREDIT")

    assert any("permissions violation" in e for e in _run(_refused(registry, stack, delete)))

    async def observe(js) -> None:  # type: ignore[no-untyped-def]
        await js.publish("registry.enterprise.registered", b"{}", timeout=2)

    observer = stack.nats_identity("observer")
    assert any("permissions violation" in e for e in _run(_refused(observer, stack, observe)))

    async def steal(js) -> None:  # type: ignore[no-untyped-def]
        sub = await js.pull_subscribe_bind("registry-credit-levels", stream="CREDIT")
        await sub.fetch(1, timeout=1)

    assert any("permissions violation" in e for e in _run(_refused(observer, stack, steal)))

    async def rewrite(js) -> None:  # type: ignore[no-untyped-def]
        """An unnamed create whose body names a service's durable would rewrite it."""
        body = {"stream_name": "CREDIT", "config": {"name": "registry-credit-levels"}}
        body["config"] |= {"ack_policy": "explicit", "max_deliver": 1}
        await js._nc.request("$JS.API.CONSUMER.CREATE.CREDIT", json.dumps(body).encode(), 2)

    assert any("permissions violation" in e for e in _run(_refused(observer, stack, rewrite)))

    async def durable_settings() -> int:
        nc = await connect(stack.nats_client_url, stack.nats_identity("provisioner"))
        try:
            info = await nc.jetstream().consumer_info("CREDIT", "registry-credit-levels")
            return int(info.config.max_deliver or 0)
        finally:
            await nc.close()

    assert _run(durable_settings()) == 6, "the durable keeps its settings"
    assert stream_events(stack, "credit.level.changed", "CREDIT"), "yet it reads every stream"


def test_the_credentials_file_is_private(stack: Stack) -> None:
    assert stack.nats_credentials is not None
    mode = stat.S_IMODE(stack.nats_credentials.stat().st_mode)
    assert mode == 0o600
    assert set(json.loads(stack.nats_credentials.read_text())) >= {
        "registry",
        "credit",
        "inspection",
        "notify",
        "provisioner",
        "observer",
    }


def _level_event(uscc: str, **envelope) -> dict:  # type: ignore[no-untyped-def,type-arg]
    event = make_event(
        source="/services/credit",
        type="credit.level.changed.v1",
        subject=uscc,
        data=CreditLevelChanged(uscc=uscc, from_level="B", to_level="D", sequence=10_000),
    )
    return {**json.loads(event.model_dump_json()), **envelope}


def test_forged_events_are_dead_lettered_with_the_reason_and_change_nothing(
    stack: Stack, api: httpx.Client
) -> None:
    uscc = new_uscc()
    api.post("/v1/enterprises", json=enterprise_body(uscc)).raise_for_status()
    wait_until(
        lambda: api.get(f"/v1/enterprises/{uscc}").json()["credit_level"] == "B", what="level B"
    )
    future = (datetime.now(UTC) + timedelta(days=365 * 70)).isoformat()
    forgeries = {
        "source": _level_event(uscc, source="/services/registry"),
        "future": _level_event(uscc, time=future),
        "type": _level_event(uscc, type="credit.level.changed.v9"),
        "data": _level_event(uscc, data={"uscc": uscc, "to_level": "Z"}),
    }
    for event in forgeries.values():
        event["id"] = str(uuid.uuid4())
        publish_raw(stack, "credit.level.changed", json.dumps(event).encode(), msg_id=event["id"])

    def reasons() -> dict[str, str] | None:
        found = {
            d["id"]: d["headers"]["X-Error"]
            for d in stream_events(stack, "deadletter.registry-credit-levels", "DEADLETTER")
            if "id" in d
        }
        mine = {k: found.get(e["id"]) for k, e in forgeries.items()}
        return mine if all(mine.values()) else None

    found = wait_until(reasons, what="four dead letters")
    assert "may not publish on stream CREDIT" in found["source"]
    assert "in the future" in found["future"]
    assert "not a contract" in found["type"]
    assert "does not satisfy" in found["data"]
    # Nothing changed, and the consumer goes on with a genuine event.
    assert api.get(f"/v1/enterprises/{uscc}").json()["credit_level"] == "B"
    genuine = _level_event(uscc)
    genuine["data"]["to_level"] = "A"
    publish_raw(stack, "credit.level.changed", json.dumps(genuine).encode(), msg_id=genuine["id"])
    wait_until(
        lambda: api.get(f"/v1/enterprises/{uscc}").json()["credit_level"] == "A", what="level A"
    )


def test_an_older_level_never_overwrites_a_newer_one_whatever_its_time(
    stack: Stack, api: httpx.Client
) -> None:
    """Registry and inspection keep the level with credit's highest sequence, not the latest
    `time`."""
    uscc = new_uscc()
    api.post("/v1/enterprises", json=enterprise_body(uscc)).raise_for_status()
    wait_until(
        lambda: api.get(f"/v1/enterprises/{uscc}").json()["credit_level"] == "B", what="level B"
    )
    newer = _level_event(uscc)
    newer["data"] |= {"to_level": "A", "sequence": 50}
    older = _level_event(uscc, time=(datetime.now(UTC) + timedelta(minutes=1)).isoformat())
    older["data"] |= {"to_level": "C", "sequence": 49}
    for event in (newer, older):
        publish_raw(stack, "credit.level.changed", json.dumps(event).encode(), msg_id=event["id"])
    ids = [uuid.UUID(newer["id"]), uuid.UUID(older["id"])]
    handled = "SELECT count(*) FROM inbox WHERE consumer = $1 AND event_id = ANY($2)"
    wait_until(  # both: two workers may each take one
        lambda: sql(stack, "registry", handled, "registry-credit-levels", ids) == [(2,)],
        what="registry handled both",
    )
    assert api.get(f"/v1/enterprises/{uscc}").json()["credit_level"] == "A"
    unsequenced = _level_event(uscc)  # from before sequences: never over a sequenced copy
    del unsequenced["data"]["sequence"]
    publish_raw(stack, "credit.level.changed", json.dumps(unsequenced).encode())
    wait_until(
        lambda: (
            sql(
                stack, "registry", handled, "registry-credit-levels", [uuid.UUID(unsequenced["id"])]
            )
            == [(1,)]
        ),
        what="registry handled the unsequenced one",
    )
    assert api.get(f"/v1/enterprises/{uscc}").json()["credit_level"] == "A"
    wait_until(  # either may wait for the directory entry and be retried first
        lambda: sql(stack, "inspection", handled, "inspection-credit", ids) == [(2,)],
        what="inspection handled both",
    )
    level = "SELECT level, level_seq FROM directory WHERE uscc = $1"
    assert sql(stack, "inspection", level, uscc) == [("A", 50)]
