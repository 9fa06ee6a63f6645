"""What opentelemetry-instrumentation's instrumentors (contrib) already trace, so nothing is traced twice.

Contrib marks what it instrumented: each instrumentor is a singleton whose instance says
`_is_instrumented_by_opentelemetry` once instrument() ran, and its per-object forms (instrument_app,
instrument_client) set the same attribute on the app or client. An HTTP server instrumentation that
wraps the framework's app from outside has its server span current when kubetrace's innermost
wrapper runs. Where contrib got there first, kubetrace keeps contrib's spans and says so in one line
per library.
"""

from __future__ import annotations

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
_KUBETRACE_SCOPE = "kubetrace."
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


def _say_once(name: str, by: str) -> None:
    with _said_lock:
        if name in _said:
            return
        _said.add(name)
    _log.warning(
        "kubetrace: %s is already traced by %s; keeping its spans, kubetrace adds none (one tracer per library)",
        name,
        by,
    )
