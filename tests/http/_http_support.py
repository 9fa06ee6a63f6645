"""Helpers the HTTP suites share (a named module: several conftest.py files exist, so none is importable as `conftest`)."""

from __future__ import annotations

import time
from typing import Any

from _http_apps import Service, flask_app, plain_asgi, plain_wsgi, starlette_app

from interceptors.http import AsgiMiddleware, WsgiMiddleware

SERVERS = ("wsgi", "flask", "asgi", "starlette")
FRAMEWORKS = ("flask", "starlette")  # the ones whose routes the middleware finds by itself


def build(kind: str, service: Service, **options: Any) -> Any:
    """The app of `kind` wrapped in our middleware."""
    if kind == "wsgi":
        return WsgiMiddleware(plain_wsgi(service), **options)
    if kind == "flask":
        app = flask_app(service)
        app.wsgi_app = WsgiMiddleware(app.wsgi_app, **options)
        return app
    if kind == "asgi":
        return AsgiMiddleware(plain_asgi(service), **options)
    return AsgiMiddleware(starlette_app(service), **options)


def wait_for_spans(recorder, count: int, timeout: float = 5.0) -> list:
    """The finished spans once there are `count` of them: a server span ends after the response
    reaches the client, so the test may see the response first."""
    deadline = time.monotonic() + timeout
    while True:
        spans = recorder.spans()
        if len(spans) >= count or time.monotonic() > deadline:
            return spans
        time.sleep(0.005)
