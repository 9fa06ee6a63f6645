"""B3 (single and multi header) and Jaeger (uber-trace-id) propagation between Python, configured with
tracing.build_propagator, and Go peers whose OTEL_PROPAGATORS selects the contrib propagators: the
trace continues across each hop with the sending span as parent, and only the chosen format is on
the wire."""

from __future__ import annotations

import pytest
from _gopeer import go_env, run_client
from _pypeers import (
    PY_SERVICE,
    grpc_echo_server,
    instrumented_session,
    python_root,
    trace_id_of,
    wsgi_echo_server,
)
from _traces import assert_chain, one
from opentelemetry import context as context_api
from opentelemetry import trace as trace_api
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

pytestmark = pytest.mark.interop

FORMATS = ("b3", "b3multi", "jaeger")
# Headers (gRPC metadata keys) each format must put on the wire.
WIRE_HEADERS = {
    "b3": {"b3"},
    "b3multi": {"x-b3-traceid", "x-b3-spanid", "x-b3-sampled"},
    "jaeger": {"uber-trace-id"},
}


def wire_parent(fmt: str, headers: dict[str, str]) -> tuple[str, str, bool]:
    """(trace id, parent span id, sampled) as the `fmt` headers a server received say."""
    assert WIRE_HEADERS[fmt] <= set(headers), f"{fmt}: want {sorted(WIRE_HEADERS[fmt])}, got {headers}"
    assert "traceparent" not in headers, f"{fmt} only, yet traceparent was sent: {headers}"
    if fmt == "b3":
        trace_id, span_id, sampled, *_ = headers["b3"].split("-")
        return trace_id.zfill(32), span_id.zfill(16), sampled in ("1", "d")
    if fmt == "b3multi":
        sampled = headers["x-b3-sampled"] in ("1", "true") or headers.get("x-b3-flags") == "1"
        return headers["x-b3-traceid"].zfill(32), headers["x-b3-spanid"].zfill(16), sampled
    trace_id, span_id, _parent, flags = headers["uber-trace-id"].split(":")
    return trace_id.zfill(32), span_id.zfill(16), bool(int(flags, 16) & 0x01)


@pytest.mark.parametrize("fmt", FORMATS)
def test_python_http_client_through_go_to_python(fmt, go_server, py_tracing, otlp_receiver, use_propagators):
    with use_propagators(fmt), wsgi_echo_server(py_tracing.provider) as back_url:
        front = go_server("http-server", f"go-http-{fmt}", "--downstream-http", back_url, propagators=fmt)
        with (
            instrumented_session(py_tracing.provider) as session,
            python_root(py_tracing.provider) as root_span,
        ):
            go_reply = session.get(f"http://{front.address}/echo", timeout=10).json()

    trace_id = trace_id_of(root_span)
    py_reply = go_reply["downstream"]
    assert go_reply["trace_id"] == py_reply["trace_id"] == trace_id
    assert go_reply["sampled"] and py_reply["sampled"]
    assert py_tracing.force_flush()
    spans = otlp_receiver.wait_for(5, trace_id=trace_id)
    root = one(spans, service=PY_SERVICE, kind="INTERNAL", name="py-root")
    py_client = one(spans, service=PY_SERVICE, kind="CLIENT")
    go_srv = one(spans, service=f"go-http-{fmt}", kind="SERVER")
    go_client = one(spans, service=f"go-http-{fmt}", kind="CLIENT")
    py_server = one(spans, service=PY_SERVICE, kind="SERVER")
    assert_chain(spans, root, py_client, go_srv, go_client, py_server)
    assert wire_parent(fmt, go_reply["headers"]) == (trace_id, py_client.span_id, True)
    assert wire_parent(fmt, py_reply["headers"]) == (trace_id, go_client.span_id, True)


@pytest.mark.parametrize("fmt", FORMATS)
def test_go_grpc_client_through_python_to_go(
    fmt, gopeer, go_server, py_tracing, otlp_receiver, use_propagators
):
    back = go_server("grpc-server", f"go-grpc-{fmt}", propagators=fmt)
    with use_propagators(fmt), grpc_echo_server(py_tracing.provider, downstream=back.address) as front:
        env = go_env(otlp_receiver, f"go-grpc-client-{fmt}", propagators=fmt)
        out = run_client(gopeer, "grpc-client", env, "--target", front)

    trace_id = out["client_trace_id"]
    py_reply = out["reply"]
    go_reply = py_reply["downstream"]
    assert py_reply["trace_id"] == go_reply["trace_id"] == trace_id
    assert py_tracing.force_flush()
    spans = otlp_receiver.wait_for(5, trace_id=trace_id)
    root = one(spans, service=f"go-grpc-client-{fmt}", kind="INTERNAL", name="gopeer-client")
    go_client = one(spans, service=f"go-grpc-client-{fmt}", kind="CLIENT")
    py_server = one(spans, service=PY_SERVICE, kind="SERVER")
    py_client = one(spans, service=PY_SERVICE, kind="CLIENT")
    go_srv = one(spans, service=f"go-grpc-{fmt}", kind="SERVER")
    assert_chain(spans, root, go_client, py_server, py_client, go_srv)
    assert wire_parent(fmt, py_reply["headers"]) == (trace_id, go_client.span_id, True)
    assert wire_parent(fmt, go_reply["headers"]) == (trace_id, py_client.span_id, True)


@pytest.mark.parametrize("fmt", FORMATS)
def test_unsampled_decision_crosses(fmt, go_server, py_tracing, otlp_receiver, use_propagators):
    """A trace the Python side decided not to sample (flags as the SDK makes them for its own
    unsampled roots: only the W3C random-trace-id bit) stays unsampled in the Go peer and beyond."""
    parent = SpanContext(
        trace_id=0x5B8EFFF798038103D269B633813FC60C,
        span_id=0xEEE19B7EC3C1B174,
        is_remote=False,
        trace_flags=TraceFlags(0x02),
    )
    trace_id = format(parent.trace_id, "032x")
    with use_propagators(fmt), wsgi_echo_server(py_tracing.provider) as back_url:
        front = go_server("http-server", f"go-http-{fmt}", "--downstream-http", back_url, propagators=fmt)
        token = context_api.attach(trace_api.set_span_in_context(NonRecordingSpan(parent)))
        try:
            with instrumented_session(py_tracing.provider) as session:
                go_reply = session.get(f"http://{front.address}/echo", timeout=10).json()
        finally:
            context_api.detach(token)
        assert front.stop() == 0

    py_reply = go_reply["downstream"]
    assert go_reply["trace_id"] == py_reply["trace_id"] == trace_id
    assert (go_reply["sampled"], py_reply["sampled"]) == (False, False)
    assert wire_parent(fmt, go_reply["headers"])[2] is False
    assert wire_parent(fmt, py_reply["headers"])[2] is False
    assert py_tracing.force_flush()
    assert not [s for s in otlp_receiver.spans if s.trace_id == trace_id]
