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
from collections.abc import Iterable, MutableSequence

from opentelemetry.context import Context
from opentelemetry.trace import (
    INVALID_SPAN_CONTEXT,
    NonRecordingSpan,
    SpanContext,
)
from opentelemetry.trace.span import DEFAULT_TRACE_STATE

from .._forced import FORCE_TRACE_HEADER
from .._otel_private import (
    BAGGAGE_KEY,
    FLAGS,
    SPAN_ID,
    SPAN_KEY,
    TRACE_FLAGS,
    TRACE_ID,
    TRACE_STATE,
    composite_parts,
    global_textmap,
    with_span,
)
from ._carriers import METADATA_GETTER, METADATA_SETTER
from ._composite import IsolatingCompositePropagator
from ._textmap import extract, inject
from ._w3c_baggage import W3CBaggagePropagator
from ._w3c_tracecontext import KNOWN_FLAGS, TraceContextPropagator, parse_traceparent

_log = logging.getLogger("kubetrace.propagation")


_EMPTY = Context()
_ZERO_TRACE, _ZERO_SPAN = "0" * 32, "0" * 16
_HEX = b"0123456789abcdef"
_SEVERAL = object()  # more than one traceparent: invalid, the trace restarts
# A canonical traceparent's flags field (two lowercase hex digits) -> the flags kept: a dict lookup
# where int(flags, 16), the mask and the FLAGS lookup are three steps.
_FLAGS_BY_HEX = {"%02x" % bits: FLAGS[bits & KNOWN_FLAGS] for bits in range(256)}  # noqa: UP031


class _Configured:
    """Whether the global propagator is exactly tracecontext then (our) baggage; asked once per object:
    `W3C_ONLY.w3c if textmap is W3C_ONLY.textmap else W3C_ONLY.check(textmap)`, inlined where it is
    asked per call (here, and in SpanStarter's decision for a client call)."""

    __slots__ = ("baggage", "textmap", "trace_context", "w3c")

    def __init__(self):
        self.textmap = self.trace_context = self.baggage = None
        self.w3c = False

    def check(self, textmap) -> bool:
        self.textmap = textmap
        parts = composite_parts(textmap) if type(textmap) is IsolatingCompositePropagator else None
        kinds = [type(p) for p in parts] if parts is not None else None
        self.w3c = kinds == [TraceContextPropagator, W3CBaggagePropagator]
        if self.w3c:
            self.trace_context, self.baggage = parts
        return self.w3c


W3C_ONLY = _Configured()


def inject_metadata(
    carrier: MutableSequence[tuple[str, str]], span_context: SpanContext, context: Context
) -> None:
    """Write `span_context` and `context`'s baggage into gRPC metadata pairs, as inject() would
    with a span of that span context current in `context` (propagators read nothing else of a span)."""
    textmap = global_textmap()
    if not (W3C_ONLY.w3c if textmap is W3C_ONLY.textmap else W3C_ONLY.check(textmap)):
        inject(carrier, METADATA_SETTER, with_span(NonRecordingSpan(span_context), context))
        return
    try:
        sc = span_context
        if sc != INVALID_SPAN_CONTEXT:  # what the W3C propagator tests (not is_valid)
            # %-formatting: the same text as the propagator's f-string, at half its cost.
            traceparent = "00-%032x-%016x-%02x" % (sc[TRACE_ID], sc[SPAN_ID], sc[TRACE_FLAGS])  # noqa: UP031
            if carrier:
                _set(carrier, "traceparent", traceparent)
            else:
                carrier.append(("traceparent", traceparent))
            state = sc[TRACE_STATE]
            if state is not DEFAULT_TRACE_STATE and state:
                _set(carrier, "tracestate", state.to_header())
        bag = context.get(BAGGAGE_KEY)
        if isinstance(bag, dict) and bag:
            W3C_ONLY.baggage.inject(carrier, context, METADATA_SETTER)
    except Exception:
        _log.debug("trace context not injected", exc_info=True)


def _set(carrier: MutableSequence[tuple[str, str]], key: str, value: str) -> None:
    if carrier:
        METADATA_SETTER.set(carrier, key, value)  # replaces the caller's own entry of that name
    else:
        carrier.append((key, value))


def extract_metadata(metadata: Iterable[tuple[str, object]]) -> Context:
    """The context gRPC metadata carries (empty when none, or garbage), as extract() would return."""
    parent = remote_parent(metadata)
    if parent is None:  # not the W3C pair, or more than a traceparent: the propagators themselves
        return extract(metadata, METADATA_GETTER)
    return _EMPTY if parent is INVALID_SPAN_CONTEXT else Context({SPAN_KEY: NonRecordingSpan(parent)})


def remote_parent(metadata: Iterable[tuple[str, object]]) -> SpanContext | None:
    """The span context of the parent extract_metadata() would return, for the common case: the
    configured propagators are tracecontext,baggage and the metadata holds nothing but a
    traceparent. INVALID_SPAN_CONTEXT when it carries no (or a malformed) traceparent; None when
    the propagators must be asked (other propagators, or tracestate or baggage to read), or the
    metadata asks for a forced trace (tracing/_forced.py).

    One function on purpose: inside a real RPC each Python call costs about a microsecond."""
    textmap = global_textmap()
    if not (W3C_ONLY.w3c if textmap is W3C_ONLY.textmap else W3C_ONLY.check(textmap)):
        return None
    traceparent = None
    for key, value in metadata:
        if key == "traceparent":
            if isinstance(value, str):  # what the propagator's getter gives it
                traceparent = value if traceparent is None else _SEVERAL
        elif key == "tracestate" or key == "baggage" or key == FORCE_TRACE_HEADER:
            return None
    if traceparent is None or traceparent is _SEVERAL:
        return INVALID_SPAN_CONTEXT
    tp = traceparent
    if (
        len(tp) == 55
        and tp[2] == "-"
        and tp[35] == "-"
        and tp[52] == "-"
        and tp.isascii()
        and tp.encode().translate(None, _HEX) == b"---"
    ):
        # The canonical form (what every tracer sends): lowercase hex fields at fixed places,
        # read by splitting, without the call to parse_traceparent(), which answers the same.
        version, trace_id, span_id, flags = tp.split("-")
        if trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN or version == "ff":
            return INVALID_SPAN_CONTEXT
        # new() without its call: both ids are non-zero hex of the right length, so valid.
        fields = (
            int(trace_id, 16),
            int(span_id, 16),
            True,
            _FLAGS_BY_HEX[flags],
            DEFAULT_TRACE_STATE,
            True,
        )
        return tuple.__new__(SpanContext, fields)
    return parse_traceparent(tp) or INVALID_SPAN_CONTEXT
