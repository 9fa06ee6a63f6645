"""kubetrace's tracing core: configuration, setup(), span starting and context propagation.

tracing.instrumentation is the protocol-neutral contract every adapter (interceptors.grpc, .http,
.k8s) is built on: decide a call, start it, report it, end it once.

import tracing
tracing.setup()          # reads KUBETRACE_CONFIG and OTEL_* variables; see the README
...
tracing.shutdown()       # bounded by KUBETRACE_SHUTDOWN_TIMEOUT_MS, also run at exit
"""

# config first: importing it imports opentelemetry.propagate safely (see config._import_guard).
from . import config  # noqa: F401
from ._current import current_settings
from ._errors import ConfigError, Problem
from ._hooks import safe_invoke
from ._logging import JsonFormatter, correlate_logs
from ._provider import Tracing, active, build_propagator, setup, shutdown
from ._spans import Operation, operation, traced
from .config import Settings, Sourced, resolve

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "JsonFormatter",
    "Operation",
    "Problem",
    "Settings",
    "Sourced",
    "Tracing",
    "__version__",
    "active",
    "build_propagator",
    "correlate_logs",
    "current_settings",
    "operation",
    "resolve",
    "safe_invoke",
    "setup",
    "shutdown",
    "traced",
]
