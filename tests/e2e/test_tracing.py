"""One request's trace across processes, as an OTLP collector receives it: gateway (its request,
then its call upstream) → registry (its request, then the relay publishing the event) → NATS →
credit and inspection consumers."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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
                                "name": span.name,
                                "kind": span.kind,
                                "trace_id": span.trace_id.hex(),
                                "span_id": span.span_id.hex(),
                                "parent": span.parent_span_id.hex(),
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

    def spans() -> dict[tuple[str, int, str], dict[str, object]] | None:
        with collector.lock:
            mine = [s for s in collector.spans if s["trace_id"] == trace_id]
        found = {(str(s["service"]), int(s["kind"]), str(s["name"])): s for s in mine}  # type: ignore[call-overload]
        wanted = {
            ("zone-gateway", SERVER, "POST /v1/enterprises"),
            ("zone-gateway", CLIENT, "POST /v1/enterprises"),
            ("zone-registry", SERVER, "POST /v1/enterprises"),
            ("zone-registry", PRODUCER, "publish registry.enterprise.registered"),
            ("zone-credit", CONSUMER, "process registry.enterprise.registered.v1"),
            ("zone-inspection", CONSUMER, "process registry.enterprise.registered.v1"),
        }
        return found if wanted <= set(found) else None

    found = wait_until(spans, timeout=60, interval=0.5, what="the trace's spans exported")
    gateway = found[("zone-gateway", SERVER, "POST /v1/enterprises")]
    call = found[("zone-gateway", CLIENT, "POST /v1/enterprises")]
    registry = found[("zone-registry", SERVER, "POST /v1/enterprises")]
    publish = found[("zone-registry", PRODUCER, "publish registry.enterprise.registered")]
    assert gateway["parent"] == caller
    assert call["parent"] == gateway["span_id"]
    assert registry["parent"] == call["span_id"]
    assert publish["parent"] == registry["span_id"]
    for consumer in ("zone-credit", "zone-inspection"):
        applied = found[(consumer, CONSUMER, "process registry.enterprise.registered.v1")]
        assert applied["parent"] == publish["span_id"], consumer
