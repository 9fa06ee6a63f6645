"""An in-process OTLP receiver (gRPC and HTTP/protobuf) on loopback.

It is the demo's embedded default when no collector is running, and the unit-test fixture that
proves spans really leave the process through the real OTLP exporters. It is not a collector:
it keeps what it receives in memory, as flat ReceivedSpan records.
"""

from __future__ import annotations

import gzip
import threading
import zlib
from concurrent import futures
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

_KINDS = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
_STATUS = {0: "UNSET", 1: "OK", 2: "ERROR"}


@dataclass(frozen=True)
class ReceivedSpan:
    """One span as it arrived over the wire; ids are lower-case hex."""

    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: str
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    status: str
    status_message: str
    resource: dict[str, Any]
    events: tuple[tuple[str, int, dict[str, Any]], ...] = ()
    links: tuple[tuple[str, str], ...] = ()
    scope: str = ""
    transport: str = field(default="", compare=False)

    @property
    def service(self) -> str:
        return str(self.resource.get("service.name", ""))

    @property
    def duration_ns(self) -> int:
        return self.end_ns - self.start_ns


def _value(v: AnyValue) -> Any:
    which = v.WhichOneof("value")
    if which == "array_value":
        return tuple(_value(x) for x in v.array_value.values)
    if which == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in v.kvlist_value.values}
    return getattr(v, which) if which else None


def _attrs(kvs) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in kvs}


def decode(request: trace_service_pb2.ExportTraceServiceRequest, transport: str) -> list[ReceivedSpan]:
    """Flatten an OTLP export request into ReceivedSpan records."""
    out = []
    for rs in request.resource_spans:
        resource = _attrs(rs.resource.attributes)
        for ss in rs.scope_spans:
            for s in ss.spans:
                out.append(
                    ReceivedSpan(
                        trace_id=s.trace_id.hex(),
                        span_id=s.span_id.hex(),
                        parent_span_id=s.parent_span_id.hex(),
                        name=s.name,
                        kind=_KINDS.get(s.kind, str(s.kind)),
                        start_ns=s.start_time_unix_nano,
                        end_ns=s.end_time_unix_nano,
                        attributes=_attrs(s.attributes),
                        status=_STATUS.get(s.status.code, str(s.status.code)),
                        status_message=s.status.message,
                        resource=resource,
                        events=tuple((e.name, e.time_unix_nano, _attrs(e.attributes)) for e in s.events),
                        links=tuple((link.trace_id.hex(), link.span_id.hex()) for link in s.links),
                        scope=ss.scope.name,
                        transport=transport,
                    )
                )
    return out


class _Store:
    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.requests: list[dict[str, str]] = []  # metadata / headers of each export request
        self.cond = threading.Condition()

    def add(self, spans: list[ReceivedSpan], headers: dict[str, str]) -> None:
        with self.cond:
            self.spans.extend(spans)
            self.requests.append(headers)
            self.cond.notify_all()


class _GrpcService(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, store: _Store):
        self.store = store

    def Export(self, request, context):
        self.store.add(decode(request, "grpc"), dict(context.invocation_metadata()))
        return trace_service_pb2.ExportTraceServiceResponse()


def _http_handler(store: _Store) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            encoding = self.headers.get("Content-Encoding", "")
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            if self.path != "/v1/traces":
                self.send_error(404)
                return
            request = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
            store.add(decode(request, "http"), {k.lower(): v for k, v in self.headers.items()})
            payload = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):  # keep test and demo output clean
            pass

    return Handler


class OtlpReceiver:
    """Listens for OTLP/gRPC and OTLP/HTTP on 127.0.0.1 (free ports unless given). Use as a context
    manager, or start()/stop(). `grpc_endpoint` is "127.0.0.1:PORT"; `http_endpoint` is the full
    http://127.0.0.1:PORT/v1/traces URL."""

    def __init__(self, host: str = "127.0.0.1", grpc_port: int = 0, http_port: int = 0):
        self._host, self._grpc_port, self._http_port = host, grpc_port, http_port
        self._store = _Store()
        self._grpc: grpc.Server | None = None
        self._http: ThreadingHTTPServer | None = None
        self.grpc_endpoint = self.http_endpoint = ""

    def start(self) -> OtlpReceiver:
        self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_GrpcService(self._store), self._grpc)
        port = self._grpc.add_insecure_port(f"{self._host}:{self._grpc_port}")
        self._grpc.start()
        self.grpc_endpoint = f"{self._host}:{port}"
        self._http = ThreadingHTTPServer((self._host, self._http_port), _http_handler(self._store))
        self._http.daemon_threads = True
        threading.Thread(target=self._http.serve_forever, name="otlp-http-receiver", daemon=True).start()
        self.http_endpoint = f"http://{self._host}:{self._http.server_address[1]}/v1/traces"
        return self

    def stop(self) -> None:
        if self._grpc is not None:
            self._grpc.stop(grace=None)
            self._grpc = None
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None

    def __enter__(self) -> OtlpReceiver:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def spans(self) -> list[ReceivedSpan]:
        with self._store.cond:
            return list(self._store.spans)

    @property
    def request_headers(self) -> list[dict[str, str]]:
        with self._store.cond:
            return list(self._store.requests)

    def wait_for(
        self, count: int = 1, timeout: float = 10.0, trace_id: str | None = None
    ) -> list[ReceivedSpan]:
        """Block until at least `count` spans (of `trace_id`, if given) arrived; returns them."""

        def matching() -> list[ReceivedSpan]:
            return [s for s in self._store.spans if trace_id is None or s.trace_id == trace_id]

        with self._store.cond:
            self._store.cond.wait_for(lambda: len(matching()) >= count, timeout)
            return matching()

    def clear(self) -> None:
        with self._store.cond:
            self._store.spans.clear()
            self._store.requests.clear()
