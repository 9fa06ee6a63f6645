"""ASGI adapter: reads the scope and watches `send` for the response start.

One span per HTTP request and per websocket connection, ended when the app returns: after the last
body message (a watch: when the client went away and the app noticed), or with what it raised, which
for Starlette includes the exception behind a 500 it already sent. No span per message; lifespan (and
any other scope type) passes straight through.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from opentelemetry.context import Context

from tracing.instrumentation import attach, detach

from .._contrib import contrib_server_app
from ._k8s import AUDIT_ID_HEADER
from ._options import server_options
from ._request import HeaderReader, ServerRequest, new_request
from ._server_recipe import ServerCall, ServerRecipe

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_AUDIT_HEADER_NAME = AUDIT_ID_HEADER.lower().encode()
_RESPONSE_STARTS = frozenset({"http.response.start", "websocket.accept", "websocket.http.response.start"})
_WEBSOCKET_DENIED = 403  # a websocket closed before it was accepted: the handshake got a 403


class _ScopeReader(HeaderReader):
    """ASGI headers are (bytes, bytes) pairs with lower-case names; the carrier is them as a dict."""

    def __init__(self) -> None:
        self._keys: dict[str, bytes] = {}

    def value(self, carrier: dict[bytes, bytes], name: str) -> str | None:
        key = self._keys.get(name)
        if key is None:
            key = self._keys[name] = name.encode("latin-1")
        value = carrier.get(key)
        return None if value is None else value.decode("latin-1")

    def keys(self, carrier: dict[bytes, bytes]) -> list[str]:
        return [key.decode("latin-1") for key in carrier]

    def request_headers(self, carrier: dict[bytes, bytes]) -> Iterable[tuple[str, str]]:
        return self.response_headers(carrier.items())

    def response_headers(self, headers: Iterable[tuple[bytes, bytes]]) -> Iterable[tuple[str, str]]:
        return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers]


_READER = _ScopeReader()


class AsgiMiddleware:
    """Traces every HTTP request and websocket connection of an ASGI application (Starlette, FastAPI, ...).

        app = AsgiMiddleware(app)

    Options: tracer_provider, trust_policy, excluded_urls, route, request_hook(span, scope),
    response_hook(span, scope, status, headers), kubernetes (default True).

    An app contrib traces already (marked by StarletteInstrumentor or FastAPIInstrumentor, an
    OpenTelemetryMiddleware) is given back as it is: one span per request, contrib's (see
    interceptors._contrib).
    """

    def __new__(cls, app: Callable[[Scope, Receive, Send], Awaitable[None]], **options: Any) -> Any:
        return app if contrib_server_app(app) else super().__new__(cls)

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], **options: Any):
        self.app = app
        self._recipe = ServerRecipe(server_options("AsgiMiddleware", options), _READER, _request)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" and scope["type"] != "websocket":
            return await self.app(scope, receive, send)
        call = self._recipe.start(scope.get("path", ""), _header_dict(scope.get("headers") or ()), scope)
        if call is None:
            return await self.app(scope, receive, send)
        if call.__class__ is Context:  # not sampled: the app runs in its context, nothing to watch
            token = attach(call)
            try:
                return await self.app(scope, receive, send)
            finally:
                detach(token)
        token = attach(call.context)
        try:
            await self.app(scope, receive, _traced_send(send, call, scope) if call.watches_response else send)
        except BaseException as exc:
            call.finish(exc)
            raise
        finally:
            detach(token)
        call.end(call.status)  # finish(), a frame fewer: nothing was raised


def _request(scope: Scope, headers: dict[bytes, bytes]) -> ServerRequest:
    """The request's fields, read when the recipe needs them (a request that records)."""
    server, client = scope.get("server"), scope.get("client")
    return new_request(
        (
            scope.get("method", "GET"),  # method (a websocket handshake is a GET)
            scope.get("scheme") or ("ws" if scope["type"] == "websocket" else "http"),  # scheme
            scope.get("path", ""),  # path
            scope.get("query_string", b"").decode("latin-1"),  # query
            _READER.value(headers, "host"),  # host
            tuple(server) if server else None,  # server (some servers give a list: it keys a cache)
            client[0] if client else None,  # client
            _READER.value(headers, "user-agent"),  # user_agent
            scope.get("http_version"),  # protocol
            headers,  # carrier
            _READER,  # reader
            scope,  # native
        )
    )


def _header_dict(raw: Iterable[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    if not isinstance(raw, list | tuple):
        raw = list(raw)
    headers = dict(raw)
    if len(headers) != len(raw):  # repeated names (tracestate, baggage) are one comma-joined list
        headers = {}
        for name, value in raw:
            headers[name] = headers[name] + b"," + value if name in headers else value
    return headers


def _traced_send(send: Send, call: ServerCall, scope: Scope) -> Send:
    root_path = scope.get("root_path", "")

    async def traced_send(message: Message) -> None:
        kind = message["type"]
        if kind in _RESPONSE_STARTS:
            message = _with_audit_id(message, call)
            call.response_started(message.get("status", 101), message.get("headers"))  # accept: 101
            if call.recording:
                call.found_route(_starlette_route(scope, root_path))
        elif kind == "websocket.close" and call.status is None:
            call.response_started(_WEBSOCKET_DENIED)
        try:
            await send(message)
        except OSError:  # the client went away (uvicorn raises ClientDisconnected, an OSError)
            call.client_gone = True
            raise

    return traced_send


def _with_audit_id(message: Message, call: ServerCall) -> Message:
    """Echo the audit ID in the response, as kube-apiserver does, unless the app set one."""
    if call.audit_id is None:
        return message
    headers = list(message.get("headers") or ())
    if any(name.lower() == _AUDIT_HEADER_NAME for name, _ in headers):
        return message
    headers.append((_AUDIT_HEADER_NAME, call.audit_id.encode("latin-1")))
    return {**message, "headers": headers}


def _starlette_route(scope: Scope, root_path: str) -> str | None:
    """Starlette (and FastAPI) put the matched route in the scope; under a Mount its path is relative
    to the mount, whose matched prefix the router appended to root_path."""
    path = getattr(scope.get("route"), "path", None)
    if not isinstance(path, str):
        return None
    mount_prefix = scope.get("root_path", "")[len(root_path) :]
    return mount_prefix + path
