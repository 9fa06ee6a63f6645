"""Extract and inject with the globally configured propagators, never raising on hostile input."""

from __future__ import annotations

import logging

from opentelemetry.context import Context
from opentelemetry.propagators.textmap import Getter, Setter

from .._otel_private import global_textmap

_log = logging.getLogger("kubetrace.propagation")
_EMPTY = Context()


def extract(carrier: object, getter: Getter, context: Context | None = None) -> Context:
    """The context a carrier holds, or `context` (default: empty) when it holds none or garbage.

    The W3C propagators already ignore malformed values; third-party propagators (B3, Jaeger) have
    raised on some inputs, and a request must never fail because of its tracing headers.
    """
    try:
        return global_textmap().extract(  # get_global_textmap(), a Python call fewer
            carrier, context if context is not None else _EMPTY, getter
        )
    except Exception:
        _log.debug("ignored malformed trace context", exc_info=True)
        return context if context is not None else _EMPTY


def inject(carrier: object, setter: Setter, context: Context | None = None) -> None:
    """Write the current (or given) context into a carrier with the configured propagators; a
    failing propagator costs the call its trace context, never the call itself."""
    try:
        global_textmap().inject(carrier, context, setter)
    except Exception:
        _log.debug("trace context not injected", exc_info=True)
