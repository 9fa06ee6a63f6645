"""The current OpenTelemetry Context and span in one step each, for the per-request hot path.

opentelemetry.context keeps the current Context in one ContextVar behind three layers of calls
(get_current -> runtime context -> ContextVar.get), and get_current_span adds three more. Inside a
real RPC every such call costs microseconds, so the interceptors read and set that ContextVar
directly. When another runtime context is configured (OTEL_PYTHON_CONTEXT), these functions fall
back to the public API and behave the same.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import Token

from opentelemetry import context as context_api
from opentelemetry.context import Context
from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext
from opentelemetry.sdk.trace import _Span as SdkSpan
from opentelemetry.trace import INVALID_SPAN_CONTEXT, NonRecordingSpan, Span, SpanContext
from opentelemetry.trace.propagation import _SPAN_KEY

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
