"""The trace ids a request carries when tracing is off (no exporter): still one per request,
continued from a valid incoming `traceparent`, parsed by the standard W3C propagator."""

from __future__ import annotations

import re

from kit import tracing

CALLER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
SHAPE = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-01$")


def test_a_valid_traceparent_is_continued_with_a_new_span_id() -> None:
    own = tracing.current_traceparent(CALLER)
    assert SHAPE.match(own)
    assert own.split("-")[1] == CALLER.split("-")[1]
    assert own.split("-")[2] != CALLER.split("-")[2]


def test_an_absent_or_invalid_traceparent_starts_a_new_trace() -> None:
    for incoming in (
        None,
        "",
        "garbage",
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",  # all-zero trace id
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",  # all-zero span id
        "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",  # upper case
    ):
        own = tracing.current_traceparent(incoming)
        assert SHAPE.match(own), incoming
        assert own.split("-")[1] != CALLER.split("-")[1]
        assert tracing.parent_context(incoming) is None, incoming
    assert tracing.current_traceparent(None) != tracing.current_traceparent(None)


def test_spans_are_no_ops_and_name_nothing_when_tracing_is_off() -> None:
    assert not tracing.enabled
    span = tracing.start(__name__, "work", tracing.SpanKind.INTERNAL, CALLER)
    assert tracing.traceparent_of(span) is None


def test_the_sampler_keeps_what_was_asked_for_and_drops_background_calls() -> None:
    from opentelemetry.sdk.trace.sampling import Decision

    everything, none = tracing._AskedFor(), tracing._AskedFor(0.0)
    caller = tracing.parent_context(CALLER)
    trace_id = int(CALLER.split("-")[1], 16)

    def decision(sampler: tracing._AskedFor, kind: tracing.SpanKind, parent: object) -> Decision:
        return sampler.should_sample(parent, trace_id, "x", kind).decision  # type: ignore[arg-type]

    sampled = Decision.RECORD_AND_SAMPLE
    assert decision(everything, tracing.SpanKind.CLIENT, None) is Decision.DROP  # a poll
    assert decision(everything, tracing.SpanKind.SERVER, None) is sampled
    assert decision(everything, tracing.SpanKind.CLIENT, caller) is sampled  # inside a request
    assert decision(none, tracing.SpanKind.SERVER, None) is Decision.DROP
    assert decision(none, tracing.SpanKind.CONSUMER, caller) is sampled  # the caller decided


def test_the_version_00_shortcut_continues_exactly_what_the_propagator_does() -> None:
    """`current_traceparent` reads the common form itself; every other form goes to the
    propagator. Either way the trace continued is the one the propagator finds, or none."""
    trace_id = CALLER.split("-")[1]
    for incoming in (
        CALLER,
        f"00-{trace_id}-b7ad6b7169203331-00",  # not sampled: still the same trace
        f" 00-{trace_id}-b7ad6b7169203331-01 ",  # spaces around: the propagator's call
        f"00-{trace_id}-b7ad6b7169203331-01-extra",  # version 00 takes no more fields
        f"01-{trace_id}-b7ad6b7169203331-01-future",  # a later version may
        f"ff-{trace_id}-b7ad6b7169203331-01",  # version ff is invalid
        f"00-{trace_id}-b7ad6b716920333-01",  # a short span id
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
    ):
        parent = tracing.parent_context(incoming)
        found = tracing.trace.get_current_span(parent).get_span_context() if parent else None
        continued = tracing.current_traceparent(incoming).split("-")[1] == trace_id
        assert continued == (found is not None and f"{found.trace_id:032x}" == trace_id), incoming
