"""tracing.instrumentation, the contract the adapters share: a call ends exactly once with the outcome
the protocol describes, the decision is the same whatever the carrier, and a forced trace reaches
every span started under it."""

from __future__ import annotations

import threading

import pytest
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind, StatusCode
from testkit.ids import CountingIds

import tracing
from tracing.instrumentation import (
    FORCE_TRACE_HEADER,
    FORCED_ATTRIBUTE,
    NOT_RECORDING,
    Incoming,
    Instrumentation,
    Outcome,
    Start,
    attach,
    detach,
    extract,
    inject,
)
from tracing.propagation import HEADERS_GETTER, HEADERS_SETTER, METADATA_GETTER, TRUST_NONE

TP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"
START = Start("op", SpanKind.SERVER, {"a": 1})


def _describe(status, details, exception) -> Outcome:
    if status is None:  # what an adapter decides for "an exception before a status": here 599
        return Outcome(True, "failed", exception, {"status": 599})
    return Outcome(status >= 500, details or str(status), exception, {"status": status})


def _provider(sampler=None, exporter=None, ids=None):
    provider = TracerProvider(
        sampler=sampler or ALWAYS_ON, id_generator=ids or CountingIds(), shutdown_on_exit=False
    )
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def _started(exporter, **options):
    core = Instrumentation("t", _describe, tracer_provider=_provider(exporter=exporter), **options)
    decided = core.decide_server({}, HEADERS_GETTER, None)
    assert isinstance(decided, Incoming)
    return core.start_server(START, decided)


