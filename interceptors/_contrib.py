"""What opentelemetry-instrumentation's instrumentors (contrib) already trace, so nothing is traced twice.

Shared by interceptors.grpc, interceptors.http and zero-code tracing (kubetrace_auto). A program that
instruments itself with kubetrace may run under `opentelemetry-instrument` with upstream's distro,
which turns on contrib's instrumentor for every library it has one for. Each library is then traced
by exactly one of the two, and one log line per library says which.

**Contrib's is kept, kubetrace adds none.** By the time the program calls kubetrace, contrib is
inside the object already: grpc.server() and the channel constructors put contrib's interceptors into
what they return, Flask's app has contrib's wrapper as its wsgi_app, requests' Session.send is
patched on the class. Taking contrib out again would mean reaching into its private state and into
grpc's, and would undo what the program asked upstream's launcher for. So kubetrace's entry points
give back what they were handed (instrument_server, instrument_channel, the middleware and clients),
or an interceptor that adds nothing; the program's code needs no change either way. The log line says
how to get kubetrace's spans instead: run under kubetrace's distro (OTEL_PYTHON_DISTRO=kubetrace, or
`kubetrace run`), which does not load contrib's instrumentors for these libraries, or leave contrib's
out with OTEL_PYTHON_DISABLED_INSTRUMENTATIONS.

Contrib marks what it instrumented: each instrumentor is a singleton whose instance says
`_is_instrumented_by_opentelemetry` once instrument() ran, and its per-object forms (instrument_app,
instrument_client) set the same attribute on the app or client. The check runs when kubetrace
instruments an object (a server, a channel, a middleware, a client), never per call. For grpc,
requests, urllib3 and httpx it reads the instrumentor's switch, which patches the library's
constructors or classes: a server or channel made before the switch was turned on counts as contrib's
too (under opentelemetry-instrument the instrumentors are on before the program's code runs). An HTTP server
instrumentation that wraps the framework's app from outside has its server span current when
kubetrace's innermost wrapper runs (outer_server_span, for zero-code tracing's framework hooks).
"""

from __future__ import annotations

import functools
import logging
import sys
import threading
from typing import Any

from opentelemetry import trace as trace_api

_log = logging.getLogger("kubetrace")

# Instrumentation name (contrib's entry-point name, the one OTEL_PYTHON_DISABLED_INSTRUMENTATIONS
# takes) -> contrib's instrumentor, as module and class.
INSTRUMENTORS = {
    "grpc_server": ("opentelemetry.instrumentation.grpc", "GrpcInstrumentorServer"),
    "grpc_aio_server": ("opentelemetry.instrumentation.grpc", "GrpcAioInstrumentorServer"),
    "grpc_client": ("opentelemetry.instrumentation.grpc", "GrpcInstrumentorClient"),
    "grpc_aio_client": ("opentelemetry.instrumentation.grpc", "GrpcAioInstrumentorClient"),
    "flask": ("opentelemetry.instrumentation.flask", "FlaskInstrumentor"),
    "django": ("opentelemetry.instrumentation.django", "DjangoInstrumentor"),
    "starlette": ("opentelemetry.instrumentation.starlette", "StarletteInstrumentor"),
    "fastapi": ("opentelemetry.instrumentation.fastapi", "FastAPIInstrumentor"),
    "requests": ("opentelemetry.instrumentation.requests", "RequestsInstrumentor"),
    "urllib3": ("opentelemetry.instrumentation.urllib3", "URLLib3Instrumentor"),
    "httpx": ("opentelemetry.instrumentation.httpx", "HTTPXClientInstrumentor"),
}
_MARK = "_is_instrumented_by_opentelemetry"
_CONTRIB_PACKAGE = "opentelemetry.instrumentation."
_KUBETRACE_SCOPE = "kubetrace."
# Frameworks whose app object kubetrace's server middleware may be given, by top-level module.
_FRAMEWORKS = {"flask": "flask", "django": "django", "starlette": "starlette", "fastapi": "fastapi"}
_said: set[str] = set()
_said_lock = threading.Lock()


def traced_by_contrib(name: str, target: Any = None) -> bool:
    """Whether contrib's instrumentor for `name` is on, or has marked `target` (an app or client)
    as its own; says so once per name when it has."""
    module_name, class_name = INSTRUMENTORS[name]
    module = sys.modules.get(module_name)  # never imported here: not loaded means not instrumenting
    instance = getattr(getattr(module, class_name, None), "_instance", None)
    if getattr(instance, _MARK, False) is True or getattr(target, _MARK, False) is True:
        _say_once(name, f"{module_name}.{class_name}")
        return True
    return False


def contrib_server_app(app: Any) -> bool:
    """Whether a WSGI or ASGI app handed to kubetrace's server middleware is traced by contrib
    already: it is contrib's own wrapper (OpenTelemetryMiddleware, the function FlaskInstrumentor puts
    in place of Flask.wsgi_app), or a framework's app (or its bound entry point, as Flask's
    app.wsgi_app) that contrib has marked, or whose framework contrib instruments as a whole (Django:
    DjangoInstrumentor puts its middleware into the settings). Says so once per library."""
    own = _contrib_module(app)
    if own is not None:
        name = own.removeprefix(_CONTRIB_PACKAGE).split(".")[0]
        _say_once(name, ".".join(INSTRUMENTORS[name]) if name in INSTRUMENTORS else own)
        return True
    app = getattr(app, "__self__", app)  # a bound method: the app it belongs to
    framework = _FRAMEWORKS.get(type(app).__module__.split(".")[0])
    if framework is None:
        return False
    if framework == "django":
        return traced_by_contrib(framework)
    if getattr(app, _MARK, False) is True:
        _say_once(framework, ".".join(INSTRUMENTORS[framework]))
        return True
    return False


def outer_server_span(name: str) -> bool:
    """Whether a server span is already recording for this request, started around the framework's
    entry point: by the app's own kubetrace middleware, contrib's, or the framework itself (FastAPI
    traces its apps natively once a tracer provider is set). An unsampled outer span does not count:
    the span kubetrace would start under it is not sampled either."""
    span = trace_api.get_current_span()
    if not span.is_recording() or getattr(span, "kind", None) is not trace_api.SpanKind.SERVER:
        return False
    scope = getattr(getattr(span, "instrumentation_scope", None), "name", "") or ""
    if not scope.startswith(_KUBETRACE_SCOPE):  # the app's own kubetrace middleware is its choice: silent
        _say_once(name, scope or "another instrumentation")
    return True


def _contrib_module(app: Any) -> str | None:
    """The contrib module that defined `app` (a function, or an object's class), if one did."""
    while isinstance(app, functools.partial):
        app = app.func
    defined_in = getattr(app, "__module__", None) or type(app).__module__  # an object: its class's
    return defined_in if defined_in.startswith(_CONTRIB_PACKAGE) else None


def _say_once(name: str, by: str) -> None:
    with _said_lock:
        if name in _said:
            return
        _said.add(name)
    # How to get kubetrace's spans: an instrumentor opentelemetry-instrument loaded can be left out;
    # a wrapper the program put in place by hand (OpenTelemetryMiddleware) only by its code.
    instead = (
        f"run under OTEL_PYTHON_DISTRO=kubetrace or `kubetrace run`, or set "
        f"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS={name}"
        if name in INSTRUMENTORS
        else "remove it from the program"
    )
    _log.warning(
        "kubetrace: %s is already traced by %s; keeping its spans, kubetrace adds none (one tracer per "
        "library). For kubetrace's instead, do not load it: %s",
        name,
        by,
        instead,
    )
