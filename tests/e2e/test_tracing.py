"""One request's trace across processes, as an OTLP collector receives it: gateway (its request,
then its call upstream) → registry (its request, its statements, then the relay publishing the
event) → NATS → credit and inspection consumers; each span made by OpenTelemetry's own
instrumentation for its kind, with the semantic-convention attributes dashboards query."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from deploy.launcher import Stack
from deploy.processes import free_port
from tests.helpers import enterprise_body, make_stack, new_uscc, token, wait_until

SERVER, CLIENT, PRODUCER, CONSUMER = 2, 3, 4, 5  # OTLP span kinds
FASTAPI = "opentelemetry.instrumentation.fastapi"
FORWARDER = "gateway.proxy"  # the gateway's own forwarder makes its CLIENT span (gateway/hop.py)
ASYNCPG = "opentelemetry.instrumentation.asyncpg"


class Collector(ThreadingHTTPServer):
    """An OTLP/HTTP trace receiver on loopback that keeps every span it is sent."""

    def __init__(self, port: int):
        self.spans: list[dict[str, object]] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Receive)


class _Receive(BaseHTTPRequestHandler):
    server: Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest.FromString(body)
        with self.server.lock:
            for resource in request.resource_spans:
                service = next(
                    a.value.string_value
                    for a in resource.resource.attributes
                    if a.key == "service.name"
                )
                for scope in resource.scope_spans:
                    for span in scope.spans:
                        self.server.spans.append(
                            {
                                "service": service,
                                "scope": scope.scope.name,
                                "name": span.name,
                                "kind": span.kind,
                                "trace_id": span.trace_id.hex(),
                                "span_id": span.span_id.hex(),
                                "parent": span.parent_span_id.hex(),
                                "attributes": {
                                    a.key: getattr(a.value, a.value.WhichOneof("value"))
                                    for a in span.attributes
                                },
                            }
                        )
        payload = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture(scope="module")
def traced() -> Iterator[tuple[Stack, Collector]]:
    collector = Collector(free_port())
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    stack = make_stack("tracing")
    stack.workers = 1
    stack.env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.server_port}",
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }
    try:
        stack.start(seed=False)
        yield stack, collector
    finally:
        stack.stop()
        collector.shutdown()


def test_one_registration_is_one_trace_across_services(
    traced: tuple[Stack, Collector],
) -> None:
    stack, collector = traced
    trace_id = os.urandom(16).hex()
    caller = os.urandom(8).hex()
    response = httpx.post(
        f"{stack.url('gateway')}/v1/enterprises",
        json=enterprise_body(new_uscc()),
        headers={
            "Authorization": f"Bearer {token(stack.url('gateway'))}",
            "traceparent": f"00-{trace_id}-{caller}-01",
        },
        timeout=30,
    )
    assert response.status_code == 201, response.text

    def spans() -> list[dict[str, Any]] | None:
        with collector.lock:
            mine = [s for s in collector.spans if s["trace_id"] == trace_id]
        consumers = {s["service"] for s in mine if s["kind"] == CONSUMER}
        return mine if {"zone-credit", "zone-inspection"} <= consumers else None

    mine = wait_until(spans, timeout=60, interval=0.5, what="the trace's spans exported")

    def one(service: str, kind: int, scope: str, parent: str | None = None) -> dict[str, Any]:
        found = [
            s
            for s in mine
            if s["service"] == service
            and s["kind"] == kind
            and s["scope"] == scope
            and parent in (None, s["parent"])
        ]
        assert found, (service, kind, scope, parent, mine)
        return found[0]

    gateway = one("zone-gateway", SERVER, FASTAPI, parent=caller)
    assert gateway["name"] == "POST /v1/enterprises"
    call = one("zone-gateway", CLIENT, FORWARDER, parent=gateway["span_id"])
    registry = one("zone-registry", SERVER, FASTAPI, parent=call["span_id"])
    assert registry["name"] == "POST /v1/enterprises"
    statement = one("zone-registry", CLIENT, ASYNCPG, parent=registry["span_id"])
    publish = one("zone-registry", PRODUCER, "kit.outbox", parent=registry["span_id"])
    assert publish["name"] == "publish registry.enterprise.registered"
    applied = [
        one(consumer, CONSUMER, "kit.inbox", parent=publish["span_id"])
        for consumer in ("zone-credit", "zone-inspection")
    ]

    for server in (gateway, registry):
        assert server["attributes"]["url.scheme"] == "http"
        assert isinstance(server["attributes"]["server.port"], int)
        assert server["attributes"]["user_agent.original"].startswith("python-httpx/")
        assert server["attributes"]["http.route"] == "/v1/enterprises"
        assert server["attributes"]["http.response.status_code"] == 201
    assert call["attributes"]["url.full"].startswith("http://127.0.0.1:")
    assert call["attributes"]["url.full"].endswith("/v1/enterprises")
    assert call["attributes"]["server.port"] == int(stack.url("registry").rsplit(":", 1)[1])
    assert statement["attributes"]["db.system"] == "postgresql"
    assert publish["attributes"]["messaging.operation.type"] == "send"
    assert publish["attributes"]["messaging.destination.name"] == "registry.enterprise.registered"
    for span in applied:
        assert span["attributes"]["messaging.operation.type"] == "process"
        assert span["attributes"]["messaging.destination.name"] == "registry.enterprise.registered"
        assert span["attributes"]["messaging.system"] == "nats"


def test_only_what_was_asked_for_is_traced(traced: tuple[Stack, Collector]) -> None:
    """The relays' and consumers' polls (a statement with no request or event behind it) and
    the health and metrics probes make no spans: a collector sees requests and events."""
    stack, collector = traced
    httpx.get(f"{stack.url('registry')}/readyz", timeout=10)
    time.sleep(1)  # the exporters send every 200 ms; the relays poll far more often
    with collector.lock:
        spans = list(collector.spans)
    assert spans, "the stack exported nothing"
    assert not [s for s in spans if s["kind"] == CLIENT and s["parent"] == ""]
    paths = {s["attributes"].get("url.path") for s in spans}
    assert not paths & {"/readyz", "/livez", "/metrics"}
