"""Several traceparent fields restart the trace (issue 13, defect 8: gRPC metadata continued from the
first of them, HTTP restarted), whether the server records the call or not.

Between grpcio peers the rule cannot be seen from a handler: grpc-core delivers one traceparent
entry of a call's metadata (the last), so the server is handed one. Where several do reach
kubetrace (metadata parsed by hand, or another gRPC stack), the metadata tests hold both the one-pass
read and the propagators to it (test_tracecontext_level2.py::test_several_traceparent_fields_*); this
file proves the transports end to end: gRPC as grpc-core delivers the metadata, HTTP with both fields.
"""

from __future__ import annotations

import http.client
import threading
from concurrent import futures
from wsgiref.simple_server import WSGIRequestHandler, make_server

import grpc
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased

from interceptors import grpc as kgrpc
from interceptors.http import WsgiMiddleware

T, S = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
OTHER_T = "1bf7651916cd43dd8448eb211c80319d"
SAMPLERS = {"recorded": ParentBased(ALWAYS_ON), "not recorded": ParentBased(ALWAYS_OFF)}
FIELDS = {
    "one traceparent": ([f"00-{T}-{S}-01"], T),
    "the same traceparent twice": ([f"00-{T}-{S}-01", f"00-{T}-{S}-01"], None),
    "two traceparents": ([f"00-{T}-{S}-01", f"00-{OTHER_T}-{S}-01"], None),
    "a garbage one first": (["garbage", f"00-{T}-{S}-01"], None),
    "a garbage one last": ([f"00-{T}-{S}-01", "garbage"], None),
}


def _trace_id_seen_over_grpc(provider, traceparents: list[str]) -> str:
    seen = []

    def handler(request, context):
        seen.append(trace.get_current_span().get_span_context())
        return request

    server = kgrpc.instrument_server(
        grpc.server(futures.ThreadPoolExecutor(max_workers=2)), tracer_provider=provider
    )
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler("kt.T", {"U": grpc.unary_unary_rpc_method_handler(handler)})]
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            metadata = [("traceparent", value) for value in traceparents]
            assert channel.unary_unary("/kt.T/U")(b"x", metadata=metadata, timeout=10) == b"x"
    finally:
        server.stop(None).wait()
    return f"{seen[0].trace_id:032x}"


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def _trace_id_seen_over_http(provider, traceparents: list[str]) -> str:
    seen = []

    def app(environ, start_response):
        seen.append(trace.get_current_span().get_span_context())
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    server = make_server("127.0.0.1", 0, WsgiMiddleware(app, tracer_provider=provider), handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
        connection.putrequest("GET", "/")
        for value in traceparents:
            connection.putheader("traceparent", value)
        connection.endheaders()
        assert connection.getresponse().read() == b"ok"
        connection.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    return f"{seen[0].trace_id:032x}"


@pytest.mark.parametrize("sampler", SAMPLERS)
@pytest.mark.parametrize("case", FIELDS)
def test_several_traceparent_headers_restart_the_trace_over_http(case, sampler, make_recorder):
    traceparents, continued = FIELDS[case]
    trace_id = _trace_id_seen_over_http(make_recorder(SAMPLERS[sampler]).provider, traceparents)
    if continued:
        assert trace_id == continued
    else:
        assert trace_id not in (T, OTHER_T) and int(trace_id, 16) != 0


@pytest.mark.parametrize("sampler", SAMPLERS)
@pytest.mark.parametrize("case", FIELDS)
def test_over_grpc_the_handler_sees_the_trace_of_the_metadata_grpc_delivers(case, sampler, make_recorder):
    """grpc-core delivers the last traceparent entry only; the server continues exactly that one
    (and restarts when it is garbage), recorded or not."""
    traceparents, _ = FIELDS[case]
    delivered = traceparents[-1]
    trace_id = _trace_id_seen_over_grpc(make_recorder(SAMPLERS[sampler]).provider, traceparents)
    if delivered.startswith("00-"):
        assert trace_id == delivered.split("-")[1]
    else:
        assert trace_id not in (T, OTHER_T) and int(trace_id, 16) != 0
