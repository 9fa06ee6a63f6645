"""The lean span behaves as the SDK's span: the same API calls, side by side on an SDK TracerProvider and
on the LeanTracerProvider setup() installs, give the same span contexts, the same warnings and the
same exported span, byte for byte once encoded."""

from __future__ import annotations

import json
import logging

import opentelemetry.sdk.trace as sdk_trace_module
import pytest
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState
from testkit.ids import CountingIds
from testkit.otlp import CaptureReceiver

import tracing
import tracing._lean._span as lean_span_module
from tracing._lean import LeanSpan, LeanTracerProvider
from tracing._otel_private import span_context_in
from tracing._starter import SpanStarter
from tracing.export import ExportStats
from tracing.export._encoder import Encoder
from tracing.export._record import from_readable
from tracing.instrumentation import Call

T0 = 1_700_000_000_000_000_000
RESOURCE = Resource({"service.name": "side-by-side"})
REMOTE = SpanContext(0xABC, 0xDEF, True, TraceFlags(1), TraceState([("vendor", "v1")]))
UNSAMPLED_REMOTE = SpanContext(0xABC, 0xDEF, True, TraceFlags(0))
LINKED = SpanContext(0x1234, 0x5678, False, TraceFlags(1))


class Collected:
    """Stands in for the export pipeline: keeps the records the lean spans hand over."""

    def __init__(self):
        self.records: list[tuple] = []
        self.put = self.records.append

    def force_flush(self, timeout_s: float) -> bool:
        return True

    def shutdown(self, timeout_s: float) -> bool:
        return True

    def stats(self) -> ExportStats:
        return ExportStats()


class _RecordOnly(Sampler):
    def should_sample(
        self, parent_context, trace_id, name, kind=None, attributes=None, links=None, trace_state=None
    ):
        return SamplingResult(Decision.RECORD_ONLY, {"sampler": "record-only"})

    def get_description(self) -> str:
        return "record-only"


class _Attributing(Sampler):
    """Samples, adding an attribute and editing the trace state, as a vendor sampler may."""

    def should_sample(
        self, parent_context, trace_id, name, kind=None, attributes=None, links=None, trace_state=None
    ):
        state = trace.get_current_span(parent_context).get_span_context().trace_state.add("mine", "1")
        return SamplingResult(Decision.RECORD_AND_SAMPLE, {**(attributes or {}), "sampler.rate": 1.0}, state)

    def get_description(self) -> str:
        return "attributing"


def _attributes(tracer) -> None:
    span = tracer.start_span("attrs", kind=SpanKind.SERVER, attributes={"a": 1, "b": "x", "list": [1, 2]})
    span.set_attribute("c", 2.5)
    span.set_attribute("a", 10)  # re-set: moves to the end
    span.set_attribute("", "empty key")
    span.set_attribute("seq", ["x", "y"])
    span.set_attribute("obj", object())
    span.set_attribute("bytes", b"\x01")
    span.set_attribute("none", None)
    span.set_attributes({"d": True, "e": (1.5,), "b": "again", "": 1, 3: "int key"})
    span.set_attribute("long", "z" * 50)
    span.end()


def _limits(tracer) -> None:
    span = tracer.start_span("limits", attributes={f"k{i}": i for i in range(7)})
    for i in range(6):
        span.set_attribute(f"later{i}", i)
        span.add_event(f"e{i}", {f"x{j}": j for j in range(4)}, T0 + i)
        span.add_link(LINKED, {f"l{j}": j for j in range(4)})
    span.set_attributes({"m1": 1, "m2": "two", "m3": 3.0})
    span.set_attribute("long", "z" * 50)
    span.end()


def _events_and_links(tracer) -> None:
    span = tracer.start_span(
        "events",
        links=[
            Link(LINKED, {"at": "start"}),
            Link(SpanContext(0, 0, False), {"kept": "attributes make it valid"}),
        ],
    )
    span.add_event("plain")
    span.add_event("with attributes", {"k": "v", "n": [1, 2]}, T0 + 5)
    span.add_link(SpanContext(0, 0, False))  # invalid and bare: not kept
    span.add_link(REMOTE, {"why": "fan-in"})
    try:
        raise KeyError("missing")
    except KeyError as exc:
        span.record_exception(exc, {"extra": 1})
        span.record_exception(exc, escaped=True, timestamp=T0 + 9)
    span.end()


def _status(tracer) -> None:
    first = tracer.start_span("status-ok")
    first.set_status(Status(StatusCode.ERROR, "bad"))
    first.set_status(StatusCode.OK)
    first.set_status(StatusCode.ERROR, "ignored after OK")
    first.end()
    second = tracer.start_span("status-error")
    second.set_status(StatusCode.UNSET)
    second.set_status(Status(StatusCode.ERROR, "described"), "and a description too")
    second.end()


