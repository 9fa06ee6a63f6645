"""HTTP servers: Flask, Django, Starlette and FastAPI apps traced at the framework's own entry point.

The entry points are the innermost place every request of the framework passes, whatever server
runs the app (werkzeug, gunicorn, uvicorn, any WSGI or ASGI server): Flask.wsgi_app, Django's
WSGIHandler.__call__, Starlette.__call__ (FastAPI's goes through it; see patch_fastapi for FastAPI's
own tracing). Being innermost, kubetrace sees
a server span already recording for the request when middleware around the app started one (the
app's own WsgiMiddleware/AsgiMiddleware, contrib's), and then adds none. Each app gets one kubetrace
middleware, made at its first request.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from functools import partial
from types import ModuleType
from typing import Any

from interceptors._contrib import outer_server_span, traced_by_contrib
from interceptors.http import AsgiMiddleware, WsgiMiddleware, set_route

from ._patches import replace
from ._plan import Plan

_MIDDLEWARE = "_kubetrace_middleware"  # the app's kubetrace middleware, or False: not traced by kubetrace
_TRACED_SCOPES = ("http", "websocket")


def patch_flask(flask: ModuleType, plan: Plan) -> None:
    if plan.enabled("flask"):
        replace(flask.Flask, "wsgi_app", _wsgi_entry("flask"))


def patch_django(wsgi: ModuleType, plan: Plan) -> None:
    if not plan.enabled("django"):
        return
    replace(wsgi.WSGIHandler, "__call__", _wsgi_entry("django"))
    from django.core.handlers import base

    # Django's routes are known only once it resolved the request; set_route() renames the span.
    replace(base.BaseHandler, "resolve_request", _naming_route)


def patch_starlette(applications: ModuleType, plan: Plan) -> None:
    if plan.enabled("starlette") or plan.enabled("fastapi"):
        replace(applications.Starlette, "__call__", _asgi_entry(plan))


def patch_fastapi(fastapi: ModuleType, plan: Plan) -> None:
    """FastAPI apps trace themselves once a tracer provider is set (newer FastAPI releases): their
    server spans would know nothing of kubetrace's trust policy and Kubernetes request info. Unless an
    app asks for FastAPI's own (telemetry={"tracing": True}), kubetrace's middleware traces it."""
    if plan.enabled("fastapi") and "telemetry" in inspect.signature(fastapi.FastAPI.__init__).parameters:
        replace(fastapi.FastAPI, "__init__", _without_native_tracing)


def _without_native_tracing(original: Callable[..., Any]) -> Callable[..., None]:
    def __init__(self: Any, *args: Any, telemetry: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if telemetry is None or "tracing" not in telemetry:
            telemetry = {**(telemetry or {}), "tracing": False}
        original(self, *args, telemetry=telemetry, **kwargs)

    return __init__


def _wsgi_entry(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def entry(app: Any, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            middleware = _middleware(app, name, lambda: WsgiMiddleware(partial(original, app)))
            if middleware is False or outer_server_span(name):
                return original(app, environ, start_response)
            return middleware(environ, start_response)

        return entry

    return make


def _asgi_entry(plan: Plan) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        async def entry(app: Any, scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] not in _TRACED_SCOPES:  # lifespan: nothing to trace
                return await original(app, scope, receive, send)
            name = _asgi_name(app)
            if not plan.enabled(name):
                return await original(app, scope, receive, send)
            middleware = _middleware(app, name, lambda: AsgiMiddleware(partial(original, app)))
            if middleware is False or outer_server_span(name):
                return await original(app, scope, receive, send)
            return await middleware(scope, receive, send)

        return entry

    return make


def _middleware(app: Any, name: str, make: Callable[[], Any]) -> Any:
    middleware = app.__dict__.get(_MIDDLEWARE)
    if middleware is None:
        middleware = False if traced_by_contrib(name, app) else make()
        app.__dict__[_MIDDLEWARE] = middleware
    return middleware


def _asgi_name(app: Any) -> str:
    fastapi = sys.modules.get("fastapi")
    return "fastapi" if fastapi is not None and isinstance(app, fastapi.FastAPI) else "starlette"


def _naming_route(original: Callable[..., Any]) -> Callable[..., Any]:
    def resolve_request(handler: Any, request: Any) -> Any:
        match = original(handler, request)
        route = getattr(match, "route", None)
        if route:
            set_route("/" + route.lstrip("/"))
        return match

    return resolve_request
