"""An app that traces itself with kubetrace in every documented form; run under zero-code tracing it
must get each span once, its own options kept, and never the "instrumented already" error. Under
opentelemetry-instrument with upstream's distro it must get contrib's spans only, once each.

    python explicit_app.py [grpc_sync] [grpc_aio] [http] [http_clients]     (no argument: all)

Each part makes two calls (grpc: one per form, fast and interceptor; http: two requests with
requests; http_clients: one with urllib3, one with httpx), each to a Flask app in WsgiMiddleware."""

import asyncio
import sys
import threading
from concurrent import futures

import flask
import grpc
import httpx
import requests
import urllib3
from grpc_app import SERVICE, handlers, say, sync_say
from werkzeug.serving import make_server

import tracing
from interceptors import grpc as kgrpc
from interceptors.http import (
    TracingTransport,
    WsgiMiddleware,
    instrument_pool_manager,
    instrument_requests_session,
)

tracing.setup()  # under zero-code tracing, already done: keeps the first setup


def marked(meta, request):
    return {"app.marked": True}


async def _aio_call(server: grpc.aio.Server, channel_for) -> None:
    server.add_generic_rpc_handlers([handlers(say)])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = channel_for(f"127.0.0.1:{port}")
    assert await channel.unary_unary(f"/{SERVICE}/Say")(b"aio") == b"aio"
    await channel.close()
    await server.stop(None)


async def grpc_aio() -> None:
    await _aio_call(
        kgrpc.instrument_server(grpc.aio.server(), request_attributes=marked),
        lambda target: kgrpc.instrument_channel(grpc.aio.insecure_channel(target)),
    )
    await _aio_call(
        grpc.aio.server(interceptors=[kgrpc.aio_server_interceptor()]),
        lambda target: grpc.aio.insecure_channel(target, interceptors=kgrpc.aio_client_interceptors()),
    )


def _sync_call(server: grpc.Server, channel_for) -> None:
    server.add_generic_rpc_handlers([handlers(sync_say)])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = channel_for(f"127.0.0.1:{port}")
    assert channel.unary_unary(f"/{SERVICE}/Say")(b"sync") == b"sync"
    channel.close()
    server.stop(None)


def grpc_sync() -> None:
    executor = futures.ThreadPoolExecutor(max_workers=2)
    _sync_call(
        kgrpc.instrument_server(grpc.server(executor)),
        lambda target: kgrpc.instrument_channel(grpc.insecure_channel(target)),
    )
    _sync_call(
        grpc.server(executor, interceptors=[kgrpc.server_interceptor()]),
        lambda target: grpc.intercept_channel(grpc.insecure_channel(target), kgrpc.client_interceptor()),
    )


def _flask_server():
    app = flask.Flask(__name__)
    app.wsgi_app = WsgiMiddleware(app.wsgi_app)
    app.get("/items/<int:item>")(lambda item: {"item": item})
    server = make_server("127.0.0.1", 0, app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def http() -> None:
    server = _flask_server()
    session = instrument_requests_session(requests.Session())
    for i in (1, 2):
        assert session.get(f"http://127.0.0.1:{server.server_port}/items/{i}", timeout=10).json() == {
            "item": i
        }
    server.shutdown()


def http_clients() -> None:
    server = _flask_server()
    base = f"http://127.0.0.1:{server.server_port}/items"
    pool = instrument_pool_manager(urllib3.PoolManager())
    assert pool.request("GET", f"{base}/1").json() == {"item": 1}
    with httpx.Client(transport=TracingTransport()) as client:
        assert client.get(f"{base}/2").json() == {"item": 2}
    server.shutdown()


if __name__ == "__main__":
    parts = sys.argv[1:] or ["grpc_aio", "grpc_sync", "http", "http_clients"]
    if "grpc_aio" in parts:
        asyncio.run(grpc_aio())
    if "grpc_sync" in parts:
        grpc_sync()
    if "http" in parts:
        http()
    if "http_clients" in parts:
        http_clients()
