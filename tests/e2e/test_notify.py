"""Notify on a stack of its own (short retry windows, a loopback receiver allowed): signed
webhooks and their retries, the SSRF guard, disabling and replays, a notify process killed
with deliveries pending, entitlement, risk warnings, bulletins with read receipts,
templates checked at save, and dead letters."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from deploy.launcher import Stack
from kit.events import CreditLevelChanged, make_event
from services.notify import signing
from tests.helpers import (
    assert_problem,
    client_for,
    enterprise_body,
    make_stack,
    metric,
    new_uscc,
    publish_raw,
    sql,
    token,
    wait_until,
)

ENV = {
    "NOTIFY_WEBHOOK_ALLOW": "127.0.0.1",
    "NOTIFY_RETRY_BASE_S": "0.2",
    "NOTIFY_RETRY_CAP_S": "0.5",
    "NOTIFY_RETRY_WINDOW_S": "4",
    "NOTIFY_WEBHOOK_TIMEOUT_S": "1",
    "NOTIFY_DISABLE_AFTER_FAILURES": "6",
    "NOTIFY_DISABLE_AFTER_S": "6",  # longer than the retry window: a delivery fails first
    "NOTIFY_DISPATCH_POLL_S": "0.05",
    "NOTIFY_LEASE_S": "2",
}


class Receiver:
    """A local webhook receiver: `/ok` answers 204, `/fail` 500, `/slow` too late,
    `/close` drops the connection; every request is kept."""

    def __init__(self) -> None:
        received: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                path = self.path.split("?")[0]
                received[path].append({"headers": dict(self.headers), "body": body})
                if path.startswith("/slow"):
                    time.sleep(1.5)
                if path.startswith("/close"):
                    self.close_connection = True
                    self.connection.close()
                    return
                self.send_response(500 if path.startswith("/fail") else 204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 256  # the dispatcher opens many connections at once

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self, path: str) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.received[path]]


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in ENV.items():
            patch.setenv(name, value)
        s = make_stack("notify")
        s.workers = 1  # one process, so kill -9 leaves no orphaned worker behind
        try:
            s.start(seed=True)
            yield s
        finally:
            s.stop()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


@pytest.fixture(scope="module")
def admin(stack: Stack) -> Iterator[httpx.Client]:
    base = stack.url("gateway")
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {token(base)}"}, timeout=30
    ) as c:
        yield c


def _subscribe(client: httpx.Client, url: str, *types: str, **extra: Any) -> dict[str, Any]:
    created = client.post(
        "/v1/subscriptions",
        json={"event_types": list(types), "channel": "webhook", "url": url, **extra},
    )
    assert created.status_code == 201, created.text
    return created.json()  # type: ignore[no-any-return]


def _register(admin: httpx.Client, **extra: object) -> str:
    uscc = new_uscc()
    admin.post("/v1/enterprises", json=enterprise_body(uscc, **extra)).raise_for_status()
    return uscc


def test_signed_delivery_and_replay_with_the_same_webhook_id(
    admin: httpx.Client, receiver: Receiver
) -> None:
    path = f"/ok/{uuid.uuid4().hex}"
    sub = _subscribe(admin, receiver.url + path, "registry.enterprise.*")
    assert sub["secret"].startswith("whsec_")
    assert "secret" not in admin.get(f"/v1/subscriptions/{sub['id']}").json()
    uscc = _register(admin)
    wait_until(lambda: any(e["subject"] == uscc for e in receiver.events(path)), what="delivery")
    request = next(r for r in receiver.received[path] if json.loads(r["body"])["subject"] == uscc)
    h = request["headers"]
    assert signing.verify(
        sub["secret"],
        h["webhook-id"],
        int(h["webhook-timestamp"]),
        request["body"],
        h["webhook-signature"],
    )
    assert abs(int(h["webhook-timestamp"]) - time.time()) < 60
    # the dispatcher records a round's outcomes once every attempt of it has answered: the
    # receiver may have the request before its delivery reads "delivered"
    wait_until(
        lambda: admin.get(f"/v1/deliveries/{h['webhook-id']}").json()["status"] != "pending",
        what="the delivery's outcome",
    )
    delivery = admin.get(f"/v1/deliveries/{h['webhook-id']}").json()
    assert delivery["status"] == "delivered" and delivery["history"][0]["status_code"] == 204
    replayed = admin.post(f"/v1/deliveries/{h['webhook-id']}/replay")
    assert replayed.status_code == 200
    wait_until(
        lambda: (
            [r["headers"]["webhook-id"] for r in receiver.received[path]].count(h["webhook-id"])
            == 2
        ),
        what="the replay",
    )
    # a rotated secret: both sign during the overlap
    rotated = admin.post(f"/v1/subscriptions/{sub['id']}/secret", json={"overlap_s": 600}).json()
    _register(admin)
    wait_until(lambda: len(receiver.received[path]) >= 3, what="a delivery after rotation")
    last = receiver.received[path][-1]
    for secret in (sub["secret"], rotated["secret"]):
        assert signing.verify(
            secret,
            last["headers"]["webhook-id"],
            int(last["headers"]["webhook-timestamp"]),
            last["body"],
            last["headers"]["webhook-signature"],
        )


@pytest.mark.parametrize("path", ["/fail", "/slow", "/close"])
def test_failing_receivers_are_retried_then_failed_and_disabled(
    admin: httpx.Client, receiver: Receiver, path: str
) -> None:
    where = f"{path}/{uuid.uuid4().hex}"
    sub = _subscribe(admin, receiver.url + where, "registry.enterprise.registered")
    _register(admin)

    def given_up() -> dict[str, Any] | None:
        items = admin.get("/v1/deliveries", params={"subscription_id": sub["id"]}).json()["items"]
        return items[0] if items and items[0]["status"] == "failed" else None

    failed = wait_until(given_up, timeout=30, what="the delivery to fail")
    detail = admin.get(f"/v1/deliveries/{failed['id']}").json()
    assert len(detail["history"]) == failed["attempts"] >= 2  # a slow try takes the 1 s timeout
    tries = [
        r for r in receiver.received[where] if json.loads(r["body"])["id"] == failed["event_id"]
    ]
    assert {r["headers"]["webhook-id"] for r in tries} == {failed["id"]}
    times = [a["attempted_at"] for a in detail["history"]]
    assert times == sorted(times)
    # more failures: the webhook is disabled and its owner told
    for _ in range(3):
        _register(admin)
    disabled = wait_until(
        lambda: (
            (s := admin.get(f"/v1/subscriptions/{sub['id']}").json())["status"] == "disabled" and s
        ),
        timeout=30,
        what="the webhook disabled",
    )
    assert disabled["disabled_reason"]
    notices = admin.get(
        "/v1/inbox",
        params={"recipient": sub["owner_kind"] + ":" + sub["owner"], "kind": "system"},
    ).json()["items"]
    assert any(sub["id"] in n["body"] for n in notices)
    enabled = admin.patch(f"/v1/subscriptions/{sub['id']}", json={"status": "active"}).json()
    assert enabled["status"] == "active" and enabled["consecutive_failures"] == 0


def test_ssrf_guard_and_bad_subscriptions(admin: httpx.Client) -> None:
    for url in (
        "http://169.254.169.254/latest/meta-data",
        "http://10.1.2.3/hook",
        "http://[::1]:8080/hook",
        "http://192.168.1.20/hook",
        "ftp://example.org/hook",
        "http://user:pw@127.0.0.1/hook",
    ):
        answer = admin.post(
            "/v1/subscriptions",
            json={"event_types": ["registry.>"], "channel": "webhook", "url": url},
        )
        assert answer.status_code == 422, (url, answer.text)
    assert_problem(
        admin.post("/v1/subscriptions", json={"event_types": ["registry..x"]}), 422, "validation"
    )
    assert_problem(
        admin.post("/v1/subscriptions", json={"event_types": ["registry.>"], "channel": "webhook"}),
        422,
        "validation",
    )


def test_killed_with_deliveries_pending_loses_nothing(
    stack: Stack, admin: httpx.Client, receiver: Receiver
) -> None:
    path = f"/ok/{uuid.uuid4().hex}"
    sub = _subscribe(admin, receiver.url + path, "registry.enterprise.registered")
    usccs = [_register(admin) for _ in range(40)]
    stack.stop_service("notify", kill=True)
    usccs += [_register(admin) for _ in range(10)]  # written while notify is down
    stack.start_service("notify")

    def missing() -> set[str]:
        return set(usccs) - {e["subject"] for e in receiver.events(path)}

    # the consumer's unacknowledged batch comes back after its ack wait (30 s)
    with contextlib.suppress(AssertionError):
        wait_until(lambda: not missing(), timeout=90, what="every event delivered")
    states = [
        (d["status"], d["attempts"], d["last_status"], d["last_error"])
        for d in admin.get(
            "/v1/deliveries", params={"subscription_id": sub["id"], "limit": 500}
        ).json()["items"]
    ]
    assert not missing(), (len(missing()), sorted(set(states)))
    by_id: dict[str, set[str]] = defaultdict(set)
    for r in receiver.received[path]:
        by_id[json.loads(r["body"])["id"]].add(r["headers"]["webhook-id"])
    # a repeat (sent before the kill, acknowledged, sent again) carries the same webhook-id
    assert all(len(ids) == 1 for ids in by_id.values())
    print(
        f"notify kill -9: {len(usccs)} events, {len(receiver.received[path])} requests, {len(by_id)} distinct"
    )


def test_enterprise_sees_only_its_own_events(stack: Stack, admin: httpx.Client) -> None:
    uscc = _register(admin)
    own = client_for(admin, stack.url("gateway"), ["notify:read", "notify:write"], uscc=uscc)
    sub = own.post(
        "/v1/subscriptions", json={"event_types": ["registry.>", "credit.>"], "channel": "inbox"}
    ).json()
    assert sub["filters"]["usccs"] == [uscc]
    other = _register(admin)
    admin.post(f"/v1/enterprises/{uscc}/surveys", json={"year": 2025}).raise_for_status()
    mid = admin.post("/v1/zones/lighting-provincial/applications", json={"uscc": uscc}).json()["id"]
    messages = wait_until(
        lambda: own.get("/v1/inbox", params={"kind": "event"}).json()["items"], what="own events"
    )
    time.sleep(1)
    subjects = {
        m["data"]["subject"] for m in own.get("/v1/inbox", params={"limit": 500}).json()["items"]
    }
    assert other not in subjects and subjects <= {uscc, mid}
    first = messages[0]
    read = own.post(f"/v1/inbox/{first['id']}/read").json()
    assert read["read_at"]
    assert own.get("/v1/subscriptions").json()["items"][0]["id"] == sub["id"]
    assert_problem(own.get(f"/v1/inbox?recipient=enterprise:{other}"), 403, "forbidden")


def test_risk_warning_reaches_the_enterprise_and_the_office_in_their_language(
    stack: Stack, admin: httpx.Client
) -> None:
    uscc = _register(admin)
    tag = uuid.uuid4().hex[:6].upper()
    batch = admin.post(
        "/v1/batches",
        json={"uscc": uscc, "number": f"W-{tag}", "declaration_no": f"3102{tag}77"},
    ).json()
    english = admin.post(
        "/v1/subscriptions", json={"event_types": ["inspection.alert.*"], "language": "en"}
    ).json()
    assert english["channel"] == "inbox"
    signal_ = admin.post(
        "/v1/risk/signals",
        json={"kind": "return", "declaration_no": f"3102{tag}77", "reason": "包装破损"},
    ).json()

    def warned() -> list[dict[str, Any]]:
        return admin.get(
            "/v1/inbox",
            params={"recipient": f"enterprise:{uscc}", "kind": "warning"},
        ).json()["items"]

    (warning,) = wait_until(warned, timeout=30, what="the enterprise's warning")
    assert f"W-{tag}" in warning["body"] and "退运" in warning["body"]
    assert warning["language"] == "zh-CN" and batch["id"] == warning["data"]["batch_id"]
    office = admin.get(
        "/v1/inbox", params={"recipient": "agency:commerce", "kind": "warning"}
    ).json()["items"]
    assert any(m["data"]["alert_id"] for m in office)
    mine = wait_until(
        lambda: [
            m
            for m in admin.get("/v1/inbox", params={"kind": "warning"}).json()["items"]
            if m["language"] == "en" and f"W-{tag}" in m["body"]
        ],
        what="the English warning",
    )
    assert "return" in mine[0]["body"]
    assert signal_["id"]


def test_bulletin_reaches_touched_enterprises_and_counts_receipts(
    stack: Stack, admin: httpx.Client
) -> None:
    toys = _register(admin, products=[{"hs_code": "950300", "name": "玩具"}], export_markets=["FR"])
    lamps = _register(admin)  # 940542, US and DE
    own = client_for(admin, stack.url("gateway"), ["notify:read"], uscc=toys)
    wait_until(lambda: admin.get("/v1/bulletins").status_code == 200, what="notify")
    time.sleep(1)  # the recipients mirror hears of both enterprises
    published = admin.post(
        "/v1/bulletins",
        json={
            "kind": "wto_tbt",
            "symbol": "G/TBT/N/EU/1234",
            "member": "European Union",
            "title": "Toy safety regulation",
            "products": ["9503"],
            "markets": ["FR", "DE"],
            "objective": "Protection of children's health",
            "comment_deadline": str(date.today() + timedelta(days=60)),
        },
    )
    assert published.status_code == 201, published.text
    bulletin = published.json()
    assert bulletin["recipients"] >= 1
    inbox = own.get("/v1/inbox", params={"kind": "bulletin"}).json()["items"]
    assert [m["bulletin_id"] for m in inbox] == [bulletin["id"]]
    assert "G/TBT/N/EU/1234" in inbox[0]["title"]
    lamp_inbox = admin.get(
        "/v1/inbox", params={"recipient": f"enterprise:{lamps}", "kind": "bulletin"}
    ).json()["items"]
    assert bulletin["id"] not in [m["bulletin_id"] for m in lamp_inbox]
    own.post(f"/v1/inbox/{inbox[0]['id']}/read").raise_for_status()
    assert admin.get(f"/v1/bulletins/{bulletin['id']}").json()["read"] == 1
    assert_problem(
        admin.post("/v1/bulletins", json={"kind": "wto_tbt", "title": "x", "products": ["9503"]}),
        422,
        "validation",
    )


def test_template_missing_a_variable_is_refused_at_save(stack: Stack, admin: httpx.Client) -> None:
    customs = client_for(admin, stack.url("gateway"), ["notify:read", "notify:write"], agency="ciq")
    assert_problem(
        customs.put("/v1/templates/risk.warning/en", json={"title": "x", "body": "y"}),
        403,
        "forbidden",
    )
    bad = admin.put(
        "/v1/templates/risk.warning/en",
        json={"title": "Warning {batch}", "body": "Pay {fine} by {deadline}"},
    )
    problem = assert_problem(bad, 422, "validation")
    assert "fine" in problem["detail"] and "deadline" in problem["detail"]
    assert_problem(
        admin.put(
            "/v1/templates/risk.warning/en", json={"title": "{batch.__class__}", "body": "x"}
        ),
        422,
        "validation",
    )
    good = admin.put(
        "/v1/templates/event/en", json={"title": "Event {type}", "body": "{subject} at {time}"}
    )
    assert good.status_code == 200 and good.json()["custom"]


def test_dead_letters_are_listed_and_retried(stack: Stack, admin: httpx.Client) -> None:
    publish_raw(stack, "registry.enterprise.registered", b"{not an event", msg_id=uuid.uuid4().hex)

    def every(limit: int) -> list[dict[str, Any]]:
        """Every dead letter, page by page (the pages as every other list makes them)."""
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = admin.get("/v1/dead-letters", params={"limit": limit, "cursor": cursor}).json()
            items += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                assert page["total"] >= len(items)
                return items

    def listed() -> list[dict[str, Any]]:
        return [d for d in every(500) if d["consumer"] == "notify-registry"]

    letters = wait_until(listed, timeout=60, what="a dead letter")
    assert [d["seq"] for d in every(1)] == [d["seq"] for d in every(500)]
    assert_problem(admin.get("/v1/dead-letters", params={"cursor": "garbage"}), 400, "bad-request")
    seq = letters[-1]["seq"]
    assert letters[-1]["original_subject"] == "registry.enterprise.registered"
    assert_problem(admin.post(f"/v1/dead-letters/{2**62}/retry"), 404, "not-found")

    # A level for an enterprise inspection has not heard of yet: it gives up after its
    # retries. Once registry announces the enterprise, a retry applies it, through the same
    # consumer and inbox, and the letter leaves the list; a poison letter retried stays.
    uscc = new_uscc()
    level = make_event(
        source="/services/credit",
        type="credit.level.changed.v1",
        subject=uscc,
        data=CreditLevelChanged(uscc=uscc, to_level="C", sequence=1),
    )
    publish_raw(stack, "credit.level.changed", level.model_dump_json().encode(), msg_id=level.id)
    early = wait_until(
        lambda: [d for d in every(500) if d["event_id"] == level.id],
        timeout=90,
        what="inspection gives up on the early level",
    )
    assert early[0]["consumer"] == "inspection-credit" and "LookupError" in early[0]["error"]
    admin.post("/v1/enterprises", json=enterprise_body(uscc)).raise_for_status()
    wait_until(
        lambda: sql(stack, "inspection", "SELECT 1 FROM directory WHERE uscc = $1", uscc),
        what="inspection knows the enterprise",
    )
    for letter in (early[0], letters[-1]):
        retried = admin.post(f"/v1/dead-letters/{letter['seq']}/retry")
        assert retried.status_code == 202 and retried.json()["seq"] == letter["seq"]
    wait_until(
        lambda: early[0]["seq"] not in [d["seq"] for d in every(500)], what="the letter applied"
    )
    applied = "SELECT count(*) FROM inbox WHERE consumer = 'inspection-credit' AND event_id = $1"
    assert sql(stack, "inspection", applied, uuid.UUID(level.id)) == [(1,)]
    wait_until(
        lambda: (
            metric(
                stack,
                "notify",
                "consumer_messages_total",
                consumer="notify-registry",
                outcome="retry_failed",
            )
            > 0
        ),
        what="notify tried the poison letter again",
    )
    assert seq in [d["seq"] for d in every(500)], "a poison letter stays after a retry"
    ciq = client_for(admin, stack.url("gateway"), ["notify:read"], agency="ciq")
    assert ciq.get("/v1/dead-letters").status_code == 403
