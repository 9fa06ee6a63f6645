"""kubetrace's server middleware around an app that contrib already traces gives that app back: one
server span per request, contrib's. What it wraps is judged once, at construction."""

from __future__ import annotations

import functools
import logging

import flask
import pytest
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware as ContribAsgi
from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware as ContribWsgi
from starlette.applications import Starlette

from interceptors import _contrib
from interceptors.http import AsgiMiddleware, WsgiMiddleware


def _wsgi_app(environ, start_response):
    start_response("200 OK", [])
    return [b"ok"]


async def _asgi_app(scope, receive, send):
    pass


@pytest.fixture
def said(caplog, monkeypatch):
    """The "already traced" lines logged during the test (each library is named once per process)."""
    monkeypatch.setattr(_contrib, "_said", set())
    with caplog.at_level(logging.WARNING, logger="kubetrace"):
        yield lambda: [
            r.getMessage().split()[1] for r in caplog.records if "is already traced by" in r.getMessage()
        ]


def test_contribs_wsgi_and_asgi_middleware_are_given_back_as_they_are(said):
    contrib_wsgi, contrib_asgi = ContribWsgi(_wsgi_app), ContribAsgi(_asgi_app)
    assert WsgiMiddleware(contrib_wsgi) is contrib_wsgi
    assert AsgiMiddleware(contrib_asgi) is contrib_asgi
    assert WsgiMiddleware(functools.partial(contrib_wsgi)).__class__ is functools.partial
    assert said() == ["wsgi", "asgi"]


def test_an_app_contrib_marked_as_its_own_is_given_back(said):
    app = Starlette()
    app._is_instrumented_by_opentelemetry = True  # what StarletteInstrumentor.instrument_app() sets
    assert AsgiMiddleware(app) is app
    flask_app = flask.Flask(__name__)
    flask_app._is_instrumented_by_opentelemetry = True  # FlaskInstrumentor's mark
    assert WsgiMiddleware(flask_app.wsgi_app) == flask_app.wsgi_app  # its bound entry point, unwrapped
    assert said() == ["starlette", "flask"]


def test_apps_contrib_does_not_trace_get_kubetraces_middleware(said):
    flask_app = flask.Flask(__name__)
    assert isinstance(WsgiMiddleware(flask_app.wsgi_app), WsgiMiddleware)
    assert isinstance(WsgiMiddleware(_wsgi_app), WsgiMiddleware)
    assert isinstance(WsgiMiddleware(functools.partial(_wsgi_app)), WsgiMiddleware)
    assert isinstance(AsgiMiddleware(Starlette()), AsgiMiddleware)
    assert isinstance(AsgiMiddleware(AsgiMiddleware(_asgi_app)), AsgiMiddleware)
    assert said() == []
