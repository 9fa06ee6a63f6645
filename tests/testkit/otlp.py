"""A scriptable OTLP receiver (gRPC and HTTP/protobuf, optionally TLS) on loopback, for export tests.

Unlike tracing's OtlpReceiver it keeps every request whole, as the opentelemetry-proto message it
decodes to, with its headers and arrival time, and answers each request as scripted: an error code
with or without RetryInfo, an HTTP status with or without Retry-After, a partial success, a delay.
"""

from __future__ import annotations

import gzip
import ssl
import threading
import time
from concurrent import futures
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
from google.protobuf.duration_pb2 import Duration
from google.rpc.error_details_pb2 import RetryInfo
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

_SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"


@dataclass(frozen=True)
class Reply:
    """How to answer one request. The default is a plain success."""

    grpc_code: grpc.StatusCode | None = None  # an error status for gRPC
    retry_delay_s: float | None = None  # sent as google.rpc.RetryInfo with the gRPC error
    http_status: int = 200
    retry_after: str | None = None  # the Retry-After header of an HTTP error
    rejected: int = 0  # a partial success rejecting this many spans
    message: str = ""
    delay_s: float = 0.0  # wait this long before answering


@dataclass
class Received:
    transport: str
    request: ExportTraceServiceRequest
    headers: dict[str, str]
    at: float  # time.monotonic() on arrival
    raw: bytes = b""  # the request body as sent (after gzip, if any, was undone)
    compressed: bool = False


@dataclass(frozen=True)
class Tls:
    """PEM bytes: the server's certificate and key, and the CA client certificates must chain to
    (None: no client certificate asked for)."""

    cert: bytes
    key: bytes
    client_ca: bytes | None = None


@dataclass
class _State:
    script: list[Reply] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    attempts: list[tuple[str, float]] = field(default_factory=list)  # (transport, time) of every request
    cond: threading.Condition = field(default_factory=threading.Condition)

    def next_reply(self, transport: str) -> Reply:
        with self.cond:
            self.attempts.append((transport, time.monotonic()))
            return self.script.pop(0) if self.script else Reply()

    def keep(self, item: Received) -> None:
        with self.cond:
            self.received.append(item)
            self.cond.notify_all()


class CaptureReceiver:
    """Use as a context manager. `grpc_endpoint` is "127.0.0.1:PORT"; `http_endpoint` the full
    http(s)://127.0.0.1:PORT/v1/traces URL. Failed replies keep nothing in `received`."""

    def __init__(self, tls: Tls | None = None):
        self._tls = tls
        self._state = _State()
        self._grpc: grpc.Server | None = None
        self._http: ThreadingHTTPServer | None = None

    def __enter__(self) -> CaptureReceiver:
        self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        handler = grpc.unary_unary_rpc_method_handler(self._export)  # bytes in, bytes out
        self._grpc.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(_SERVICE, {"Export": handler}),)
        )
        if self._tls is None:
            port = self._grpc.add_insecure_port("127.0.0.1:0")
        else:
            credentials = grpc.ssl_server_credentials(
                [(self._tls.key, self._tls.cert)],
                root_certificates=self._tls.client_ca,
                require_client_auth=self._tls.client_ca is not None,
            )
            port = self._grpc.add_secure_port("127.0.0.1:0", credentials)
        self._grpc.start()
        self.grpc_endpoint = f"127.0.0.1:{port}"
        self._http = _QuietServer(("127.0.0.1", 0), _http_handler(self._state))
        self._http.daemon_threads = True
        scheme = "http"
        if self._tls is not None:
            self._http.socket = _server_context(self._tls).wrap_socket(self._http.socket, server_side=True)
            scheme = "https"
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        self.http_endpoint = f"{scheme}://127.0.0.1:{self._http.server_address[1]}/v1/traces"
        return self

    def __exit__(self, *exc) -> None:
        self._grpc.stop(grace=None)
        self._http.shutdown()
        self._http.server_close()

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with `replies`, in order; then succeed."""
        with self._state.cond:
            self._state.script.extend(replies)

    @property
    def received(self) -> list[Received]:
        with self._state.cond:
            return list(self._state.received)

    @property
    def attempts(self) -> list[tuple[str, float]]:
        with self._state.cond:
            return list(self._state.attempts)

    def spans(self) -> list:
        """Every span received, in arrival order, as opentelemetry-proto Span messages."""
        return [
            span
            for item in self.received
            for resource_spans in item.request.resource_spans
            for scope_spans in resource_spans.scope_spans
            for span in scope_spans.spans
        ]

    def wait_for_spans(self, count: int, timeout: float = 10.0) -> list:
        with self._state.cond:
            self._state.cond.wait_for(lambda: _count(self._state.received) >= count, timeout)
        return self.spans()

    def _export(self, body: bytes, context: grpc.ServicerContext) -> bytes:
        reply = self._state.next_reply("grpc")
        time.sleep(reply.delay_s)
        if reply.grpc_code is not None:
            if reply.retry_delay_s is not None:
                delay = Duration()
                delay.FromNanoseconds(int(reply.retry_delay_s * 1e9))
                info = RetryInfo(retry_delay=delay)
                context.set_trailing_metadata((("google.rpc.retryinfo-bin", info.SerializeToString()),))
            context.abort(reply.grpc_code, reply.message or reply.grpc_code.name)
        headers = {key: value for key, value in context.invocation_metadata()}
        request = ExportTraceServiceRequest.FromString(body)
        self._state.keep(Received("grpc", request, headers, time.monotonic(), body))
        return _response(reply)


def _count(received: list[Received]) -> int:
    return sum(
        len(ss.spans) for item in received for rs in item.request.resource_spans for ss in rs.scope_spans
    )


def _response(reply: Reply) -> bytes:
    if not reply.rejected and not reply.message:
        return ExportTraceServiceResponse().SerializeToString()
    partial = ExportTracePartialSuccess(rejected_spans=reply.rejected, error_message=reply.message)
    return ExportTraceServiceResponse(partial_success=partial).SerializeToString()


def _server_context(tls: Tls) -> ssl.SSLContext:
    import os
    import tempfile

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as folder:
        cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
        with open(cert, "wb") as f:
            f.write(tls.cert)
        with open(key, "wb") as f:
            f.write(tls.key)
        context.load_cert_chain(cert, key)
    if tls.client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cadata=tls.client_ca.decode())
    return context


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a client that gave up (timeout, refused TLS handshake) is part of the tests


def _http_handler(state: _State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            reply = state.next_reply("http")
            time.sleep(reply.delay_s)
            if reply.http_status != 200:
                payload = (reply.message or "scripted failure").encode()
                self.send_response(reply.http_status)
                if reply.retry_after is not None:
                    self.send_header("Retry-After", reply.retry_after)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            compressed = self.headers.get("Content-Encoding", "") == "gzip"
            raw = gzip.decompress(body) if compressed else body
            headers = {k.lower(): v for k, v in self.headers.items()}
            request = ExportTraceServiceRequest.FromString(raw)
            state.keep(Received("http", request, headers, time.monotonic(), raw, compressed))
            payload = _response(reply)
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    return Handler
