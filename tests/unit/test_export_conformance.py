"""What kubetrace sends is OTLP: decoded with opentelemetry-proto, it equals, field by field, what the
SDK's own exporter sends for the same operations.

The same script of operations (every attribute value type, events, exceptions, links with trace
state, status, remote and local parents, span limits, several scopes, every kind) runs twice with
the same ids and times: once on an SDK TracerProvider exporting through BatchSpanProcessor +
OTLPSpanExporter, once on what tracing.setup() installs. Both go to a capturing receiver. Two fields
differ on purpose, as the OTLP specification asks and the SDK does not: Span.flags and Link.flags
carry the W3C trace flags in their low byte, and Link.trace_state is sent.
"""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import SpanLimits, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState
from testkit.ids import CountingIds
from testkit.otlp import CaptureReceiver

import tracing
from tracing._lean import LeanSpan

T0 = 1_700_000_000_000_000_000
REMOTE_PARENT = SpanContext(
    0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331, True, TraceFlags(1), TraceState([("k8s", "a1")])
)
LINKED = SpanContext(0x1234, 0x5678, True, TraceFlags(3), TraceState([("vendor", "x"), ("other", "y")]))
EVERY_VALUE = {
    "str": "value",
    "empty": "",
    "unicode": "żółw ✓",
    "true": True,
    "false": False,
    "int": 42,
    "zero": 0,
    "negative": -7,
    "int64.max": 2**63 - 1,
    "int64.min": -(2**63),
    "float": 2.5,
    "float.negative": -0.125,
    "bytes": b"\x00\xffraw",
    "strings": ["a", "b", ""],
    "ints": (1, -2, 3),
    "floats": [0.5, 1.5],
    "bools": [True, False],
    "empty.array": [],
    "map": {"inner": "v", "n": 1, "nested": {"deep": True}},
    "none": None,
}


def operations(tracer_provider) -> None:
    """The script both providers run: ids come from the provider's id generator, times are fixed."""
    main = tracer_provider.get_tracer("kubetrace.test", "1.2.3", "https://opentelemetry.io/schemas/1.21.0")
    other = tracer_provider.get_tracer("other.lib", attributes={"scope.attr": "s", "scope.n": 2})
    bare = tracer_provider.get_tracer("bare")
    remote = trace.set_span_in_context(trace.NonRecordingSpan(REMOTE_PARENT))

    server = main.start_span(
        "GET /api/v1/pods", remote, SpanKind.SERVER, EVERY_VALUE, [Link(LINKED, {"link.attr": 1})], T0
    )
    server.set_attribute("late", "added after start")
    server.set_attributes({"int": 43, "late.list": ["x"]})
    server.add_event("checkpoint", {"step": 1, "ok": True}, T0 + 10)
    server.add_event("bare event", None, T0 + 20)
    server.add_link(REMOTE_PARENT, {"why": "retry"})
    try:
        raise ValueError("boom")
    except ValueError as exc:
        server.record_exception(exc, {"extra": "x"}, T0 + 30)
    server.set_status(Status(StatusCode.ERROR, "failed: boom"))

    local = trace.set_span_in_context(server)
    client = other.start_span(
        "storage.v1.KV/Get", local, SpanKind.CLIENT, {"rpc.system": "grpc"}, (), T0 + 40
    )
    client.set_status(StatusCode.OK)
    client.end(T0 + 50)
    for kind in (SpanKind.INTERNAL, SpanKind.PRODUCER, SpanKind.CONSUMER):
        span = bare.start_span(f"kind {kind.name}", local, kind, None, (), T0 + 60)
        span.update_name(f"renamed {kind.name}")
        span.end(T0 + 70)
    limited = main.start_span("limits", local, SpanKind.INTERNAL, {f"a{i}": i for i in range(6)}, (), T0 + 80)
    for i in range(4):
        limited.add_event(f"e{i}", {"x": 1, "y": 2, "z": 3}, T0 + 81 + i)
        limited.add_link(LINKED, {"l1": 1, "l2": 2, "l3": 3})
    limited.set_attribute("long", "a" * 100)
    limited.end(T0 + 90)
    root = bare.start_span("root", None, SpanKind.INTERNAL, None, (), T0 + 100)
    root.end(T0 + 110)
    server.end(T0 + 120)


