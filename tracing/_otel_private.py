"""OpenTelemetry's private state that the per-request hot path reads, in one module.

The current Context in one step: opentelemetry.context keeps it in one ContextVar behind three layers
of calls (get_current -> runtime context -> ContextVar.get), and get_current_span adds three more.
Inside a real RPC every such call costs microseconds, so the hot path reads and sets that ContextVar
directly. When another runtime context is configured (OTEL_PYTHON_CONTEXT), these functions fall
back to the public API and behave the same.

SpanContext fields by position, NonRecordingSpan without its __init__, and TraceState without its
key check: opentelemetry-api's
SpanContext is a tuple (trace_id, span_id, is_remote, trace_flags, trace_state, is_valid) whose
fields are read through properties: a Python call each, and an unsampled RPC read a dozen of them.
Indexing reads the same values for nothing. Its TraceState checks keys by the W3C Trace Context
Level 1 grammar and drops what Level 2 allows (`1vendor`, `tenant@vendor@x`): trace_state() builds
one from members our Level 2 parser has already checked. Both are checked once, here, at import: if a
future opentelemetry-api changes them, kubetrace refuses to import with this message rather than read
the wrong field or lose trace state.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import Token

from opentelemetry import context as context_api
from opentelemetry.context import Context
from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext
from opentelemetry.sdk.trace import _Span as SdkSpan
from opentelemetry.trace import (
    INVALID_SPAN_CONTEXT,
    NonRecordingSpan,
    Span,
    SpanContext,
    TraceFlags,
    TraceState,
)
from opentelemetry.trace.propagation import _SPAN_KEY
from opentelemetry.trace.span import DEFAULT_TRACE_STATE

SPAN_KEY = _SPAN_KEY
_PLAIN_SPANS = frozenset((NonRecordingSpan, SdkSpan))

_runtime = context_api._RUNTIME_CONTEXT
if type(_runtime) is ContextVarsRuntimeContext:
    _var = _runtime._current_context
    current: Callable[[], Context] = _var.get
    attach: Callable[[Context], Token] = _var.set
    # Restores the context `token` replaced (same thread or task, same frame: never fails).
    detach: Callable[[Token], None] = _var.reset

else:  # pragma: no cover - another runtime context was configured
    current = context_api.get_current
    attach = context_api.attach
    detach = context_api.detach


def span_context_in(context: Context | None) -> SpanContext:
    """The span context of the span in `context` (default: the current one), or the invalid one."""
    span = (current() if context is None else context).get(SPAN_KEY)
    if span is None:
        return INVALID_SPAN_CONTEXT
    if type(span) in _PLAIN_SPANS or isinstance(span, Span):  # Span is an ABC: isinstance is slow
        return span.get_span_context()
    return INVALID_SPAN_CONTEXT


def with_span(span: Span, context: Context | None) -> Context:
    """`context` (default: the current one) with `span` as its current span."""
    values = dict(current() if context is None else context)
    values[SPAN_KEY] = span
    return Context(values)


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


def trace_state(members: dict[str, str]) -> TraceState:
    """A TraceState of `members`, in order, as given: the caller has checked them by the Level 2
    grammar (tracing/propagation/_w3c_tracestate.py). TraceState([...]) would check them again by the
    Level 1 grammar and drop, with a warning per request, keys current tracers send."""
    state = _NEW_STATE(TraceState)
    state._dict = members
    return state


_NEW_STATE = object.__new__


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
