"""An app that traces itself with kubetrace in every documented form; run under zero-code tracing it
must get each span once, its own options kept, and never the "instrumented already" error."""

import asyncio
import threading
from concurrent import futures

import flask
import grpc
import requests
from grpc_app import SERVICE, handlers, say, sync_say
from werkzeug.serving import make_server

import tracing
from interceptors import grpc as kgrpc
from interceptors.http import WsgiMiddleware, instrument_requests_session

tracing.setup()  # already done by zero-code tracing: keeps the first setup

app = flask.Flask(__name__)
app.wsgi_app = WsgiMiddleware(app.wsgi_app)


@app.get("/items/<int:item>")
def item(item):
    return {"item": item}


def marked(meta, request):
    return {"app.marked": True}


async def aio() -> None:
    server = kgrpc.instrument_server(grpc.aio.server(), request_attributes=marked)
    server.add_generic_rpc_handlers([handlers(say)])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = kgrpc.instrument_channel(grpc.aio.insecure_channel(f"127.0.0.1:{port}"))
    assert await channel.unary_unary(f"/{SERVICE}/Say")(b"aio") == b"aio"
    await channel.close()
    await server.stop(None)


def sync() -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), interceptors=[kgrpc.server_interceptor()])
    server.add_generic_rpc_handlers([handlers(sync_say)])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.intercept_channel(grpc.insecure_channel(f"127.0.0.1:{port}"), kgrpc.client_interceptor())
    assert channel.unary_unary(f"/{SERVICE}/Say")(b"sync") == b"sync"
    channel.close()
    server.stop(None)


if __name__ == "__main__":
    asyncio.run(aio())
    sync()
    http = make_server("127.0.0.1", 0, app)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    session = instrument_requests_session(requests.Session())
    assert session.get(f"http://127.0.0.1:{http.server_port}/items/1", timeout=10).json() == {"item": 1}
    http.shutdown()
