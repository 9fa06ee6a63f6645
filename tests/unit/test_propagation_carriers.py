"""Every carrier round-trips trace context with every configured propagator and ignores garbage."""

from __future__ import annotations

import pytest
from opentelemetry import baggage, propagate, trace

import tracing
from tracing.propagation import (
    HEADERS_GETTER,
    HEADERS_SETTER,
    METADATA_GETTER,
    METADATA_SETTER,
    context_from_environment,
    environment_for_child,
    extract,
    extract_from_object,
    inject,
    inject_into_object,
)

VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
ALL_PROPAGATORS = ("tracecontext", "baggage", "b3multi", "jaeger")


def _headers_round_trip(context):
    headers: dict[str, str] = {}
    inject(headers, HEADERS_SETTER, context)
    return extract(headers, HEADERS_GETTER)


def _metadata_round_trip(context):
    metadata: list[tuple[str, object]] = [("grpc-trace-bin", b"\x00\x01"), ("traceparent-bin", b"\xff")]
    inject(metadata, METADATA_SETTER, context)
    assert metadata[:2] == [("grpc-trace-bin", b"\x00\x01"), ("traceparent-bin", b"\xff")], (
        "binary keys untouched"
    )
    return extract(tuple(metadata), METADATA_GETTER)


def _environment_round_trip(context):
    return context_from_environment(environment_for_child({}, context))


def _annotations_round_trip(context):
    obj: dict = {}
    inject_into_object(obj, context)
    return extract_from_object(obj)


ROUND_TRIPS = [_headers_round_trip, _metadata_round_trip, _environment_round_trip, _annotations_round_trip]


@pytest.mark.parametrize("propagators", [("tracecontext", "baggage"), ("b3",), ("b3multi",), ("jaeger",)])
@pytest.mark.parametrize("round_trip", ROUND_TRIPS, ids=lambda f: f.__name__.strip("_"))
def test_context_survives_every_carrier_with_every_propagator(recorder, round_trip, propagators):
    propagate.set_global_textmap(tracing.build_propagator(propagators))
    with recorder.provider.get_tracer("t").start_as_current_span("out") as span:
        context = baggage.set_baggage("tenant", "acme")
    received = trace.get_current_span(round_trip(context)).get_span_context()
    sent = span.get_span_context()
    assert (received.trace_id, received.span_id, received.is_remote) == (sent.trace_id, sent.span_id, True)
    if "baggage" in propagators or "jaeger" in propagators:
        assert baggage.get_baggage("tenant", round_trip(context)) == "acme"


def test_header_names_are_matched_case_insensitively():
    context = extract({"TraceParent": VALID}, HEADERS_GETTER)
    assert trace.get_current_span(context).get_span_context().span_id == 0x00F067AA0BA902B7


HOSTILE_HEADERS = [
    {"traceparent": 123},
    {"traceparent": b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
    {"traceparent": ["list"]},
    {"traceparent": "00-" + "f" * 100_000},
    {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"},
    {"b3": "garbage-in-b3"},
    {"b3": "4bf92f3577b34da6a3ce929d0e0e4736-zz-1"},
    {"x-b3-traceid": "zz", "x-b3-spanid": "!!", "x-b3-sampled": "yes"},
    {"uber-trace-id": "::::"},
    {"uber-trace-id": "nothex:nothex:0:1", "uberctx-k": "v" * 100_000},
    {"baggage": "k=v;;;===,,," * 2000},
    {7: VALID, None: VALID},
]


@pytest.mark.parametrize("headers", HOSTILE_HEADERS, ids=lambda h: repr(h)[:50])
def test_hostile_headers_give_a_new_root_never_an_error(headers):
    propagate.set_global_textmap(tracing.build_propagator(ALL_PROPAGATORS))
    context = extract(headers, HEADERS_GETTER)
    assert not trace.get_current_span(context).get_span_context().is_valid


HOSTILE_METADATA = [
    [("traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")],
    [("traceparent-bin", VALID)],
    [(b"traceparent", VALID)],
    [("traceparent", None)],
    [("traceparent", "garbage"), ("traceparent", "also garbage")],
    [("uber-trace-id", "1:2")],
    "not a sequence of pairs",
    None,
]


@pytest.mark.parametrize("metadata", HOSTILE_METADATA, ids=lambda m: repr(m)[:50])
def test_hostile_metadata_gives_a_new_root_never_an_error(metadata):
    propagate.set_global_textmap(tracing.build_propagator(ALL_PROPAGATORS))
    context = extract(metadata, METADATA_GETTER)
    assert not trace.get_current_span(context).get_span_context().is_valid
