"""A span-counting OTLP receiver in its own process, for benchmarks that export for real.

    with Receiver() as receiver:                 # starts `python _receiver.py` on free loopback ports
        ... export to receiver.grpc_endpoint or receiver.http_endpoint ...
        receiver.count("my-service")             # spans received so far from that service.name

The child decodes every ExportTraceServiceRequest (OTLP/gRPC, and OTLP/HTTP with or without gzip)
with protobuf's C implementation and counts spans per resource service.name; it keeps nothing else,
so it costs little CPU on a machine the measured service shares. Benchmarks give each measured
service a unique service.name and count only that name, so nothing else sent to the receiver (a
load generator's own spans, another variant's) is ever counted.

The child prints its endpoints as one JSON line, then answers one command per stdin line:
`count NAME` -> the count; `cpu` -> its own CPU seconds so far. It exits when stdin closes.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import threading
import time
import zlib
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EXPORT_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


class Receiver:
    """The parent's handle on a receiver child process (a context manager)."""

    def __init__(self) -> None:
        self._process: subprocess.Popen | None = None
        self.grpc_endpoint = self.http_endpoint = ""
        self.pid = 0

    def __enter__(self) -> Receiver:
        self._process = subprocess.Popen(
            [sys.executable, __file__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        hello = json.loads(self._process.stdout.readline() or "{}")
        if "grpc" not in hello:
            self.__exit__()
            raise RuntimeError("benchmarks/_receiver.py: the receiver process did not start")
        self.grpc_endpoint, self.http_endpoint, self.pid = hello["grpc"], hello["http"], self._process.pid
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.stdin.close()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    def _ask(self, command: str) -> str:
        self._process.stdin.write(command + "\n")
        return self._process.stdout.readline().strip()

    def count(self, service: str) -> int:
        """Spans received so far whose resource has service.name == `service`."""
        return int(self._ask(f"count {service}"))

    def cpu_seconds(self) -> float:
        return float(self._ask("cpu"))

    def settled_count(self, service: str, quiet: float = 0.3, timeout: float = 30.0) -> int:
        """The count once it stopped changing for `quiet` seconds (or `timeout` passed): for spans that
        may still be on their way when the sender is not known to have finished."""
        deadline, last, since = time.monotonic() + timeout, -1, time.monotonic()
        while time.monotonic() < deadline:
            now = self.count(service)
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                break
            time.sleep(0.05)
        return last


# -- the child process ------------------------------------------------------------------------------


class _Counts:
    def __init__(self) -> None:
        self.by_service: dict[str, int] = {}
        self.lock = threading.Lock()

    def add(self, body: bytes) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        request = ExportTraceServiceRequest.FromString(body)
        with self.lock:
            for resource_spans in request.resource_spans:
                service = next(
                    (
                        a.value.string_value
                        for a in resource_spans.resource.attributes
                        if a.key == "service.name"
                    ),
                    "",
                )
                spans = sum(len(scope_spans.spans) for scope_spans in resource_spans.scope_spans)
                self.by_service[service] = self.by_service.get(service, 0) + spans


def _grpc_server(counts: _Counts):
    import grpc

    def export(body: bytes, context) -> bytes:
        counts.add(body)
        return b""  # an empty ExportTraceServiceResponse: everything accepted

    handler = grpc.method_handlers_generic_handler(
        EXPORT_METHOD.split("/")[1], {"Export": grpc.unary_unary_rpc_method_handler(export)}
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), handlers=[handler])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, f"127.0.0.1:{port}"


_DECOMPRESS = {"": bytes, "identity": bytes, "gzip": gzip.decompress, "deflate": zlib.decompress}


def _http_server(counts: _Counts) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # the exporters keep their connection open

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            decompress = _DECOMPRESS.get(self.headers.get("Content-Encoding", ""))
            if self.path != "/v1/traces" or decompress is None:
                self.send_error(404 if decompress else 415)
                return
            counts.add(decompress(body))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _serve() -> None:
    counts = _Counts()
    grpc_server, grpc_endpoint = _grpc_server(counts)
    http_server = _http_server(counts)
    http_endpoint = f"http://127.0.0.1:{http_server.server_address[1]}/v1/traces"
    print(json.dumps({"grpc": grpc_endpoint, "http": http_endpoint}), flush=True)
    for line in sys.stdin:
        command, _, argument = line.strip().partition(" ")
        if command == "count":
            with counts.lock:
                print(counts.by_service.get(argument, 0), flush=True)
        elif command == "cpu":
            print(time.process_time(), flush=True)
    grpc_server.stop(None)
    http_server.shutdown()


if __name__ == "__main__":
    _serve()
