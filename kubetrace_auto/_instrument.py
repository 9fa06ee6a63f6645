"""Instrument a process: each library's patch waits for the library's import; one line says what
kubetrace traces in place of the contrib instrumentors opentelemetry-instrument would load."""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Callable, Iterable
from types import ModuleType

from . import _clients, _grpc, _servers
from ._imports import when_imported
from ._plan import LIBRARY, Plan

_log = logging.getLogger("kubetrace")
_lock = threading.Lock()
_instrumented: Plan | None = None

# module to wait for -> its patch
_PATCHES: dict[str, Callable[[ModuleType, Plan], None]] = {
    "grpc": _grpc.patch,
    "flask": _servers.patch_flask,
    "django.core.handlers.wsgi": _servers.patch_django,
    "starlette.applications": _servers.patch_starlette,
    "fastapi": _servers.patch_fastapi,
    "requests": _clients.patch_requests,
    "urllib3": _clients.patch_urllib3,
    "httpx": _clients.patch_httpx,
}


def instrument(plan: Plan, contrib_to_load: Iterable[str] = ()) -> Plan:
    """Patch the libraries `plan` enables, now or when they are imported; once per process.

    `contrib_to_load` names the contrib instrumentors the caller would load: those for a library
    kubetrace traces are left out, and one log line says which."""
    global _instrumented
    with _lock:
        if _instrumented is not None:
            return _instrumented
        _instrumented = plan
    for module, patch in _PATCHES.items():
        when_imported(module, lambda loaded, patch=patch: patch(loaded, plan))
    replaced = replaced_contrib(plan, contrib_to_load)
    if replaced:
        _log.warning(
            "kubetrace: traces %s itself; the opentelemetry-instrumentation instrumentors for them are "
            "not loaded (one tracer per library)",
            ", ".join(replaced),
        )
    return plan


def replaced_contrib(plan: Plan, contrib_names: Iterable[str]) -> list[str]:
    """The contrib instrumentors among `contrib_names` that kubetrace stands in for: enabled, and for a
    library this Python has (an instrumentor for a missing library would not load anyway)."""
    return sorted(
        name
        for name in set(contrib_names)
        if name in LIBRARY and plan.enabled(name) and importlib.util.find_spec(LIBRARY[name]) is not None
    )
