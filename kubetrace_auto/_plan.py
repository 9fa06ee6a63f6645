"""Which libraries zero-code tracing instruments here: all it knows, less the disabled ones."""

from __future__ import annotations

from dataclasses import dataclass

import tracing
from interceptors._contrib import INSTRUMENTORS

_ALL = "*"
# The library each instrumentation name traces: the top-level module a program imports.
LIBRARY = {name: name.split("_")[0] for name in INSTRUMENTORS}


@dataclass(frozen=True)
class Plan:
    """Instrumentation names are contrib's entry-point names, so one OTEL_PYTHON_DISABLED_INSTRUMENTATIONS
    list turns off a library for kubetrace and for opentelemetry-instrument alike ("*": all of them)."""

    disabled: frozenset[str] = frozenset()

    def enabled(self, name: str) -> bool:
        return _ALL not in self.disabled and name not in self.disabled

    @property
    def names(self) -> tuple[str, ...]:
        """The instrumentation names kubetrace will trace, in a stable order."""
        return tuple(name for name in INSTRUMENTORS if self.enabled(name))


def plan_from_environment() -> Plan:
    return Plan(frozenset(tracing.current_settings()["disabled_instrumentations"]))
