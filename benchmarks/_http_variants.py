"""The variants http_overhead.py compares: one "round" of each does `n` requests and returns seconds.

Every variant is a context manager factory `round() -> run(n)`: entering it builds what a round needs
(a fresh loopback server, in a child process, for the client variants); `run(n)` is the timed part,
timed in CPU seconds of this process so that other load on the machine does not count.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import requests
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware as UpstreamAsgi
from opentelemetry.instrumentation.httpx import SyncOpenTelemetryTransport
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware as UpstreamWsgi
from opentelemetry.trace import TracerProvider

from interceptors.http import AsgiMiddleware, TracingTransport, WsgiMiddleware, instrument_requests_session

Run = Callable[[int], float]
Round = Callable[[], Any]  # a context manager yielding Run
Providers = Mapping[str, TracerProvider | None]  # "ours" / "upstream" -> the tracer_provider it is given


# -- WSGI, called directly --------------------------------------------------------------------------


def wsgi_app(environ: dict, start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def wsgi_environ(path: str, flags: str) -> dict:
    return {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8080",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.7",
        "HTTP_HOST": "api.example.com:8080",
        "HTTP_USER_AGENT": "kubectl/v1.34.0 (linux/amd64) kubernetes/abc",
        "HTTP_ACCEPT": "application/json",
        "HTTP_TRACEPARENT": f"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-{flags}",
        "wsgi.url_scheme": "http",
    }


def _start_response(status: str, headers: list, exc_info: Any = None) -> Callable[[bytes], None]:
    return _write


def _write(data: bytes) -> None:
    pass


def wsgi_round(app: Any, environ: dict) -> Round:
    @contextmanager
    def round_() -> Iterator[Run]:
        def run(n: int) -> float:
            start = time.process_time()
            for _ in range(n):
                body = app(environ.copy(), _start_response)  # a server hands every request a fresh environ
                for _chunk in body:
                    pass
                close = getattr(body, "close", None)
                if close is not None:
                    close()
            return time.process_time() - start

        yield run

    return round_


def wsgi_variants(providers: Providers, path: str, flags: str) -> dict[str, Round]:
    environ = wsgi_environ(path, flags)
    return {
        "bare": wsgi_round(wsgi_app, environ),
        "ours": wsgi_round(WsgiMiddleware(wsgi_app, tracer_provider=providers["ours"]), environ),
        "upstream": wsgi_round(UpstreamWsgi(wsgi_app, tracer_provider=providers["upstream"]), environ),
    }


# -- ASGI, called directly --------------------------------------------------------------------------


async def asgi_app(scope: dict, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def asgi_scope(path: str, flags: str) -> dict:
    traceparent = f"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-{flags}".encode()
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"api.example.com:8080"),
            (b"user-agent", b"kubectl/v1.34.0"),
            (b"traceparent", traceparent),
        ],
        "client": ("10.0.0.7", 51234),
        "server": ("127.0.0.1", 8080),
    }


def asgi_round(app: Any, scope: dict) -> Round:
    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        pass

    async def requests_(n: int) -> float:
        start = time.process_time()
        for _ in range(n):
            await app(dict(scope), receive, send)
        return time.process_time() - start

    @contextmanager
    def round_() -> Iterator[Run]:
        loop = asyncio.new_event_loop()
        try:
            yield lambda n: loop.run_until_complete(requests_(n))
        finally:
            loop.close()

    return round_


def asgi_variants(providers: Providers, path: str, flags: str) -> dict[str, Round]:
    scope = asgi_scope(path, flags)
    return {
        "bare": asgi_round(asgi_app, scope),
        "ours": asgi_round(AsgiMiddleware(asgi_app, tracer_provider=providers["ours"]), scope),
        # without its default internal spans per ASGI message: both produce one server span per request
        "upstream": asgi_round(
            UpstreamAsgi(asgi_app, tracer_provider=providers["upstream"], exclude_spans=["receive", "send"]),
            scope,
        ),
    }


# -- clients against a loopback server --------------------------------------------------------------


class _OkHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the client cost is not drowned in connection setup
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


def _serve(port_out: Any) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OkHandler)
    server.daemon_threads = True
    port_out.send(server.server_port)
    server.serve_forever(poll_interval=0.05)


@contextmanager
def loopback_server() -> Iterator[str]:
    """A fresh keep-alive server in a child process: its work never counts as the client's CPU time."""
    context = multiprocessing.get_context(
        "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    )
    port_in, port_out = context.Pipe(duplex=False)
    process = context.Process(target=_serve, args=(port_out,), daemon=True)
    process.start()
    try:
        yield f"http://127.0.0.1:{port_in.recv()}/users/42"
    finally:
        process.terminate()
        process.join()


def _client_round(
    open_client: Callable[[], Any], get: Callable[[Any, str], Any], close: Callable[[Any], None]
) -> Round:
    @contextmanager
    def round_() -> Iterator[Run]:
        with loopback_server() as url:
            client = open_client()
            try:
                get(client, url)  # connect outside the timed part

                def run(n: int) -> float:
                    start = time.process_time()
                    for _ in range(n):
                        get(client, url)
                    return time.process_time() - start

                yield run
            finally:
                close(client)

    return round_


def _requests_get(session: requests.Session, url: str) -> None:
    session.get(url).content  # noqa: B018 - read the body: the span ends there


def _upstream_session(provider: TracerProvider) -> requests.Session:
    RequestsInstrumentor().instrument(tracer_provider=provider)  # upstream patches Session globally
    return requests.Session()


def _uninstrument(session: requests.Session) -> None:
    session.close()
    RequestsInstrumentor().uninstrument()


def requests_variants(providers: Providers) -> dict[str, Round]:
    return {
        "bare": _client_round(requests.Session, _requests_get, requests.Session.close),
        "ours": _client_round(
            lambda: instrument_requests_session(requests.Session(), tracer_provider=providers["ours"]),
            _requests_get,
            requests.Session.close,
        ),
        "upstream": _client_round(
            lambda: _upstream_session(providers["upstream"]), _requests_get, _uninstrument
        ),
    }


def _httpx_get(client: httpx.Client, url: str) -> None:
    client.get(url)


def httpx_variants(providers: Providers) -> dict[str, Round]:
    def with_transport(
        wrap: Callable[[httpx.HTTPTransport], httpx.BaseTransport],
    ) -> Callable[[], httpx.Client]:
        return lambda: httpx.Client(transport=wrap(httpx.HTTPTransport()))

    return {
        "bare": _client_round(with_transport(lambda t: t), _httpx_get, httpx.Client.close),
        "ours": _client_round(
            with_transport(lambda t: TracingTransport(t, tracer_provider=providers["ours"])),
            _httpx_get,
            httpx.Client.close,
        ),
        "upstream": _client_round(
            with_transport(lambda t: SyncOpenTelemetryTransport(t, tracer_provider=providers["upstream"])),
            _httpx_get,
            httpx.Client.close,
        ),
    }
