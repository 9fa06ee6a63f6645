"""The W3C Trace Context propagator (`traceparent`, `tracestate`) by the Level 2 rules.

It replaces opentelemetry-api's TraceContextTextMapPropagator for OTEL_PROPAGATORS=tracecontext
(the default). That one reads traceparent with a regex that backtracks on a run of spaces or tabs
before a line break: 16,000 tabs cost a second of CPU per request, and a folded HTTP header, a
Kubernetes annotation or a TRACEPARENT variable can carry them. Here a traceparent is read without a
regex, after a length check, in time linear in at most MAX_TRACEPARENT characters.

What the specification says, and this module does:
- several traceparent fields are invalid: the trace restarts (on every transport alike);
- version "ff" is invalid; version "00" is exactly 55 characters; a higher version is read by the
  version-00 prefix (55 characters or more, the flags at the end or followed by "-"), its unknown
  fields are neither read nor sent on (we send version 00);
- ids are lowercase hex, not all zeros; of the flags, sampled and random-trace-id are kept (other
  bits are reserved and a vendor sets them to zero);
- tracestate is read only for a valid traceparent, and a bad tracestate never costs the traceparent
  (_w3c_tracestate.py).
"""

from __future__ import annotations

import logging

from opentelemetry.context import Context
from opentelemetry.propagators import textmap
from opentelemetry.trace import INVALID_SPAN_CONTEXT, NonRecordingSpan, SpanContext

from .._otel_private import (
    FLAGS,
    SPAN_ID,
    TRACE_FLAGS,
    TRACE_ID,
    TRACE_STATE,
    new,
    span_context_in,
    with_span,
)
from ._w3c_tracestate import parse_tracestate

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
# Version 00 is 55 characters; later versions add fields. Longer than this is not a traceparent.
MAX_TRACEPARENT = 512
# sampled, random-trace-id (kept on the wire even where opentelemetry-api does not name it)
KNOWN_FLAGS = 0x01 | 0x02
_HEX = b"0123456789abcdef"
_OWS = " \t"
_log = logging.getLogger("kubetrace.propagation")


def parse_traceparent(value: object) -> SpanContext | None:
    """The remote span context a traceparent value names (with the default trace state), or None
    when the value is not a valid traceparent."""
    if not isinstance(value, str) or len(value) > MAX_TRACEPARENT:
        return None
    value = value.strip(_OWS)
    head = value[:55]
    if (
        len(head) != 55
        or head[2] != "-"
        or head[35] != "-"
        or head[52] != "-"
        or not head.isascii()
        or head.encode().translate(None, _HEX) != b"---"  # the rest is lowercase hex
    ):
        return None
    version = head[:2]
    if version == "ff" or (len(value) > 55 and (version == "00" or value[55] != "-")):
        return None
    trace_id, span_id = int(head[3:35], 16), int(head[36:52], 16)
    if not trace_id or not span_id:
        return None
    return new(trace_id, span_id, True, FLAGS[int(head[53:55], 16) & KNOWN_FLAGS], None)


def format_traceparent(span_context: SpanContext) -> str:
    """The version-00 traceparent of a valid span context."""
    sc = span_context
    return "00-%032x-%016x-%02x" % (sc[TRACE_ID], sc[SPAN_ID], sc[TRACE_FLAGS])  # noqa: UP031


class TraceContextPropagator(textmap.TextMapPropagator):
    """W3C Trace Context Level 2 for any carrier; malformed input is ignored, never raised."""

    def extract(self, carrier, context: Context | None = None, getter=textmap.default_getter) -> Context:
        context = Context() if context is None else context
        values = getter.get(carrier, TRACEPARENT)
        if not values:
            return context
        if len(values) != 1:
            _log.debug("kubetrace: %d traceparent fields: the trace restarts", len(values))
            return context
        span_context = parse_traceparent(values[0])
        if span_context is None:
            return context
        states = getter.get(carrier, TRACESTATE)
        if states:
            sc = span_context
            span_context = new(sc[TRACE_ID], sc[SPAN_ID], True, sc[TRACE_FLAGS], parse_tracestate(states))
        return with_span(NonRecordingSpan(span_context), context)

    def inject(self, carrier, context: Context | None = None, setter=textmap.default_setter) -> None:
        span_context = span_context_in(context)
        if span_context == INVALID_SPAN_CONTEXT:  # what opentelemetry-api's propagator tests
            return
        setter.set(carrier, TRACEPARENT, format_traceparent(span_context))
        state = span_context[TRACE_STATE]
        if state:
            setter.set(carrier, TRACESTATE, state.to_header())

    @property
    def fields(self) -> set[str]:
        return {TRACEPARENT, TRACESTATE}
