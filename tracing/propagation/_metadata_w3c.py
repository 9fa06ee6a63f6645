"""Trace context in gRPC metadata for the default propagators (tracecontext,baggage) in one pass.

The generic route (composite propagator -> each propagator -> getter/setter per field, a Context
built for injection) costs dozens of calls per RPC, on the path every unsampled call takes. When
the configured propagators are exactly W3C trace context and W3C baggage, as kubetrace and
Kubernetes configure them by default, these functions read and write the same fields directly;
with any other configuration they take the generic route. Both give the same result
(tests/unit/test_propagation_metadata.py compares them on valid and hostile input).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, MutableSequence

from opentelemetry import propagate
from opentelemetry.baggage import _BAGGAGE_KEY
from opentelemetry.context import Context
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.trace import INVALID_SPAN_CONTEXT, NonRecordingSpan, Span
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.trace.span import DEFAULT_TRACE_STATE

from .._runtime_context import SPAN_KEY, with_span
from .._span_context import FLAGS, SPAN_ID, TRACE_FLAGS, TRACE_ID, TRACE_STATE, new
from ._carriers import METADATA_GETTER, METADATA_SETTER
from ._w3c_baggage import W3CBaggagePropagator
from ._wire import extract, inject

_log = logging.getLogger("kubetrace.propagation")
_EMPTY = Context()
_TRACEPARENT_RE: re.Pattern = TraceContextTextMapPropagator._TRACEPARENT_HEADER_FORMAT_RE
_ZERO_TRACE, _ZERO_SPAN = "0" * 32, "0" * 16


class _Configured:
    """Whether the global propagator is exactly tracecontext then (our) baggage; asked once per object."""

    __slots__ = ("baggage", "textmap", "trace_context", "w3c")

    def __init__(self):
        self.textmap = self.trace_context = self.baggage = None
        self.w3c = False

    def check(self, textmap) -> bool:
        self.textmap = textmap
        parts = getattr(textmap, "_propagators", None) if type(textmap) is CompositePropagator else None
        kinds = [type(p) for p in parts] if parts is not None else None
        self.w3c = kinds == [TraceContextTextMapPropagator, W3CBaggagePropagator]
        if self.w3c:
            self.trace_context, self.baggage = parts
        return self.w3c


_configured = _Configured()


def inject_metadata(carrier: MutableSequence[tuple[str, str]], span: Span, context: Context) -> None:
    """Write `span`'s context and `context`'s baggage into gRPC metadata pairs, as inject() would
    with `span` current in `context`."""
    textmap = propagate.get_global_textmap()
    if not (_configured.w3c if textmap is _configured.textmap else _configured.check(textmap)):
        inject(carrier, METADATA_SETTER, with_span(span, context))
        return
    try:
        sc = span.get_span_context()
        if sc != INVALID_SPAN_CONTEXT:
            _set(carrier, "traceparent", f"00-{sc[TRACE_ID]:032x}-{sc[SPAN_ID]:016x}-{sc[TRACE_FLAGS]:02x}")
            state = sc[TRACE_STATE]
            if state is not DEFAULT_TRACE_STATE and state:
                _set(carrier, "tracestate", state.to_header())
        bag = context.get(_BAGGAGE_KEY)
        if isinstance(bag, dict) and bag:
            _configured.baggage.inject(carrier, context, METADATA_SETTER)
    except Exception:
        _log.debug("trace context not injected", exc_info=True)


def _set(carrier: MutableSequence[tuple[str, str]], key: str, value: str) -> None:
    if carrier:
        METADATA_SETTER.set(carrier, key, value)  # replaces the caller's own entry of that name
    else:
        carrier.append((key, value))


def extract_metadata(metadata: Iterable[tuple[str, object]]) -> Context:
    """The context gRPC metadata carries (empty when none, or garbage), as extract() would return."""
    textmap = propagate.get_global_textmap()
    if not (_configured.w3c if textmap is _configured.textmap else _configured.check(textmap)):
        return extract(metadata, METADATA_GETTER)
    traceparent = baggage = None
    tracestate = False
    for key, value in metadata:
        if key == "traceparent":
            if traceparent is None and isinstance(value, str):
                traceparent = value
        elif key == "tracestate":
            tracestate = True
        elif key == "baggage":
            baggage = True
    if traceparent is None and baggage is None:
        return _EMPTY
    if tracestate or baggage:  # rarer: the propagators themselves, through the generic getter
        return extract(metadata, METADATA_GETTER)
    try:
        return _parent_from(traceparent)
    except Exception:
        _log.debug("ignored malformed trace context", exc_info=True)
        return _EMPTY


def _parent_from(traceparent: str) -> Context:
    """TraceContextTextMapPropagator.extract for a lone traceparent (no tracestate, no baggage)."""
    match = _TRACEPARENT_RE.search(traceparent)
    if not match:
        return _EMPTY
    version, trace_id, span_id, flags, rest = match.groups()
    if trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN or version == "ff" or (version == "00" and rest):
        return _EMPTY
    span_context = new(int(trace_id, 16), int(span_id, 16), True, FLAGS[int(flags, 16)], None)
    return Context({SPAN_KEY: NonRecordingSpan(span_context)})