LIMITS = {
    "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT": "4",
    "OTEL_SPAN_EVENT_COUNT_LIMIT": "3",
    "OTEL_SPAN_LINK_COUNT_LIMIT": "2",
    "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT": "2",
    "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT": "2",
    "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT": "10",
}


def _flatten(requests: list[ExportTraceServiceRequest]) -> list[tuple]:
    """(resource, scope, schema urls, span) per span, ordered by span id."""
    out = []
    for request in requests:
        for rs in request.resource_spans:
            for ss in rs.scope_spans:
                for span in ss.spans:
                    out.append((rs.resource, rs.schema_url, ss.scope, ss.schema_url, span))
    return sorted(out, key=lambda item: item[4].span_id)


def _undo_deliberate_differences(ours: list[tuple]) -> None:
    """Clear the two fields kubetrace fills as the specification asks, after checking their values."""
    for *_, span in ours:
        assert span.flags & 0xFF == int(TraceFlags.SAMPLED), span.name
        span.flags &= ~0xFF
        for link in span.links:
            context = LINKED if link.span_id == LINKED.span_id.to_bytes(8, "big") else REMOTE_PARENT
            assert link.flags & 0xFF == int(context.trace_flags)
            assert link.trace_state == ",".join(f"{k}={v}" for k, v in context.trace_state.items())
            link.flags &= ~0xFF
            link.trace_state = ""


@pytest.fixture
def limits(monkeypatch):
    for name, value in LIMITS.items():
        monkeypatch.setenv(name, value)


pytestmark = pytest.mark.usefixtures("no_setup_leaks")


def _run_sdk(resource, exporter) -> None:
    provider = TracerProvider(
        sampler=ParentBased(ALWAYS_ON),
        resource=resource,
        id_generator=CountingIds(),
        span_limits=SpanLimits(),
        shutdown_on_exit=False,
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    operations(provider)
    provider.shutdown()


@pytest.mark.parametrize("path", ["lean", "sdk-spans"])
@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_what_we_send_equals_what_the_sdk_exporter_sends(limits, protocol, path):
    """path: kubetrace's lean spans, or SDK spans (what a user's own SpanProcessor makes it use)."""
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

    with CaptureReceiver() as ours_rx, CaptureReceiver() as sdk_rx:
        endpoint = ours_rx.grpc_endpoint if protocol == "grpc" else ours_rx.http_endpoint
        handle = tracing.setup(
            service_name="conformance", endpoint=endpoint, protocol=protocol, insecure=True
        )
        if path == "sdk-spans":
            handle.provider.add_span_processor(SpanProcessor())
        probe = handle.provider.get_tracer("probe").start_span("probe", context=None)  # never ended: not sent
        assert isinstance(probe, LeanSpan) == (path == "lean")
        handle.provider.id_generator = CountingIds()
        operations(handle.provider)
        assert handle.shutdown()
        sdk_exporter = (
            GrpcExporter(endpoint=sdk_rx.grpc_endpoint, insecure=True)
            if protocol == "grpc"
            else HttpExporter(endpoint=sdk_rx.http_endpoint)
        )
        _run_sdk(handle.provider.resource, sdk_exporter)
        ours = _flatten([r.request for r in ours_rx.received])
        theirs = _flatten([r.request for r in sdk_rx.received])
    assert len(ours) == len(theirs) == 7
    _undo_deliberate_differences(ours)
    for mine, sdk in zip(ours, theirs, strict=True):
        assert mine[:4] == sdk[:4]  # resource, its schema url, scope, its schema url
        assert mine[4] == sdk[4], f"{mine[4]}\n!=\n{sdk[4]}"
    limited = next(span for *_, span in ours if span.name == "limits")
    assert (limited.dropped_attributes_count, limited.dropped_events_count, limited.dropped_links_count) > (
        0,
        0,
        0,
    )
