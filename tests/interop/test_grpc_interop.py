"""gRPC between kubetrace's interceptors and Go peers instrumented with otelgrpc stats handlers, as
kubelet and kube-apiserver are, with W3C tracecontext + baggage: one trace across both languages,
each hop's span the parent of the next, baggage carried both ways."""

from __future__ import annotations

import grpc
import pytest
from _gopeer import go_env, run_client
from _pypeers import (
    CALL,
    CHANNEL_OPTIONS,
    PY_SERVICE,
    STREAM_COUNT,
    call_go_grpc,
    grpc_echo_server,
    python_root,
    stream_go_grpc,
    trace_id_of,
)
from _traces import assert_chain, one, traceparent_parts

from interceptors import grpc as kgrpc

pytestmark = pytest.mark.interop

RPC = CALL.lstrip("/")  # span name of Echo/Call on both sides
STREAM_RPC = RPC.replace("/Call", "/Stream")
SENT_BAGGAGE = {"tenant": "team-a", "origin": "go-client"}
BAGGAGE_ARG = ",".join(f"{k}={v}" for k, v in SENT_BAGGAGE.items())


def test_go_client_through_python_server_to_go_server(gopeer, go_server, py_tracing, otlp_receiver):
    back = go_server("grpc-server", "go-grpc-back")
    with grpc_echo_server(py_tracing.provider, downstream=back.address) as front:
        env = go_env(otlp_receiver, "go-grpc-client")
        out = run_client(gopeer, "grpc-client", env, "--target", front, "--baggage", BAGGAGE_ARG)

    trace_id = out["client_trace_id"]
    py_reply = out["reply"]
    go_reply = py_reply["downstream"]
    # What each server saw while handling the call: the client's trace, and the client's baggage
    # (Go -> Python through otelgrpc's propagation, Python -> Go through ours).
    assert py_reply["peer"] == "py-grpc" and go_reply["peer"] == "go-grpc"
    assert py_reply["trace_id"] == go_reply["trace_id"] == trace_id
    assert py_reply["baggage"] == SENT_BAGGAGE
    assert go_reply["baggage"] == SENT_BAGGAGE
    assert {"traceparent", "baggage"} <= set(py_reply["headers"])
    assert {"traceparent", "baggage"} <= set(go_reply["headers"])

    assert py_tracing.force_flush()
    spans = otlp_receiver.wait_for(5, trace_id=trace_id)
    root = one(spans, service="go-grpc-client", kind="INTERNAL", name="gopeer-client")
    go_client = one(spans, service="go-grpc-client", kind="CLIENT", name=RPC)
    py_server = one(spans, service=PY_SERVICE, kind="SERVER", name=RPC)
    py_client = one(spans, service=PY_SERVICE, kind="CLIENT", name=RPC)
    go_srv = one(spans, service="go-grpc-back", kind="SERVER", name=RPC)
    assert_chain(spans, root, go_client, py_server, py_client, go_srv)
    assert len(spans) == 5
    assert (py_server.span_id, go_srv.span_id) == (py_reply["span_id"], go_reply["span_id"])
    # The wire carried the sending client span as parent.
    assert traceparent_parts(py_reply["headers"]["traceparent"]) == (trace_id, go_client.span_id, True)
    assert traceparent_parts(go_reply["headers"]["traceparent"]) == (trace_id, py_client.span_id, True)
    for span in (py_server, py_client):
        assert span.attributes["rpc.system"] == "grpc"
        assert span.attributes["rpc.service"] == "kubetrace.interop.Echo"
        assert span.attributes["rpc.method"] == "Call"
        assert span.attributes["rpc.grpc.status_code"] == 0
        assert span.status == "UNSET"
    assert py_client.attributes["server.address"] == "127.0.0.1"
    assert py_client.attributes["server.port"] == int(back.address.rsplit(":", 1)[1])


def test_go_client_streams_from_python_server(gopeer, py_tracing, otlp_receiver):
    with grpc_echo_server(py_tracing.provider) as server:
        env = go_env(otlp_receiver, "go-grpc-client")
        out = run_client(
            gopeer, "grpc-client", env, "--target", server, "--method", "stream", "--baggage", BAGGAGE_ARG
        )

    trace_id = out["client_trace_id"]
    replies = out["replies"]
    assert [r["seq"] for r in replies] == list(range(STREAM_COUNT))
    assert {r["trace_id"] for r in replies} == {trace_id}
    assert all(r["baggage"] == SENT_BAGGAGE for r in replies)
    assert py_tracing.force_flush()
    spans = otlp_receiver.wait_for(3, trace_id=trace_id)
    root = one(spans, service="go-grpc-client", kind="INTERNAL", name="gopeer-client")
    go_client = one(spans, service="go-grpc-client", kind="CLIENT", name=STREAM_RPC)
    py_server = one(spans, service=PY_SERVICE, kind="SERVER", name=STREAM_RPC)
    assert_chain(spans, root, go_client, py_server)
    # Every message was produced with the server span current, and the span ended with the stream.
    assert {r["span_id"] for r in replies} == {py_server.span_id}
    assert py_server.attributes["rpc.grpc.status_code"] == 0


