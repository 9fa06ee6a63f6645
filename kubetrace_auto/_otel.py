"""The distro and configurator `opentelemetry-instrument` loads through its entry points.

    OTEL_PYTHON_DISTRO=kubetrace opentelemetry-instrument python app.py

opentelemetry-instrument calls, in order: the distro's configure(), one configurator's configure()
(OTEL_PYTHON_CONFIGURATOR names which; unset, the first one installed), then the distro's
load_instrumentor() for each contrib instrumentor installed and not disabled. kubetrace's distro
sets tracing up and instruments in configure(), names kubetrace's configurator for the second step
(unless OTEL_PYTHON_CONFIGURATOR names another), and leaves out the contrib instrumentors of the
libraries it traces. The configurator alone (OTEL_PYTHON_CONFIGURATOR=kubetrace with another
distro) sets tracing up from kubetrace's settings and instruments nothing.
"""

from __future__ import annotations

import os
from typing import Any

from opentelemetry.instrumentation.distro import BaseDistro

from tracing.config import read_environment

from ._bootstrap import configure, contrib_names
from ._instrument import instrument
from ._plan import LIBRARY, Plan, plan_from_environment

NAME = "kubetrace"  # both entry points' name
_CONFIGURATOR_VARIABLE = "OTEL_PYTHON_CONFIGURATOR"


class KubetraceDistro(BaseDistro):
    """OTEL_PYTHON_DISTRO=kubetrace: kubetrace's settings and adapters under opentelemetry-instrument."""

    _plan: Plan = Plan()

    def _configure(self, **kwargs: Any) -> None:
        if not read_environment().get(_CONFIGURATOR_VARIABLE):
            # Else another installed configurator may come first and build a second tracer provider.
            os.environ[_CONFIGURATOR_VARIABLE] = NAME
        configure()
        self._plan = instrument(plan_from_environment(), contrib_names())

    def load_instrumentor(self, entry_point: Any, **kwargs: Any) -> None:
        if entry_point.name in LIBRARY and self._plan.enabled(entry_point.name):
            return  # kubetrace traces this library; instrument() said so
        super().load_instrumentor(entry_point, **kwargs)


class KubetraceConfigurator:
    """OTEL_PYTHON_CONFIGURATOR=kubetrace: tracing.setup() from KUBETRACE_CONFIG and OTEL_* variables."""

    def configure(self, **kwargs: Any) -> None:
        configure()
