"""HTTP between kubetrace's WSGI middleware and requests client and Go peers instrumented with otelhttp
(handler and transport), with W3C tracecontext + baggage: one trace, each hop the parent of the
next, baggage carried both ways. Also: an unsampled trace stays unsampled across the languages."""

from __future__ import annotations

import pytest
from _gopeer import go_env, run_client
from _pypeers import PY_SERVICE, instrumented_session, python_root, trace_id_of, wsgi_echo_server
from _traces import assert_chain, describe, one, traceparent_parts
from opentelemetry import context as context_api
from opentelemetry import trace as trace_api
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

pytestmark = pytest.mark.interop


def test_python_client_through_go_server_to_python_server(go_server, py_tracing, otlp_receiver):
    sent = {"tenant": "team-b", "origin": "py-client"}
    with wsgi_echo_server(py_tracing.provider) as back_url:
        front = go_server("http-server", "go-http", "--downstream-http", back_url)
        with instrumented_session(py_tracing.provider) as session:
            with python_root(py_tracing.provider, sent) as root_span:
                response = session.get(f"http://{front.address}/echo", timeout=10)
            assert response.status_code == 200, response.text
            go_reply = response.json()

    trace_id = trace_id_of(root_span)
    py_reply = go_reply["downstream"]
    assert go_reply["peer"] == "go-http" and py_reply["peer"] == "py-http"
    assert go_reply["trace_id"] == py_reply["trace_id"] == trace_id
    assert go_reply["baggage"] == sent  # Python -> Go: our requests client
    assert py_reply["baggage"] == sent  # Go -> Python: otelhttp's transport
    assert py_tracing.force_flush()
    spans = otlp_receiver.wait_for(5, trace_id=trace_id)
    root = one(spans, service=PY_SERVICE, kind="INTERNAL", name="py-root")
    py_client = one(spans, service=PY_SERVICE, kind="CLIENT")
    go_srv = one(spans, service="go-http", kind="SERVER")
    go_client = one(spans, service="go-http", kind="CLIENT")
    py_server = one(spans, service=PY_SERVICE, kind="SERVER")
    assert_chain(spans, root, py_client, go_srv, go_client, py_server)
    assert len(spans) == 5
    assert (go_srv.span_id, py_server.span_id) == (go_reply["span_id"], py_reply["span_id"])
    assert traceparent_parts(go_reply["headers"]["traceparent"]) == (trace_id, py_client.span_id, True)
    assert traceparent_parts(py_reply["headers"]["traceparent"]) == (trace_id, go_client.span_id, True)
    assert py_client.attributes["http.request.method"] == "GET"
    assert py_client.attributes["http.response.status_code"] == 200
    assert py_server.attributes["http.request.method"] == "GET"
    assert py_server.attributes["http.response.status_code"] == 200
    assert py_server.attributes["url.path"] == "/echo"


def test_go_client_through_python_server_to_go_server(gopeer, go_server, py_tracing, otlp_receiver):
    back = go_server("http-server", "go-http-back")
    with wsgi_echo_server(py_tracing.provider, downstream=f"http://{back.address}/echo") as front_url:
        env = go_env(otlp_receiver, "go-http-client")
        out = run_client(
            gopeer, "http-client", env, "--url", front_url, "--baggage", "tenant=team-d,origin=go"
        )

    trace_id = out["client_trace_id"]
    py_reply = out["reply"]
    go_reply = py_reply["downstream"]
    assert py_reply["trace_id"] == go_reply["trace_id"] == trace_id
    assert py_reply["baggage"] == go_reply["baggage"] == {"tenant": "team-d", "origin": "go"}
    assert py_tracing.force_flush()
    spans = otlp_receiver.wait_for(5, trace_id=trace_id)
    root = one(spans, service="go-http-client", kind="INTERNAL", name="gopeer-client")
    go_client = one(spans, service="go-http-client", kind="CLIENT")
    py_server = one(spans, service=PY_SERVICE, kind="SERVER")
    py_client = one(spans, service=PY_SERVICE, kind="CLIENT")
    go_srv = one(spans, service="go-http-back", kind="SERVER")
    assert_chain(spans, root, go_client, py_server, py_client, go_srv)
    assert (py_server.span_id, go_srv.span_id) == (py_reply["span_id"], go_reply["span_id"])


def test_unsampled_trace_stays_unsampled_and_unexported(go_server, py_tracing, otlp_receiver):
    """The production hot path: a caller decided not to sample. Every hop propagates the same trace
    with the sampled flag off, and no peer exports a span of it."""
    parent = SpanContext(
        trace_id=0x4BF92F3577B34DA6A3CE929D0E0E4736,
        span_id=0x00F067AA0BA902B7,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.DEFAULT),
    )
    trace_id = format(parent.trace_id, "032x")
    with wsgi_echo_server(py_tracing.provider) as back_url:
        front = go_server("http-server", "go-http", "--downstream-http", back_url)
        with instrumented_session(py_tracing.provider) as session:
            context = trace_api.set_span_in_context(NonRecordingSpan(parent))
            token = context_api.attach(context)
            try:
                go_reply = session.get(f"http://{front.address}/echo", timeout=10).json()
            finally:
                context_api.detach(token)
        py_reply = go_reply["downstream"]
        assert go_reply["trace_id"] == py_reply["trace_id"] == trace_id
        assert go_reply["sampled"] is False and py_reply["sampled"] is False
        assert traceparent_parts(go_reply["headers"]["traceparent"])[2] is False
        assert traceparent_parts(py_reply["headers"]["traceparent"])[2] is False
        # A sampled marker request afterwards, through the same peers, flushes what they exported.
        with instrumented_session(py_tracing.provider) as session, python_root(py_tracing.provider) as marker:
            session.get(f"http://{front.address}/echo", timeout=10).raise_for_status()
        assert front.stop() == 0  # flushes the Go server's spans

    assert py_tracing.force_flush()
    otlp_receiver.wait_for(5, trace_id=trace_id_of(marker))
    leaked = [s for s in otlp_receiver.spans if s.trace_id == trace_id]
    assert not leaked, f"unsampled trace exported:\n{describe(leaked)}"
