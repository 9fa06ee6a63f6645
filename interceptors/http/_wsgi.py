"""WSGI adapter: reads the environ, sees start_response, and ends the span when the server closes the body."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from opentelemetry.context import Context

from tracing.instrumentation import attach, detach

from .._contrib import contrib_server_app
from ._k8s import AUDIT_ID_HEADER
from ._options import server_options
from ._request import HeaderReader, ServerRequest, new_request
from ._server_recipe import ServerCall, ServerRecipe, unsampled_call


class _EnvironReader(HeaderReader):
    """Request headers live in the environ as HTTP_* keys (plus CONTENT_TYPE and CONTENT_LENGTH)."""

    def __init__(self) -> None:
        self._keys: dict[str, str] = {}

    def value(self, carrier: dict[str, Any], name: str) -> str | None:
        return carrier.get(self._keys.get(name) or self._key(name))

    def get(self, carrier: dict[str, Any], key: str) -> list[str] | None:
        value = carrier.get(self._keys.get(key) or self._key(key))  # the propagators' hot path
        return None if value is None else [value]

    def _key(self, name: str) -> str:
        key = self._keys[name] = "HTTP_" + name.upper().replace("-", "_")
        return key

    def keys(self, carrier: dict[str, Any]) -> list[str]:
        return [name for name, _ in self.request_headers(carrier)]

    def request_headers(self, carrier: dict[str, Any]) -> Iterable[tuple[str, str]]:
        for key, value in carrier.items():
            if key.startswith("HTTP_"):
                yield key[5:].lower().replace("_", "-"), value
            elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
                yield key.lower().replace("_", "-"), value

    def response_headers(self, headers: list[tuple[str, str]]) -> Iterable[tuple[str, str]]:
        return headers


_READER = _EnvironReader()


class WsgiMiddleware:
    """Traces every request of a WSGI application (Flask's `app.wsgi_app`, Django's `application`, ...).

        app.wsgi_app = WsgiMiddleware(app.wsgi_app)

    Options: tracer_provider, trust_policy, excluded_urls, route, request_hook(span, environ),
    response_hook(span, environ, status, headers), kubernetes (default True).

    An app contrib traces already (Flask's under FlaskInstrumentor, an OpenTelemetryMiddleware) is
    given back as it is: one span per request, contrib's (see interceptors._contrib).
    """

    def __new__(cls, app: Callable[..., Iterable[bytes]], **options: Any) -> Any:
        return app if contrib_server_app(app) else super().__new__(cls)

    def __init__(self, app: Callable[..., Iterable[bytes]], **options: Any):
        self.app = app
        self._recipe = ServerRecipe(server_options("WsgiMiddleware", options), _READER, _request)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("SCRIPT_NAME"):  # mounted under a prefix: url.path is the whole path
            path = environ["SCRIPT_NAME"] + path
        call = self._recipe.start(path, environ, environ)
        if call is None:
            return self.app(environ, start_response)
        if call.__class__ is Context:  # not sampled: the app runs in its context, nothing to watch
            token = attach(call)
            try:
                body = self.app(environ, start_response)
            finally:
                detach(token)
            if type(body) is list or type(body) is tuple:
                return body
            return _StreamBody(body, unsampled_call(call))
        if call.watches_response:
            start_response = _start_response(call, start_response)
        token = attach(call.context)
        try:
            body = self.app(environ, start_response)
        except BaseException as exc:
            call.finish(exc)
            raise
        finally:
            detach(token)
        if type(body) is list or type(body) is tuple:
            # In memory: no application code runs while it is sent, and an unsampled span has no end
            # to wait for.
            return _ListBody(body, call) if call.recording else body
        return _StreamBody(body, call)


def _request(environ: dict[str, Any], carrier: dict[str, Any]) -> ServerRequest:
    """The request's fields, read when the recipe needs them (a request that records)."""
    get = environ.get
    path = get("PATH_INFO", "")
    if get("SCRIPT_NAME"):
        path = environ["SCRIPT_NAME"] + path
    return new_request(
        (
            get("REQUEST_METHOD", ""),  # method
            get("wsgi.url_scheme", "http"),  # scheme
            path,  # path
            get("QUERY_STRING", ""),  # query
            get("HTTP_HOST"),  # host
            (get("SERVER_NAME"), get("SERVER_PORT")),  # server
            get("REMOTE_ADDR"),  # client
            get("HTTP_USER_AGENT"),  # user_agent
            get("SERVER_PROTOCOL"),  # protocol
            carrier,  # carrier
            _READER,  # reader
            environ,  # native
        )
    )


def _start_response(call: ServerCall, start_response: Callable[..., Any]) -> Callable[..., Any]:
    def traced_start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if call.audit_id is not None and not _has_audit_id(headers):
            headers = [*headers, (AUDIT_ID_HEADER, call.audit_id)]
        code = status[:3]
        call.response_started(int(code) if code.isdigit() else 0, headers)
        if call.recording:
            call.found_route(_werkzeug_route(call.request.native))
        return start_response(status, headers, exc_info)

    return traced_start_response


def _has_audit_id(headers: list[tuple[str, str]]) -> bool:
    """Whether the app set the audit ID itself (an aggregated API server echoing its caller's)."""
    return any(name.lower() == "audit-id" for name, _ in headers)


def _werkzeug_route(environ: dict[str, Any]) -> str | None:
    """Flask (werkzeug) leaves its request in the environ; after dispatch it knows the matched rule."""
    rule = getattr(environ.get("werkzeug.request"), "url_rule", None)
    return getattr(rule, "rule", None)


class _ListBody(list):
    """A body already in memory: still a list (servers take its len() for Content-Length), plus the
    close() PEP 3333 servers call once it is sent, which ends the span."""

    __slots__ = ("_call",)

    def __init__(self, body: Iterable[bytes], call: ServerCall):
        super().__init__(body)
        self._call = call

    def close(self) -> None:
        call = self._call
        call.end(call.status)  # finish(), a frame fewer: nothing was raised


class _StreamBody:
    """A streamed body (a watch): application code runs per chunk, in the request's context. The span
    ends when the server closes it (PEP 3333 requires close(), also when the client went away) or when
    producing a chunk fails."""

    __slots__ = ("_body", "_call", "_chunks")

    def __init__(self, body: Iterable[bytes], call: ServerCall):
        self._body, self._call = body, call
        self._chunks: Iterator[bytes] | None = None

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        token = self._call.enter()
        try:
            if self._chunks is None:
                self._chunks = iter(self._body)
            return next(self._chunks)
        except StopIteration:
            raise
        except BaseException as exc:
            self._call.finish(exc)
            raise
        finally:
            self._call.exit(token)

    def close(self) -> None:
        close = getattr(self._body, "close", None)
        token = self._call.enter()
        try:
            if close is not None:
                close()
        except BaseException as exc:
            self._call.finish(exc)
            raise
        finally:
            self._call.exit(token)
            self._call.finish()
