"""The same small service four ways: plain WSGI, Flask, plain ASGI and Starlette.

Endpoints (all four): /ok, /users/<id> (a framework route), /missing (404), /fail (500 response),
/raise (ValueError), /stream?n=N (N chunks), /forever (a watch: streams until the client leaves, then
sets `Service.closed`), /ws (a websocket echo; /ws-denied refuses the handshake on plain ASGI), /context (the trace context the handler runs in, as JSON), the Kubernetes
path /api/v1/namespaces/default/pods/nginx (plain WSGI: any /api/ path with ?watch=true streams),
/headers (plain WSGI: the request headers as JSON), /redirect (plain WSGI: to /ok), /cookie (plain apps: sets a cookie), /healthz, and /routed (calls set_route()).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

from opentelemetry import baggage, trace

from interceptors.http import set_route

K8S_PATH = "/api/v1/namespaces/default/pods/nginx"
COOKIE = "session=SECRET-set-cookie; HttpOnly"


class Service:
    """What the handlers observed, shared with the test."""

    def __init__(self) -> None:
        self.closed = threading.Event()  # /forever's stream was closed (the client went away)
        self.last_chunk_at = 0  # time_ns() when /stream produced its last chunk (spans use the same clock)


def _context_json() -> bytes:
    ctx = trace.get_current_span().get_span_context()
    return json.dumps(
        {
            "trace_id": f"{ctx.trace_id:032x}",
            "span_id": f"{ctx.span_id:016x}",
            "sampled": ctx.trace_flags.sampled,
            "baggage": dict(baggage.get_all()),
        }
    ).encode()


# -- WSGI ---------------------------------------------------------------------------------------------


def plain_wsgi(service: Service) -> Any:
    def chunks(n: int) -> Iterator[bytes]:
        for i in range(n):
            yield f"chunk{i}\n".encode()
            service.last_chunk_at = time.time_ns()

    def forever() -> Iterator[bytes]:
        try:
            while True:
                yield b"event\n"
                time.sleep(0.01)
        finally:
            service.closed.set()

    def app(environ: dict, start_response: Any) -> Any:
        path = environ["PATH_INFO"]
        ok = [("Content-Type", "text/plain")]
        if path == "/raise":
            raise ValueError("boom")
        if path == "/missing":
            start_response("404 Not Found", ok)
            return [b"missing"]
        if path == "/fail":
            start_response("500 Internal Server Error", ok)
            return [b"fail"]
        if path == "/stream":
            start_response("200 OK", ok)
            return chunks(int(parse_qs(environ.get("QUERY_STRING", "")).get("n", ["3"])[0]))
        if path == "/forever":
            start_response("200 OK", ok)
            return forever()
        if path == "/context":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [_context_json()]
        if path == "/headers":
            start_response("200 OK", [("Content-Type", "application/json")])
            headers = {
                k[5:].lower().replace("_", "-"): v for k, v in environ.items() if k.startswith("HTTP_")
            }
            return [json.dumps(headers).encode()]
        if path.startswith("/api/") and "watch=true" in environ.get("QUERY_STRING", ""):
            start_response("200 OK", [("Content-Type", "application/json")])
            return chunks(3)
        if path == "/redirect":
            start_response("302 Found", [("Location", "/ok"), ("Content-Length", "0")])
            return [b""]
        if path == "/routed":
            set_route("/routed/{custom}")
        if path == "/cookie":
            ok = [*ok, ("Set-Cookie", COOKIE)]
        start_response("200 OK", ok)
        return [b"ok"]

    return app


def flask_app(service: Service) -> Any:
    import flask

    app = flask.Flask("kubetrace-test")
    wsgi = plain_wsgi(service)

    @app.route("/users/<int:user_id>")
    def user(user_id: int) -> Any:
        return {"id": user_id}

    @app.route("/ok")
    def ok() -> Any:
        return "ok"

    @app.route("/raise")
    def fail() -> Any:
        raise ValueError("boom")

    @app.route("/stream")
    @app.route("/forever")
    @app.route("/context")
    @app.route("/missing")
    @app.route("/fail")
    @app.route("/routed")
    @app.route("/healthz")
    @app.route(K8S_PATH)
    def delegated() -> Any:
        # The plain app's behaviour, served through Flask's routing.
        return flask.Response.from_app(wsgi, flask.request.environ)

    return app


# -- ASGI ---------------------------------------------------------------------------------------------


async def _send_body(send: Any, status: int, body: bytes, content_type: bytes = b"text/plain") -> None:
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-type", content_type)]}
    )
    await send({"type": "http.response.body", "body": body})


def plain_asgi(service: Service) -> Any:
    async def stream(send: Any, n: int) -> None:
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
        )
        for i in range(n):
            await send({"type": "http.response.body", "body": f"chunk{i}\n".encode(), "more_body": True})
            service.last_chunk_at = time.time_ns()
        await send({"type": "http.response.body", "body": b""})

    async def forever(receive: Any, send: Any) -> None:
        gone = asyncio.ensure_future(_wait_disconnect(receive))
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
        )
        try:
            while not gone.done():
                await send({"type": "http.response.body", "body": b"event\n", "more_body": True})
                await asyncio.sleep(0.01)
        finally:
            service.closed.set()

    async def websocket(receive: Any, send: Any) -> None:
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            await send({"type": "websocket.send", "text": "echo:" + message.get("text", "")})

    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        if scope["type"] == "websocket":
            if scope["path"] == "/ws-denied":
                await receive()
                await send({"type": "websocket.close", "code": 1008})
                return
            await websocket(receive, send)
            return
        path = scope["path"]
        if path == "/raise":
            raise ValueError("boom")
        if path == "/stream":
            n = int(parse_qs(scope["query_string"].decode()).get("n", ["3"])[0])
            return await stream(send, n)
        if path == "/forever":
            return await forever(receive, send)
        if path == "/context":
            return await _send_body(send, 200, _context_json(), b"application/json")
        if path == "/routed":
            set_route("/routed/{custom}")
        if path == "/cookie":
            headers = [(b"content-type", b"text/plain"), (b"set-cookie", COOKIE.encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            return await send({"type": "http.response.body", "body": b"ok"})
        status = {"/missing": 404, "/fail": 500}.get(path, 200)
        await _send_body(send, status, b"ok" if status == 200 else b"no")

    return app


async def _wait_disconnect(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class _AsgiEndpoint:
    """Not a function, so Starlette serves it as the ASGI app it is rather than as a request handler."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def starlette_app(service: Service) -> Any:
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
    from starlette.routing import Mount, Route, WebSocketRoute

    plain = plain_asgi(service)

    async def user(request: Any) -> Any:
        return JSONResponse(request.path_params)

    async def ok(request: Any) -> Any:
        return PlainTextResponse("ok")

    async def fail(request: Any) -> Any:
        raise ValueError("boom")

    async def watch(request: Any) -> Any:
        async def events() -> Any:
            try:
                while True:
                    yield b"event\n"
                    await asyncio.sleep(0.01)
            finally:
                service.closed.set()

        return StreamingResponse(events(), media_type="text/plain")

    async def echo(websocket: Any) -> None:
        await websocket.accept()
        async for text in websocket.iter_text():
            await websocket.send_text("echo:" + text)

    delegated = [
        Route(p, _AsgiEndpoint(plain))
        for p in ("/stream", "/context", "/missing", "/fail", "/routed", "/healthz", K8S_PATH)
    ]
    return Starlette(
        routes=[
            Route("/users/{user_id}", user),
            Route("/ok", ok),
            Route("/raise", fail),
            Route("/forever", watch),
            WebSocketRoute("/ws", echo),
            Mount("/v1", routes=[Route("/items/{item_id}", user)]),
            *delegated,
        ]
    )
