"""An app that traces gRPC and requests with opentelemetry-instrumentation's own instrumentors:
under zero-code tracing those libraries keep contrib's spans and get none of kubetrace's."""

import asyncio
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from opentelemetry.instrumentation.grpc import GrpcAioInstrumentorClient, GrpcAioInstrumentorServer
from opentelemetry.instrumentation.requests import RequestsInstrumentor

GrpcAioInstrumentorServer().instrument()
GrpcAioInstrumentorClient().instrument()
RequestsInstrumentor().instrument()

from grpc_app import aio  # noqa: E402  (after instrumenting, as contrib's documentation has it)


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    asyncio.run(aio())
    http = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    assert requests.get(f"http://127.0.0.1:{http.server_port}/", timeout=10).status_code == 204
    http.shutdown()
