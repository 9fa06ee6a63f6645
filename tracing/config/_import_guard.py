"""Import opentelemetry.propagate whatever OTEL_PROPAGATORS says.

opentelemetry.propagate builds its global propagator from OTEL_PROPAGATORS when it is first
imported, and raises for a name it cannot load (a typo, or `xray` without its package): every
`import tracing` and every `kubetrace` command would die with a traceback before kubetrace could
say what is wrong. kubetrace imports it first, here, and when that fails imports it again with the
variable holding only the names that load, for the moment of that import, and says so: that is the
global propagator until setup() installs kubetrace's own. setup() and `kubetrace config` then warn
about the unknown names as about any bad variable.
"""

from __future__ import annotations

import importlib
import logging
import sys

from .._errors import shorten
from ._env import patched_environment, propagator_entry_points, read_environment

_VARIABLE = "OTEL_PROPAGATORS"
_log = logging.getLogger("kubetrace")


def import_otel_propagate() -> None:
    """Make sure opentelemetry.propagate is imported, without raising."""
    if "opentelemetry.propagate" in sys.modules:
        return
    try:
        importlib.import_module("opentelemetry.propagate")
        return
    except Exception:  # a ValueError for an unknown name; whatever a broken entry point raises
        pass
    installed = propagator_entry_points()
    names = [n.strip().lower() for n in read_environment().get(_VARIABLE, "").split(",") if n.strip()]
    usable = [n for n in names if n == "none" or n in installed]  # opentelemetry matches case
    unknown = [n for n in names if n not in usable]
    if unknown:
        _log.warning(
            "kubetrace: %s: unknown propagator %s; until setup(), opentelemetry's global propagator is %s",
            _VARIABLE,
            ", ".join(f'"{shorten(n)}"' for n in unknown),
            ",".join(usable) or "tracecontext,baggage",
        )
    try:
        with patched_environment({_VARIABLE: ",".join(usable) or None}):
            importlib.import_module("opentelemetry.propagate")
    except Exception:  # a name that is installed but fails to load: the default propagators
        with patched_environment({_VARIABLE: None}):
            importlib.import_module("opentelemetry.propagate")
