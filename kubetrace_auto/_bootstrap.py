"""Start-up: tracing set up as tracing.setup() would, then the libraries instrumented.

Failures are logged, never raised: a program started with zero-code tracing runs even when tracing
cannot be set up, as it would without it.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import logging
import os
import sys
from importlib.metadata import entry_points

import tracing

from ._instrument import instrument
from ._plan import LIBRARY, Plan, plan_from_environment

_log = logging.getLogger("kubetrace")
CONTRIB_GROUP = "opentelemetry_instrumentor"  # the entry points opentelemetry-instrument loads


def configure() -> None:
    """tracing.setup() from KUBETRACE_CONFIG and OTEL_* variables, unless this process set up already."""
    if tracing.active() is not None:
        return
    try:
        tracing.setup()
    except Exception:  # ConfigError included: `kubetrace run` checked the settings before starting us
        _log.exception("kubetrace: tracing could not be set up; the program runs untraced")


def contrib_names() -> list[str]:
    return [entry_point.name for entry_point in entry_points(group=CONTRIB_GROUP)]


def run_site(site_dir: str) -> None:
    """What `kubetrace run` does in each Python process it starts, from its sitecustomize: set up,
    instrument, load the contrib instrumentors for libraries kubetrace does not trace (as
    opentelemetry-instrument would), then run the sitecustomize this one shadows, if any."""
    configure()
    plan = plan_from_environment()
    contrib = contrib_names()
    instrument(plan, contrib)
    _load_other_contrib(plan)
    _run_shadowed_sitecustomize(site_dir)


def _load_other_contrib(plan: Plan) -> None:
    try:
        from opentelemetry.instrumentation.dependencies import get_dist_dependency_conflicts
    except ImportError:  # no opentelemetry-instrumentation: no contrib to load
        return
    for entry_point in entry_points(group=CONTRIB_GROUP):
        if entry_point.name in LIBRARY or not plan.enabled(entry_point.name):
            continue
        try:
            if entry_point.dist is not None and get_dist_dependency_conflicts(entry_point.dist):
                continue  # its library is not installed, or not a version it instruments
            entry_point.load()().instrument(skip_dep_check=True)
        except ImportError:
            _log.debug("kubetrace: contrib instrumentor %s not loaded", entry_point.name, exc_info=True)
        except Exception:
            _log.exception(
                "kubetrace: contrib instrumentor %s failed; its library is not traced", entry_point.name
            )


def _run_shadowed_sitecustomize(site_dir: str) -> None:
    """Python imports one `sitecustomize`: ours comes first on the path, so run the next one found."""
    own = os.path.realpath(site_dir)
    path = [entry for entry in sys.path if os.path.realpath(entry or os.curdir) != own]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception:
        _log.exception("kubetrace: the program's own sitecustomize (%s) failed", spec.origin)
