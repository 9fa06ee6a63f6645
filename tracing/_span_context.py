"""SpanContext fields by position, NonRecordingSpan without its __init__, and TraceState without its
key check: what kubetrace reads and builds of opentelemetry-api's span types beyond their public API.

opentelemetry-api's SpanContext is a tuple (trace_id, span_id, is_remote, trace_flags, trace_state,
is_valid) whose fields are read through properties: a Python call each, and an unsampled RPC read
a dozen of them. Indexing reads the same values for nothing. Its TraceState checks keys by the W3C
Trace Context Level 1 grammar and drops what Level 2 allows (`1vendor`, `tenant@vendor@x`):
trace_state() builds one from members our Level 2 parser has already checked. Both are checked once,
here, at import: if a future opentelemetry-api changes them, kubetrace refuses to import with this
message rather than read the wrong field or lose trace state.
"""

from __future__ import annotations

from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState
from opentelemetry.trace.span import DEFAULT_TRACE_STATE

TRACE_ID, SPAN_ID, IS_REMOTE, TRACE_FLAGS, TRACE_STATE, IS_VALID = range(6)
_MAX_TRACE_ID, _MAX_SPAN_ID = (1 << 128) - 1, (1 << 64) - 1
FLAGS = {bits: TraceFlags(bits) for bits in range(256)}  # TraceFlags(int) per span costs a call
# W3C trace context level 2's "random trace id" flag, which a child keeps; 0 where the API lacks it.
RANDOM_FLAG = getattr(TraceFlags, "RANDOM_TRACE_ID", 0)


def trace_state(members: dict[str, str]) -> TraceState:
    """A TraceState of `members`, in order, as given: the caller has checked them by the Level 2
    grammar (tracing/propagation/_w3c_tracestate.py). TraceState([...]) would check them again by the
    Level 1 grammar and drop, with a warning per request, keys current tracers send."""
    state = _NEW_STATE(TraceState)
    state._dict = members
    return state


_NEW_STATE = object.__new__


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


def _check_trace_state() -> None:
    members = {"1tenant@vendor@x": "v", "k": "w"}  # a Level 2 key the constructor refuses
    built = trace_state(dict(members))
    if (
        vars(TraceState([("k", "w")])) != {"_dict": {"k": "w"}}
        or dict(built) != members
        or len(built) != 2
        or built.to_header() != "1tenant@vendor@x=v,k=w"
    ):
        raise ImportError(
            "kubetrace: this opentelemetry-api's TraceState does not hold its members in `_dict` as "
            "kubetrace builds it; install an opentelemetry-api version kubetrace supports (see pyproject.toml)"
        )


_check_layout()
_check_trace_state()
