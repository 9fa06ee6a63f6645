"""SpanContext fields by position, and NonRecordingSpan without its __init__, for the per-request hot path.

opentelemetry-api's SpanContext is a tuple (trace_id, span_id, is_remote, trace_flags, trace_state,
is_valid) whose fields are read through properties: a Python call each, and an unsampled RPC read
a dozen of them. Indexing reads the same values for nothing. The layout is checked once, here, at
import: if a future opentelemetry-api changes it, kubetrace refuses to import with this message
rather than read the wrong field.
"""

from __future__ import annotations

from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState
from opentelemetry.trace.span import DEFAULT_TRACE_STATE

TRACE_ID, SPAN_ID, IS_REMOTE, TRACE_FLAGS, TRACE_STATE, IS_VALID = range(6)
_MAX_TRACE_ID, _MAX_SPAN_ID = (1 << 128) - 1, (1 << 64) - 1
FLAGS = {bits: TraceFlags(bits) for bits in range(256)}  # TraceFlags(int) per span costs a call
# W3C trace context level 2's "random trace id" flag, which a child keeps; 0 where the API lacks it.
RANDOM_FLAG = getattr(TraceFlags, "RANDOM_TRACE_ID", 0)


def new(
    trace_id: int, span_id: int, remote: bool, flags: TraceFlags, state: TraceState | None
) -> SpanContext:
    """SpanContext(...) without its Python-level __new__ (same fields, same validity rule)."""
    valid = 0 < trace_id <= _MAX_TRACE_ID and 0 < span_id <= _MAX_SPAN_ID
    return tuple.__new__(
        SpanContext,
        (trace_id, span_id, remote, flags, DEFAULT_TRACE_STATE if state is None else state, valid),
    )


# NonRecordingSpan(span_context) without its Python-level __init__, which sets only _context:
# `span = NEW_SPAN(NonRecordingSpan); span._context = span_context` (checked below).
NEW_SPAN = object.__new__


def _check_layout() -> None:
    state = TraceState([("k", "v")])
    probe = SpanContext(3, 4, True, TraceFlags(1), state)
    fields = (
        probe.trace_id,
        probe.span_id,
        probe.is_remote,
        probe.trace_flags,
        probe.trace_state,
        probe.is_valid,
    )
    if tuple(probe) != fields or new(3, 4, True, FLAGS[1], state) != probe:
        raise ImportError(
            "kubetrace: this opentelemetry-api's SpanContext is not the tuple "
            "(trace_id, span_id, is_remote, trace_flags, trace_state, is_valid) kubetrace reads; "
            "install an opentelemetry-api version kubetrace supports (see pyproject.toml)"
        )
    bare = NEW_SPAN(NonRecordingSpan)
    bare._context = probe
    if vars(NonRecordingSpan(probe)) != vars(bare):
        raise ImportError(
            "kubetrace: this opentelemetry-api's NonRecordingSpan holds more than its span context; "
            "install an opentelemetry-api version kubetrace supports (see pyproject.toml)"
        )


_check_layout()
