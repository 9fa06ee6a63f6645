"""The Python side of the interop tests: a gRPC Echo server and a WSGI /echo server instrumented with
kubetrace's interceptors, speaking gopeer's protocol (raw-bytes gRPC messages, JSON replies).

Each reply says which span handled the request, the baggage it saw, the propagation headers that
arrived, and the downstream peer's reply when the server called one.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
import requests
from opentelemetry import baggage
from opentelemetry import context as context_api
from opentelemetry import trace as trace_api
from testkit.wsgi import wsgi_server

from interceptors import grpc as kgrpc
from interceptors.http import WsgiMiddleware, instrument_requests_session

PY_SERVICE = "kubetrace-interop-py"  # service.name of the Python side
SERVICE = "kubetrace.interop.Echo"
CALL = f"/{SERVICE}/Call"
STREAM = f"/{SERVICE}/Stream"
STREAM_COUNT = 3
CHANNEL_OPTIONS = [("grpc.enable_http_proxy", 0)]
_PROPAGATION = ("traceparent", "tracestate", "baggage", "b3", "uber-trace-id")


def is_propagation_header(name: str) -> bool:
    name = name.lower()
    return name in _PROPAGATION or name.startswith(("x-b3-", "uberctx-", "ot-"))


def reply(peer: str, headers: dict[str, str], **extra: Any) -> dict[str, Any]:
    """What the current context says: the handling span, its baggage, the headers that carried them."""
    context = trace_api.get_current_span().get_span_context()
    out = {
        "peer": peer,
        "trace_id": format(context.trace_id, "032x"),
        "span_id": format(context.span_id, "016x"),
        "sampled": context.trace_flags.sampled,
        "baggage": {k: str(v) for k, v in baggage.get_all().items()},
        "headers": headers,
    }
    out.update(extra)
    return out


@contextlib.contextmanager
def python_root(
    provider, values: dict[str, str] | None = None, name: str = "py-root"
) -> Iterator[trace_api.Span]:
    """A current Python root span (tracer of `provider`) with `values` as the current baggage."""
    ctx = context_api.Context()
    for key, value in (values or {}).items():
        ctx = baggage.set_baggage(key, value, ctx)
    token = context_api.attach(ctx)
    try:
        with provider.get_tracer("interop-test").start_as_current_span(name) as span:
            yield span
    finally:
        context_api.detach(token)


def trace_id_of(span: trace_api.Span) -> str:
    return format(span.get_span_context().trace_id, "032x")


def call_go_grpc(channel: grpc.Channel, payload: bytes = b"hello") -> dict[str, Any]:
    """Echo/Call on a gopeer grpc-server through `channel` (identity serializers: bytes in, bytes out)."""
    return json.loads(channel.unary_unary(CALL)(payload, timeout=10))


def stream_go_grpc(channel: grpc.Channel, payload: bytes = b"hello") -> list[dict[str, Any]]:
    return [json.loads(m) for m in channel.unary_stream(STREAM)(payload, timeout=10)]


@contextlib.contextmanager
def grpc_echo_server(provider, downstream: str | None = None) -> Iterator[str]:
    """A Python Echo server (our server interceptor) on a free loopback port; yields its address.
    With `downstream` (a gopeer grpc-server), Call also calls that server's Call through a channel
    with our client interceptor, inside the server span."""
    channel = None
    if downstream:
        raw = grpc.insecure_channel(downstream, options=CHANNEL_OPTIONS)
        channel = kgrpc.instrument_channel(raw, tracer_provider=provider)

    def metadata_headers(context: grpc.ServicerContext) -> dict[str, str]:
        return {
            k: v for k, v in context.invocation_metadata() if is_propagation_header(k) and isinstance(v, str)
        }

    def call(request: bytes, context: grpc.ServicerContext) -> bytes:
        out = reply("py-grpc", metadata_headers(context), request=request.decode())
        if channel is not None:
            out["downstream"] = call_go_grpc(channel, request)
        return json.dumps(out).encode()

    def stream(request: bytes, context: grpc.ServicerContext) -> Iterator[bytes]:
        headers = metadata_headers(context)
        for seq in range(STREAM_COUNT):
            yield json.dumps(reply("py-grpc", headers, request=request.decode(), seq=seq)).encode()

    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=4),
        interceptors=[kgrpc.server_interceptor(tracer_provider=provider)],
    )
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                SERVICE,
                {
                    "Call": grpc.unary_unary_rpc_method_handler(call),
                    "Stream": grpc.unary_stream_rpc_method_handler(stream),
                },
            ),
        )
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(grace=None).wait(5)
        if channel is not None:
            channel.close()


def instrumented_session(provider) -> requests.Session:
    """A requests Session with our client tracing; environment proxies are ignored (loopback only)."""
    session = requests.Session()
    session.trust_env = False
    return instrument_requests_session(session, tracer_provider=provider)


@contextlib.contextmanager
def wsgi_echo_server(provider, downstream: str | None = None) -> Iterator[str]:
    """A WSGI app behind our WsgiMiddleware on wsgiref, in a thread; yields its /echo URL. With
    `downstream` (a URL), GET /echo also GETs it with an instrumented requests Session."""
    session = instrumented_session(provider) if downstream else None

    def app(environ: dict[str, Any], start_response) -> list[bytes]:
        if environ.get("PATH_INFO") != "/echo":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        headers = {
            key[5:].lower().replace("_", "-"): value
            for key, value in environ.items()
            if key.startswith("HTTP_") and is_propagation_header(key[5:].replace("_", "-"))
        }
        out = reply("py-http", headers)
        if session is not None:
            out["downstream"] = session.get(downstream, timeout=10).json()
        body = json.dumps(out).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    try:
        with wsgi_server(WsgiMiddleware(app, tracer_provider=provider)) as base:
            yield f"{base}/echo"
    finally:
        if session is not None:
            session.close()