def _after_end(tracer) -> None:
    span = tracer.start_span("ended")
    span.update_name("renamed")
    span.end(T0 + 1)
    span.set_attribute("late", 1)
    span.set_attributes({"late": 2})
    span.add_event("late")
    span.add_link(LINKED)
    span.set_status(StatusCode.ERROR)
    span.update_name("too late")
    span.end()
    assert not span.is_recording()


def _context_managers(tracer) -> None:
    with pytest.raises(ValueError), tracer.start_as_current_span("outer", kind=SpanKind.CLIENT) as outer:
        with tracer.start_as_current_span("inner") as inner:
            assert trace.get_current_span() is inner
            assert inner.get_span_context().trace_id == outer.get_span_context().trace_id
        raise ValueError("boom")
    with (
        pytest.raises(RuntimeError),
        tracer.start_as_current_span("quiet", record_exception=False, set_status_on_exception=False),
    ):
        raise RuntimeError("not recorded")
    with pytest.raises(RuntimeError), tracer.start_span("as-manager") as span:
        span.set_attribute("inside", True)
        raise RuntimeError("recorded by __exit__")
    with tracer.start_as_current_span("kept-open", end_on_exit=False) as span:
        pass
    span.end(T0 + 3)


def _remote_parent(tracer) -> None:
    context = trace.set_span_in_context(trace.NonRecordingSpan(REMOTE))
    tracer.start_span("child of remote", context, SpanKind.SERVER).end()
    context = trace.set_span_in_context(trace.NonRecordingSpan(UNSAMPLED_REMOTE))
    tracer.start_span("child of unsampled remote", context).end()
    for i in range(20):
        tracer.start_span(f"root {i}").end()


SCENARIOS = [_attributes, _limits, _events_and_links, _status, _after_end, _context_managers, _remote_parent]
SAMPLERS = {
    "parentbased_always_on": ParentBased(ALWAYS_ON),
    "always_off": ALWAYS_OFF,
    "ratio": TraceIdRatioBased(0.5),
    "record_only": _RecordOnly(),
    "attributing": _Attributing(),
}
LIMITS = {
    "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT": "5",
    "OTEL_SPAN_EVENT_COUNT_LIMIT": "3",
    "OTEL_SPAN_LINK_COUNT_LIMIT": "2",
    "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT": "2",
    "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT": "2",
    "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT": "8",
    "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT": "12",
}


@pytest.fixture
def fixed_clock(monkeypatch):
    monkeypatch.setattr(sdk_trace_module, "time_ns", lambda: T0)
    monkeypatch.setattr(lean_span_module, "time_ns", lambda: T0)


def _run(provider, scenario, caplog) -> list[str]:
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        scenario(provider.get_tracer("side-by-side", "1.0"))
    return [r.getMessage() for r in caplog.records]


def _pair(sampler):
    sdk = TracerProvider(
        sampler=sampler, resource=RESOURCE, id_generator=CountingIds(), shutdown_on_exit=False
    )
    exported = InMemorySpanExporter()
    sdk.add_span_processor(SimpleSpanProcessor(exported))
    collected = Collected()
    lean = LeanTracerProvider(collected, sampler=sampler, resource=RESOURCE, shutdown_timeout_s=1)
    lean.id_generator = CountingIds()
    return sdk, exported, lean, collected


@pytest.mark.parametrize("limited", [False, True], ids=["default-limits", "env-limits"])
@pytest.mark.parametrize("sampler", sorted(SAMPLERS))
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__.strip("_"))
def test_lean_spans_export_and_warn_exactly_as_sdk_spans(
    scenario, sampler, limited, monkeypatch, caplog, fixed_clock
):
    if limited:
        for name, value in LIMITS.items():
            monkeypatch.setenv(name, value)
    sdk, exported, lean, collected = _pair(SAMPLERS[sampler])
    sdk_warnings = _run(sdk, scenario, caplog)
    lean_warnings = _run(lean, scenario, caplog)
    assert lean_warnings == sdk_warnings
    sdk_records = [
        from_readable(span) for span in exported.get_finished_spans() if span.context.trace_flags.sampled
    ]
    assert len(collected.records) == len(sdk_records)
    for mine, theirs in zip(collected.records, sdk_records, strict=True):
        assert Encoder().encode([mine]) == Encoder().encode([theirs]), (mine, theirs)


def test_every_recording_span_is_lean_while_the_pipeline_is_the_only_processor():
    _, _, lean, collected = _pair(ParentBased(ALWAYS_ON))
    tracer = lean.get_tracer("t")
    span = tracer.start_span("x")
    assert type(span) is LeanSpan
    span.end()
    assert len(collected.records) == 1


