"""OpenTelemetry traces across gateway → service → NATS → consumer.

Off unless an OTLP endpoint is configured (`OTEL_EXPORTER_OTLP_ENDPOINT` or
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, the SDK's standard variables; OTLP over HTTP/protobuf).
Then every process exports its spans, named `zone-<service>` unless `OTEL_SERVICE_NAME` says
otherwise, made by OpenTelemetry's own instrumentations with the stable HTTP semantic
conventions (`OTEL_SEMCONV_STABILITY_OPT_IN=http` unless set otherwise):

- a SERVER span per HTTP request (`opentelemetry-instrumentation-fastapi`), child of the
  caller's `traceparent`; `/livez`, `/readyz` and `/metrics` are not traced;
- a CLIENT span per outgoing HTTP call (`-aiohttp-client`, `-httpx`), which sends its own
  `traceparent`: the gateway's call upstream is the parent of the service's request span;
- a CLIENT span per PostgreSQL statement (`-asyncpg`, under SQLAlchemy too);
- a PRODUCER span per event the outbox relay publishes (`kit.outbox`), child of the request
  that wrote the event (the CloudEvent's `traceparent`), sent as the message's `traceparent`
  header; a CONSUMER span per event a consumer applies (`kit.inbox`), child of that header.
  Both carry the messaging semantic conventions for NATS.

Calls nothing asked for (a relay's poll, a revocation fetch: a CLIENT span with no parent)
are not recorded, so a collector sees requests and events, not the background's heartbeat.
`OTEL_TRACES_SAMPLER_ARG` (e.g. `0.1`) keeps that share of the traces requests start;
everything downstream follows the decision carried in `traceparent`.

When off, nothing is installed (no cost on the request path), and the ids in `traceparent`
headers are still made and passed on, so logs keep one trace id per request either way.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
from collections.abc import Iterator, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_ON,
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes

__all__ = ["Span", "SpanKind", "active", "configure", "instrument_app", "start"]
NOT_TRACED = "/livez$,/readyz$,/metrics$"  # regular expressions, searched in the URL
_W3C = TraceContextTextMapPropagator()
enabled = False


class _AskedFor(Sampler):
    """Spans of requests and events, a share `ratio` of the traces they start (the rest
    follow their parent's decision); none for a call nothing asked for (a root CLIENT span:
    a background poll's statement or fetch)."""

    def __init__(self, ratio: float = 1.0):
        self._parent_based = ParentBased(ALWAYS_ON if ratio >= 1 else TraceIdRatioBased(ratio))

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        parent = trace.get_current_span(parent_context).get_span_context()
        if kind is SpanKind.CLIENT and not parent.is_valid:
            return SamplingResult(Decision.DROP)
        return self._parent_based.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return "AskedFor"


def configure(service: str) -> bool:
    """Install the SDK with an OTLP exporter and the client instrumentations if an endpoint
    is configured; True if it did."""
    global enabled
    if enabled:
        return True
    if not (
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    ):
        return False
    # read once, when the first instrumentation starts: the stable names dashboards query
    os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "http")
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    name = os.environ.get("OTEL_SERVICE_NAME") or f"zone-{service}"
    ratio = float(os.environ.get("OTEL_TRACES_SAMPLER_ARG") or 1.0)
    provider = TracerProvider(
        resource=Resource.create({"service.name": name}), sampler=_AskedFor(ratio)
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    AioHttpClientInstrumentor().instrument()
    HTTPXClientInstrumentor().instrument()
    AsyncPGInstrumentor().instrument()  # type: ignore[no-untyped-call]
    enabled = True
    return True


def instrument_app(app: Any) -> None:
    """Give a FastAPI app its SERVER spans (when tracing is on): the instrumentation wraps
    the whole middleware stack, so everything inside sees the request's span as current."""
    if not enabled:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app, excluded_urls=NOT_TRACED, exclude_spans=["receive", "send"]
    )


def name_request(method: str, route: str) -> None:
    """Name the current SERVER span by the route that answered: the instrumentation names it
    before routing, from FastAPI's routes, and the gateway forwards by prefix, not route."""
    if not enabled or route == "unmatched":
        return
    span = trace.get_current_span()
    span.update_name(f"{method} {route}")
    span.set_attribute("http.route", route)


def parent_context(traceparent: str | None) -> Context | None:
    """The remote span a W3C `traceparent` names, as a parent; None if absent or invalid."""
    if not traceparent:
        return None
    context = _W3C.extract({"traceparent": traceparent})
    return context if trace.get_current_span(context).get_span_context().is_valid else None


def traceparent_of(span: Span) -> str | None:
    """The `traceparent` naming `span`, or None for an invalid (no-op) span."""
    if not span.get_span_context().is_valid:
        return None
    carrier: dict[str, str] = {}
    _W3C.inject(carrier, context=trace.set_span_in_context(span))
    return carrier.get("traceparent")


def current_traceparent(incoming: str | None) -> str:
    """The `traceparent` of the current request: its SERVER span's when tracing is on, else
    a child id of a valid `incoming` one (or the root of a new trace), made for the logs and
    for the calls and events that follow."""
    own = traceparent_of(trace.get_current_span()) if enabled else None
    if own:
        return own
    plain = _VERSION_00.fullmatch(incoming) if incoming else None
    if plain and plain[1] != _ZERO_TRACE and plain[2] != _ZERO_SPAN:
        # the common form (every request the gateway forwards), read without building the
        # propagator's context; any other form goes through the propagator as before
        trace_id = plain[1]
    else:
        parent = parent_context(incoming)
        remote = trace.get_current_span(parent).get_span_context() if parent else None
        trace_id = f"{remote.trace_id:032x}" if remote else os.urandom(16).hex()
    return f"00-{trace_id}-{os.urandom(8).hex()}-01"


# W3C trace context, version 00: trace id, parent id, flags (lower-case hex, nothing more)
_VERSION_00 = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16


@functools.cache
def _tracer(scope: str) -> trace.Tracer:
    return trace.get_tracer(scope)


def start(scope: str, name: str, kind: SpanKind, parent: str | None, **attributes: Any) -> Span:
    """A span of instrumentation `scope` (the module making it), child of `parent`; a no-op
    span when tracing is off."""
    if not enabled:
        return trace.INVALID_SPAN
    return _tracer(scope).start_span(
        name, context=parent_context(parent), kind=kind, attributes=attributes or None
    )


@contextlib.contextmanager
def active(span: Span) -> Iterator[Span]:
    """Make `span` current while the block runs, record an escaping error, end it after
    (nothing at all when tracing is off: this sits on every event)."""
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


def shutdown() -> None:
    """Flush and stop the exporter (at process exit)."""
    provider = trace.get_tracer_provider()
    if enabled and hasattr(provider, "shutdown"):
        provider.shutdown()
