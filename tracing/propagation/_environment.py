"""Environment variables as a trace-context carrier for child processes.

Follows the OpenTelemetry specification's environment-variable carriers: the configured propagators
choose the keys and parse the values; the carrier only maps a propagator key to a portable variable
name (`traceparent` -> TRACEPARENT, B3's `x-b3-traceid` -> X_B3_TRACEID, Jaeger's `uber-trace-id`
-> UBER_TRACE_ID) and treats values as opaque strings.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, MutableMapping

from opentelemetry import propagate
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import Getter, Setter

from ._textmap import extract, inject

_NOT_PORTABLE = re.compile(r"[^A-Za-z0-9_]")
# Removed from a child's inherited environment before injecting, so that a grandchild never continues
# a stale trace: the variables of every propagator kubetrace can be configured with (this process may
# use another one than its parent did), plus whatever the configured propagators say they write.
_STALE = frozenset(
    {"TRACEPARENT", "TRACESTATE", "BAGGAGE", "B3", "UBER_TRACE_ID"}
    | {f"X_B3_{part}" for part in ("TRACEID", "SPANID", "PARENTSPANID", "SAMPLED", "FLAGS")}
)
_STALE_PREFIX = "UBERCTX_"  # Jaeger baggage, one variable per entry


def variable_name(key: str) -> str:
    """The environment variable that carries propagator key `key`."""
    name = _NOT_PORTABLE.sub("_", key).upper()
    return "_" + name if name[:1].isdigit() else name


class EnvironmentGetter(Getter[Mapping[str, str]]):
    """Reads a propagator key from its upper-case variable."""

    def get(self, carrier: Mapping[str, str], key: str) -> list[str] | None:
        value = carrier.get(variable_name(key))
        return [value] if isinstance(value, str) else None

    def keys(self, carrier: Mapping[str, str]) -> list[str]:
        # Propagators that enumerate keys look for lower-case, dash-separated prefixes (Jaeger's
        # `uberctx-`); this spelling maps back to the same variable through variable_name().
        return [name.lower().replace("_", "-") for name in carrier if isinstance(name, str)]


class EnvironmentSetter(Setter[MutableMapping[str, str]]):
    def set(self, carrier: MutableMapping[str, str], key: str, value: str) -> None:
        carrier[variable_name(key)] = value


ENVIRONMENT_GETTER = EnvironmentGetter()
ENVIRONMENT_SETTER = EnvironmentSetter()


def environment_for_child(
    base: Mapping[str, str] | None = None, context: Context | None = None
) -> dict[str, str]:
    """A child process's environment carrying the current (or given) trace context.

    `base` defaults to this process's whole environment. Trace-context variables inherited from it
    are replaced, never mixed with ours. Pass the result as `env=` to subprocess.run/Popen.
    """
    # The one read of os.environ outside tracing.config: a child needs the whole environment (PATH,
    # HOME, ...), not the OTEL_/KUBETRACE_ subset the settings keep.
    env = dict(os.environ if base is None else base)
    stale = _STALE | _configured_names()
    for name in [n for n in env if n in stale or (isinstance(n, str) and n.startswith(_STALE_PREFIX))]:
        del env[name]
    inject(env, ENVIRONMENT_SETTER, context)
    return env


def context_from_environment(env: Mapping[str, str], context: Context | None = None) -> Context:
    """The trace context a process environment carries (TRACEPARENT, ...); empty if none or malformed."""
    return extract(env, ENVIRONMENT_GETTER, context)


def _configured_names() -> set[str]:
    try:
        return {variable_name(key) for key in propagate.get_global_textmap().fields}
    except Exception:  # a third-party propagator's `fields` must not break a spawn
        return set()