def test_a_users_span_processor_gets_sdk_spans_and_export_continues():
    _, _, lean, collected = _pair(ParentBased(ALWAYS_ON))
    seen: list[ReadableSpan] = []

    class Mine(SpanProcessor):
        def on_end(self, span: ReadableSpan) -> None:
            seen.append(span)

    lean.add_span_processor(Mine())
    tracer = lean.get_tracer("t")
    tracer.start_span("x", attributes={"k": "v"}).end()
    SpanStarter("s", tracer_provider=lean).start("y", None, SpanKind.SERVER).end()
    assert [s.name for s in seen] == ["x", "y"] and isinstance(seen[0], ReadableSpan)
    assert seen[0].attributes["k"] == "v"
    assert [r[5] for r in collected.records] == ["x", "y"]  # the pipeline still exports them, as records


@pytest.mark.parametrize("sampler", sorted(SAMPLERS))
def test_the_starters_decided_spans_equal_the_tracers(sampler, fixed_clock):
    """SpanStarter hands its decision to start_decided(); the span is the one start_span would make."""
    _, _, by_tracer, from_tracer = _pair(SAMPLERS[sampler])
    _, _, by_starter, from_starter = _pair(SAMPLERS[sampler])
    starter = SpanStarter("side-by-side", "1.0", tracer_provider=by_starter)
    tracer = by_tracer.get_tracer("side-by-side", "1.0")
    parents = [None, trace.set_span_in_context(trace.NonRecordingSpan(REMOTE))]
    parents.append(trace.set_span_in_context(trace.NonRecordingSpan(UNSAMPLED_REMOTE)))
    for parent in parents * 5:
        a = tracer.start_span("op", parent, SpanKind.SERVER, {"k": "v"})
        b = starter.start("op", parent, SpanKind.SERVER, {"k": "v"})
        assert a.get_span_context() == b.get_span_context()
        assert (type(a), a.is_recording()) == (type(b), b.is_recording())
        a.end()
        b.end()
    assert [Encoder().encode([r]) for r in from_tracer.records] == [
        Encoder().encode([r]) for r in from_starter.records
    ]


def test_a_lean_span_in_a_context_is_read_as_its_span_context_and_counts_as_recording():
    """The hot paths read a lean span's span context by its slot, and a Call built on one just started
    knows it records without asking: the answers get_span_context() and is_recording() give."""
    _, _, lean, _ = _pair(ParentBased(ALWAYS_ON))
    span = lean.get_tracer("t").start_span("parent", kind=SpanKind.SERVER)
    assert isinstance(span, LeanSpan)
    context = trace.set_span_in_context(span)
    assert span_context_in(context) is span.get_span_context()
    starter = SpanStarter("t", tracer_provider=lean)
    child = starter.start("child", context, SpanKind.CLIENT)
    assert child.get_span_context().trace_id == span.get_span_context().trace_id
    assert child.parent == span.get_span_context()
    call = Call(child, context)
    assert call.recording is child.is_recording() is True
    child.end()
    span.end()


@pytest.mark.parametrize("service, exported", [("api", True), ("other", False)])
def test_the_jaeger_file_sampler_decides_for_lean_spans(tmp_path, service, exported):
    strategies = tmp_path / "strategies.json"
    strategies.write_text(
        json.dumps(
            {
                "default_strategy": {"type": "probabilistic", "param": 0.0},
                "service_strategies": [{"service": "api", "type": "probabilistic", "param": 1.0}],
            }
        )
    )
    with CaptureReceiver() as receiver:
        handle = tracing.setup(
            service_name=service,
            endpoint=receiver.grpc_endpoint,
            insecure=True,
            sampler="parentbased_jaeger_file",
            sampler_arg=f"path={strategies},reloadIntervalMs=0",
        )
        try:
            span = trace.get_tracer("jaeger").start_span("by-tracer")
            assert isinstance(span, LeanSpan) == exported
            span.end()
            SpanStarter("jaeger").start("by-starter", None, SpanKind.SERVER).end()
            assert handle.force_flush()
        finally:
            handle.shutdown()
        names = sorted(s.name for s in receiver.spans())
    assert names == (["by-starter", "by-tracer"] if exported else [])


def test_the_encoder_copes_with_an_attribute_dict_changing_under_it():
    """A set_attribute() racing end() on another thread can write to the dict the record holds."""

    class Growing(dict):
        def items(self):
            items = iter(dict.items(self))
            first = next(items)
            self[f"late.{len(self)}"] = 1  # the racing write, while the encoder reads
            yield first
            yield from items

    with pytest.raises(RuntimeError, match="changed size during iteration"):
        list(Growing(a=1, b=2).items())
    collected = Collected()
    provider = LeanTracerProvider(collected, sampler=ALWAYS_ON, resource=RESOURCE, shutdown_timeout_s=1)
    provider.get_tracer("race").start_span("raced", attributes={"a": 1, "b": 2}).end()
    record = collected.records[0]
    request = ExportTraceServiceRequest.FromString(
        Encoder().encode([(*record[:9], Growing(record[9]), *record[10:])])
    )
    [span] = request.resource_spans[0].scope_spans[0].spans
    assert [kv.key for kv in span.attributes][:2] == ["a", "b"]