def test_python_client_through_go_server_to_python_server(go_server, py_tracing, otlp_receiver):
    sent = {"tenant": "team-b", "origin": "py-client"}
    with grpc_echo_server(py_tracing.provider) as back:
        front = go_server("grpc-server", "go-grpc-front", "--downstream-grpc", back)
        raw = grpc.insecure_channel(front.address, options=CHANNEL_OPTIONS)
        channel = kgrpc.instrument_channel(raw, tracer_provider=py_tracing.provider)
        try:
            with python_root(py_tracing.provider, sent) as root_span:
                go_reply = call_go_grpc(channel)
        finally:
            channel.close()

    trace_id = trace_id_of(root_span)
    py_reply = go_reply["downstream"]
    assert go_reply["trace_id"] == py_reply["trace_id"] == trace_id
    assert go_reply["baggage"] == sent
    assert py_reply["baggage"] == sent
    assert py_tracing.force_flush()
    spans = otlp_receiver.wait_for(5, trace_id=trace_id)
    root = one(spans, service=PY_SERVICE, kind="INTERNAL", name="py-root")
    py_client = one(spans, service=PY_SERVICE, kind="CLIENT", name=RPC)
    go_srv = one(spans, service="go-grpc-front", kind="SERVER", name=RPC)
    go_client = one(spans, service="go-grpc-front", kind="CLIENT", name=RPC)
    py_server = one(spans, service=PY_SERVICE, kind="SERVER", name=RPC)
    assert_chain(spans, root, py_client, go_srv, go_client, py_server)
    assert (go_srv.span_id, py_server.span_id) == (go_reply["span_id"], py_reply["span_id"])


def test_python_client_streams_from_go_server(go_server, py_tracing, otlp_receiver):
    server = go_server("grpc-server", "go-grpc")
    raw = grpc.insecure_channel(server.address, options=CHANNEL_OPTIONS)
    channel = kgrpc.instrument_channel(raw, tracer_provider=py_tracing.provider)
    try:
        with python_root(py_tracing.provider, {"tenant": "team-c"}) as root_span:
            replies = stream_go_grpc(channel)
    finally:
        channel.close()

    trace_id = trace_id_of(root_span)
    assert [r["seq"] for r in replies] == list(range(STREAM_COUNT))
    assert {r["trace_id"] for r in replies} == {trace_id}
    assert all(r["baggage"] == {"tenant": "team-c"} for r in replies)
    assert py_tracing.force_flush()
    spans = otlp_receiver.wait_for(3, trace_id=trace_id)
    root = one(spans, service=PY_SERVICE, kind="INTERNAL", name="py-root")
    py_client = one(spans, service=PY_SERVICE, kind="CLIENT", name=STREAM_RPC)
    go_srv = one(spans, service="go-grpc", kind="SERVER", name=STREAM_RPC)
    assert_chain(spans, root, py_client, go_srv)
    assert {r["span_id"] for r in replies} == {go_srv.span_id}
    assert py_client.attributes["rpc.grpc.status_code"] == 0


def test_baggage_values_with_space_and_plus_survive_both_ways(gopeer, go_server, py_tracing, otlp_receiver):
    """W3C baggage values are percent-encoded (RFC 3986); '+' is a literal baggage octet. otel-go
    encodes a space as %20 and sends '+' as it is."""
    sent = {"note": "team a", "sum": "1+1", "ratio": "50%", "eq": "a=b", "name": "Zoë"}
    back = go_server("grpc-server", "go-grpc-back")
    with grpc_echo_server(py_tracing.provider, downstream=back.address) as front:
        env = go_env(otlp_receiver, "go-grpc-client")
        arg = ",".join(f"{k}={v}" for k, v in sent.items())
        out = run_client(gopeer, "grpc-client", env, "--target", front, "--baggage", arg)
    py_reply = out["reply"]
    assert py_reply["baggage"] == sent, f"Go -> Python; header {py_reply['headers'].get('baggage')!r}"
    go_reply = py_reply["downstream"]
    assert go_reply["baggage"] == sent, f"Python -> Go; header {go_reply['headers'].get('baggage')!r}"
