"""OTEL_PROPAGATORS names -> the propagators setup() installs.

`tracecontext` and `baggage` are kubetrace's own W3C propagators (Trace Context Level 2, Baggage
percent-encoded as Go writes it); `b3`, `b3multi` and `jaeger` are the upstream ones behind strict
identity checks. All of them sit in a composite whose parts fail alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from opentelemetry.propagators.textmap import TextMapPropagator

from ._composite import IsolatingCompositePropagator
from ._w3c_baggage import W3CBaggagePropagator
from ._w3c_tracecontext import TraceContextPropagator


def _b3() -> TextMapPropagator:
    from ._foreign import StrictB3SingleFormat

    return StrictB3SingleFormat()


def _b3multi() -> TextMapPropagator:
    from ._foreign import StrictB3MultiFormat

    return StrictB3MultiFormat()


def _jaeger() -> TextMapPropagator:
    from ._foreign import StrictJaegerPropagator

    return StrictJaegerPropagator()


_FACTORIES: dict[str, Callable[[], TextMapPropagator]] = {
    "tracecontext": TraceContextPropagator,
    "baggage": W3CBaggagePropagator,
    "b3": _b3,
    "b3multi": _b3multi,
    "jaeger": _jaeger,
}


def build_propagator(names: Iterable[str]) -> IsolatingCompositePropagator:
    """OTEL_PROPAGATORS names -> one composite propagator (an empty one for "none"); unknown names
    are skipped (configuration has warned about them)."""
    built = (_FACTORIES[n]() if n in _FACTORIES else _installed(n) for n in names)
    return IsolatingCompositePropagator([p for p in built if p is not None])


def _installed(name: str) -> TextMapPropagator | None:
    """A propagator another distribution registers under opentelemetry_propagator (e.g. xray)."""
    from ..config import propagator_entry_points

    entry = propagator_entry_points().get(name)
    return entry.load()() if entry is not None else None
