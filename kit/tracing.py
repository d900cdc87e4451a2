"""OpenTelemetry traces across gateway → service → NATS → consumer.

Off unless an OTLP endpoint is configured (`OTEL_EXPORTER_OTLP_ENDPOINT` or
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, the SDK's standard variables; OTLP over HTTP/protobuf).
Then every process exports its spans, named `zone-<service>` unless `OTEL_SERVICE_NAME` says
otherwise:

- a SERVER span per HTTP request, child of the caller's `traceparent`; the gateway makes a
  CLIENT span for each call it forwards and sends that span's `traceparent`, so a service's
  request span is the child of the gateway's call;
- a PRODUCER span per event the outbox relay publishes, child of the request that wrote the
  event (the CloudEvent's `traceparent`), and sent as the message's `traceparent` header;
- a CONSUMER span per event a consumer applies, child of that header; events the handler emits
  continue the same trace.

When off, nothing is exported and the ids in `traceparent` headers are still made and passed
on, so logs keep one trace id per request either way.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
)

TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
__all__ = ["Span", "SpanKind", "active", "configure", "parent_context", "start"]
_tracer = trace.get_tracer("zone-platform")
enabled = False


def configure(service: str) -> bool:
    """Install the SDK with an OTLP exporter if an endpoint is configured; True if it did."""
    global enabled
    if enabled:
        return True
    if not (
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    ):
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    name = os.environ.get("OTEL_SERVICE_NAME") or f"zone-{service}"
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    enabled = True
    return True


def parent_context(traceparent: str | None) -> Context | None:
    """The remote span a W3C `traceparent` names, as a parent; None if absent or invalid."""
    match = TRACEPARENT.match(traceparent or "")
    if match is None:
        return None
    remote = SpanContext(
        trace_id=int(match.group(1), 16),
        span_id=int(match.group(2), 16),
        is_remote=True,
        trace_flags=TraceFlags(int(match.group(3), 16)),
    )
    if not remote.is_valid:
        return None
    return trace.set_span_in_context(NonRecordingSpan(remote))


def traceparent_of(span: Span) -> str | None:
    """The `traceparent` naming `span`, or None for an invalid (no-op) span."""
    ctx = span.get_span_context()
    if not ctx.is_valid:
        return None
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"


def start(name: str, kind: SpanKind, parent: str | None, **attributes: Any) -> Span:
    """A span, child of `parent`; a no-op span when tracing is off."""
    if not enabled:
        return trace.INVALID_SPAN
    return _tracer.start_span(
        name, context=parent_context(parent), kind=kind, attributes=attributes or None
    )


@contextlib.contextmanager
def active(span: Span) -> Iterator[Span]:
    """Make `span` current while the block runs, record an escaping error, end it after
    (nothing at all when tracing is off: this sits on every request and every event)."""
    if not enabled:
        yield span
        return
    with trace.use_span(span, end_on_exit=True, record_exception=False) as current:
        try:
            yield current
        except BaseException as exc:
            if isinstance(exc, Exception):
                current.record_exception(exc)
                current.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise


def request_done(method: str, route: str, status: int) -> None:
    """Name the current SERVER span by its route and record the answer's status."""
    if not enabled:
        return
    span = trace.get_current_span()
    span.update_name(f"{method} {route}")
    span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR, str(status)))


def shutdown() -> None:
    """Flush and stop the exporter (at process exit)."""
    provider = trace.get_tracer_provider()
    if enabled and hasattr(provider, "shutdown"):
        provider.shutdown()
