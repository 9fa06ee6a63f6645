"""The service capacity.py measures, one process per run:

    python benchmarks/_capacity_service.py SERVER IMPL EXPORT_PROTOCOL

SERVER: grpc (a sync grpc.server with 8 worker threads), aio (grpc.aio.server), wsgi (gunicorn, one
gthread worker with 8 threads, behind gunicorn's master process), asgi (uvicorn, asyncio loop and
h11, as the dev extra installs it). IMPL: bare, ours or upstream (see _libraries.py), each in its
recommended form: instrument_server() / WsgiMiddleware / AsgiMiddleware for ours, the
GrpcInstrumentorServer / GrpcAioInstrumentorServer and the WSGI / ASGI OpenTelemetryMiddleware for
upstream (the ASGI one without its per-message internal spans, so that both produce one server span
per request). Every request is a unary echo of 64 bytes or a GET answered with "ok".

Prints `port N` once the server answers requests; on SIGTERM it stops serving, flushes and stops
tracing, and prints `drain SECONDS` (the time the tracing shutdown took) before exiting.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
import time
from concurrent import futures
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, installed or not

from _libraries import Installed, install

GRPC_WORKERS = HTTP_THREADS = 8


def _announce(port: int) -> None:
    print(f"port {port}", flush=True)


def _stopped(installed: Installed) -> None:
    start = time.perf_counter()
    installed.shutdown()
    print(f"drain {time.perf_counter() - start:.3f}", flush=True)


def serve_grpc(impl: str, installed: Installed) -> None:
    import grpc
    from _echo import add_echo

    if impl == "upstream":
        from opentelemetry.instrumentation.grpc import GrpcInstrumentorServer

        GrpcInstrumentorServer().instrument()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=GRPC_WORKERS))
    if impl == "ours":
        from interceptors.grpc import instrument_server

        server = instrument_server(server)
    add_echo(server, lambda request, context: request)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    _announce(port)
    stop.wait()
    server.stop(None).wait()
    _stopped(installed)


async def _echo(request, context):
    return request


async def _serve_aio(impl: str) -> None:
    import grpc.aio
    from _echo import add_echo

    if impl == "upstream":
        from opentelemetry.instrumentation.grpc import GrpcAioInstrumentorServer

        GrpcAioInstrumentorServer().instrument()
    server = grpc.aio.server()
    if impl == "ours":
        from interceptors.grpc import instrument_server

        server = instrument_server(server)
    add_echo(server, _echo)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    _announce(port)
    await stop.wait()
    await server.stop(None)


def serve_aio(impl: str, installed: Installed) -> None:
    asyncio.run(_serve_aio(impl))
    _stopped(installed)


_BODY = b"ok"


def _wsgi_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(_BODY)))])
    return [_BODY]


async def _asgi_app(scope, receive, send):
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(_BODY)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": _BODY})


def _wrap_wsgi(impl: str):
    if impl == "ours":
        from interceptors.http import WsgiMiddleware

        return WsgiMiddleware(_wsgi_app)
    if impl == "upstream":
        from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware

        return OpenTelemetryMiddleware(_wsgi_app)
    return _wsgi_app


def serve_wsgi(impl: str, protocol: str) -> None:
    """gunicorn's master in this process; tracing is set up in the worker, after the fork, as an
    application that gunicorn imports in its workers gets it."""
    from gunicorn.app.base import BaseApplication

    class Gunicorn(BaseApplication):
        def load_config(self) -> None:
            settings = {
                "bind": "127.0.0.1:0",
                "workers": 1,
                "worker_class": "gthread",
                "threads": HTTP_THREADS,
                "loglevel": "warning",
                "post_worker_init": lambda worker: _announce(worker.sockets[0].getsockname()[1]),
                "worker_exit": lambda arbiter, worker: _stopped(self.installed),
            }
            for name, value in settings.items():
                self.cfg.set(name, value)

        def load(self):
            self.installed = install(impl, protocol)
            return _wrap_wsgi(impl)

    Gunicorn().run()


def serve_asgi(impl: str, installed: Installed) -> None:
    import uvicorn

    app = _asgi_app
    if impl == "ours":
        from interceptors.http import AsgiMiddleware

        app = AsgiMiddleware(_asgi_app)
    elif impl == "upstream":
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

        # Its default adds two internal spans per request (ASGI send and receive); both libraries
        # are to produce the same telemetry, one server span per request.
        app = OpenTelemetryMiddleware(_asgi_app, exclude_spans=["receive", "send"])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, loop="asyncio", http="h11", lifespan="off", log_level="warning"
    )
    config.access_log = False
    server = uvicorn.Server(config)

    async def run() -> None:
        serving = asyncio.create_task(server.serve())  # uvicorn handles SIGTERM: serve() returns
        while not server.started:
            await asyncio.sleep(0.01)
        _announce(server.servers[0].sockets[0].getsockname()[1])
        await serving

    # uvicorn stops gracefully on SIGTERM, then raises the signal again with the handler it found
    # installed: with the default one the process would die there, before any at-exit flush.
    signal.signal(signal.SIGTERM, lambda *_: None)
    asyncio.run(run())
    _stopped(installed)


def main(argv: list[str]) -> None:
    server, impl, protocol = argv
    if server == "wsgi":
        serve_wsgi(impl, protocol)
        return
    installed = install(impl, protocol)
    {"grpc": serve_grpc, "aio": serve_aio, "asgi": serve_asgi}[server](impl, installed)


if __name__ == "__main__":
    main(sys.argv[1:])