def test_the_first_end_counts_whoever_calls_it_from_whatever_thread():
    exporter = InMemorySpanExporter()
    call = _started(exporter)
    barrier = threading.Barrier(8)

    def end(i):
        barrier.wait()
        call.end(500 + i, f"from {i}")

    threads = [threading.Thread(target=end, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    call.fail(ValueError("late"))
    (span,) = exporter.get_finished_spans()
    assert call.ended
    assert span.status.description == f"from {span.attributes['status'] - 500}"
    assert [e.name for e in span.events] == []  # the late fail() recorded nothing


def test_fail_records_what_the_protocol_says_an_exception_means():
    exporter = InMemorySpanExporter()
    call = _started(exporter)
    call.fail(KeyError("k"))
    (span,) = exporter.get_finished_spans()
    assert span.attributes["status"] == 599 and span.status.status_code is StatusCode.ERROR
    (event,) = span.events
    assert event.attributes["exception.type"] == "KeyError"
    assert event.attributes["exception.escaped"] == "True"


@pytest.mark.parametrize("first", ["end", "release"])
def test_a_held_call_ends_when_both_end_and_release_came(first):
    exporter = InMemorySpanExporter()
    call = _started(exporter)
    call.hold()
    (call.end if first == "end" else call.release)()
    assert exporter.get_finished_spans() == ()
    (call.release if first == "end" else call.end)()
    assert len(exporter.get_finished_spans()) == 1


def test_a_call_that_does_not_record_ends_nothing_and_enters_its_context():
    core = Instrumentation("t", _describe, tracer_provider=_provider(ParentBased(ALWAYS_OFF)))
    decided = core.decide_server([("traceparent", TP + "-00")], METADATA_GETTER, None)
    assert isinstance(decided, Context)
    token = attach(decided)
    try:
        assert trace.get_current_span().get_span_context().trace_id == 0x4BF92F3577B34DA6A3CE929D0E0E4736
    finally:
        detach(token)
    NOT_RECORDING.end(500)
    NOT_RECORDING.fail(ValueError())
    assert not NOT_RECORDING.ended


CARRIERS = {
    "none": {},
    "sampled": {"traceparent": TP + "-01"},
    "unsampled": {"traceparent": TP + "-00"},
    "with_state": {"traceparent": TP + "-01", "tracestate": "k=v"},
    "garbage": {"traceparent": "00-xyz"},
    "forced": {"traceparent": TP + "-00", FORCE_TRACE_HEADER: "1"},
    "forced_root": {FORCE_TRACE_HEADER: "1"},
}


SAMPLERS = {
    "parentbased_off": lambda: ParentBased(ALWAYS_OFF),
    "ratio_half": lambda: TraceIdRatioBased(0.5),
    "always_off": lambda: ALWAYS_OFF,
}


def _decisions(sampler: str, trust: str, carrier: dict, as_pairs: bool) -> list:
    """Six calls' decisions, as span ids and flags, with the carrier as metadata pairs or headers."""
    policy = None if trust == "all" else TRUST_NONE
    core = Instrumentation(
        "t", _describe, tracer_provider=_provider(SAMPLERS[sampler]()), trust_policy=policy
    )
    views = []
    for _ in range(6):
        if as_pairs:
            decided = core.decide_server(list(carrier.items()), METADATA_GETTER, None)
        else:
            decided = core.decide_server(carrier, HEADERS_GETTER, None)
        if isinstance(decided, Context):
            sc = trace.get_current_span(decided).get_span_context()
            views.append(("unsampled", sc.trace_id, sc.span_id, int(sc.trace_flags)))
            continue
        call = core.start_server(START, decided)
        sc = call.span.get_span_context()
        forced = call.span.attributes.get(FORCED_ATTRIBUTE) if call.recording else None
        views.append(("started", sc.trace_id, sc.span_id, int(sc.trace_flags), forced, len(decided.links)))
    return views


@pytest.mark.parametrize("trust", ["all", "none"])
@pytest.mark.parametrize("carrier", sorted(CARRIERS))
@pytest.mark.parametrize("sampler", sorted(SAMPLERS))
def test_metadata_pairs_and_header_mappings_get_the_same_decision(sampler, carrier, trust):
    pairs = _decisions(sampler, trust, CARRIERS[carrier], as_pairs=True)
    assert pairs == _decisions(sampler, trust, CARRIERS[carrier], as_pairs=False)
    if carrier.startswith("forced") and trust == "all":  # sampled whatever the sampler, and marked
        assert all(view[0] == "started" and view[4] is True for view in pairs)
    else:  # an untrusted caller's request is never forced
        assert not any(view[0] == "started" and view[4] for view in pairs)


def test_every_span_started_under_a_forced_request_is_sampled_and_marked():
    exporter = InMemorySpanExporter()
    provider = _provider(ALWAYS_OFF, exporter)
    incoming = extract({FORCE_TRACE_HEADER: "1"}, HEADERS_GETTER)

    @tracing.traced(tracer_provider=provider)
    def inner():
        with tracing.operation("step", tracer_provider=provider):
            carrier: dict = {}
            inject(carrier, HEADERS_SETTER, tracing.instrumentation.current_context())
            return carrier

    token = attach(incoming)
    try:
        sent = inner()
    finally:
        detach(token)
    spans = exporter.get_finished_spans()
    assert sorted(s.name for s in spans) == [
        "step",
        "test_every_span_started_under_a_forced_request_is_sampled_and_marked.<locals>.inner",
    ]
    assert all(s.attributes[FORCED_ATTRIBUTE] is True and s.context.trace_flags.sampled for s in spans)
    assert sent[FORCE_TRACE_HEADER] == "1" and sent["traceparent"].endswith("-01")


@pytest.mark.parametrize("value", ["0", "yes", "", " 1 x"])
def test_only_the_documented_value_marks_a_request(value):
    assert extract({FORCE_TRACE_HEADER: value}, HEADERS_GETTER) == extract({}, HEADERS_GETTER)
    carrier: dict = {}
    inject(carrier, HEADERS_SETTER, extract({FORCE_TRACE_HEADER: value}, HEADERS_GETTER))
    assert FORCE_TRACE_HEADER not in carrier
