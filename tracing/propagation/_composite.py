"""Several propagators as one, each one's failure costing only its own part of the context.

opentelemetry-api's CompositePropagator runs its propagators in a row and lets an exception out of
the first that raises: one bad baggage value (a lone surrogate, say) then loses the traceparent read
before it, and every part after it. Here each propagator extracts and injects on its own: one that
raises leaves the context (or carrier) as the others made it, and is logged at debug level.
"""

from __future__ import annotations

import logging

from opentelemetry.context import Context
from opentelemetry.propagators import textmap
from opentelemetry.propagators.composite import CompositePropagator

_log = logging.getLogger("kubetrace.propagation")


class IsolatingCompositePropagator(CompositePropagator):
    """A CompositePropagator whose parts fail alone."""

    def extract(self, carrier, context: Context | None = None, getter=textmap.default_getter) -> Context:
        for propagator in self._propagators:
            try:
                context = propagator.extract(carrier, context, getter=getter)
            except Exception:
                _log.debug("kubetrace: %s ignored malformed input", type(propagator).__name__, exc_info=True)
        return Context() if context is None else context

    def inject(self, carrier, context: Context | None = None, setter=textmap.default_setter) -> None:
        for propagator in self._propagators:
            try:
                propagator.inject(carrier, context, setter=setter)
            except Exception:
                _log.debug("kubetrace: %s did not inject", type(propagator).__name__, exc_info=True)
