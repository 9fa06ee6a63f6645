"""Zero-code tracing: kubetrace's adapters put into a program's libraries, with no change to its code.

    kubetrace run -- python app.py [ARGS...]
    OTEL_PYTHON_DISTRO=kubetrace opentelemetry-instrument python app.py [ARGS...]

Both set tracing up as tracing.setup() does (KUBETRACE_CONFIG, OTEL_* variables) and trace, as
each library is imported: grpc servers and channels (sync and grpc.aio, through interceptors.grpc),
Flask, Django, Starlette and FastAPI apps under any WSGI or ASGI server (interceptors.http's
middleware at the framework's entry), and requests, urllib3 and httpx clients.
OTEL_PYTHON_DISABLED_INSTRUMENTATIONS (names as contrib's: grpc_server, grpc_aio_server,
grpc_client, grpc_aio_client, flask, django, starlette, fastapi, requests, urllib3, httpx; or *)
turns libraries off. A library that opentelemetry-instrumentation's own instrumentors already trace
is traced once: see interceptors._contrib. The library packages never import this one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# `kubetrace run` puts this directory first on the program's PYTHONPATH: its sitecustomize starts tracing.
SITE_DIR = Path(__file__).resolve().parent / "_site"


def __getattr__(name: str) -> Any:
    # The entry points' classes need opentelemetry-instrumentation, which only opentelemetry-instrument
    # brings: imported when it asks for them.
    if name in ("KubetraceDistro", "KubetraceConfigurator"):
        from . import _otel

        return getattr(_otel, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["SITE_DIR", "KubetraceConfigurator", "KubetraceDistro"]
