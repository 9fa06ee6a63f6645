"""How a helper span starts, and what an exception escaping the traced code does to it."""

from __future__ import annotations

from types import TracebackType

from opentelemetry import context as context_api
from opentelemetry import trace as trace_api
from opentelemetry.context import Context
from opentelemetry.trace import Span, Status, StatusCode

from .._starter import SpanStarter
from ..instrumentation import Start

# Iterator-protocol signals are how a function says "no more", not that it failed.
_SIGNALS = (StopIteration, StopAsyncIteration)


def start_span(starter: SpanStarter, start: Start, parent: Context | None) -> tuple[Span, Context]:
    """Start a span as `start` says under `parent` (None: the current context), and the context that
    activates it."""
    span = starter.start(start.name, parent, start.kind, start.attributes, start.links)
    return span, trace_api.set_span_in_context(span, parent)


def record_failure(span: Span, exc: BaseException) -> None:
    """Mark the span failed by an escaping exception; the caller re-raises it unchanged.

    Only Exception subclasses count, as in opentelemetry.trace.use_span: GeneratorExit,
    KeyboardInterrupt, SystemExit and asyncio.CancelledError stop the work without it having failed.
    """
    if not isinstance(exc, Exception) or isinstance(exc, _SIGNALS) or not span.is_recording():
        return
    span.record_exception(exc)
    span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))


class CurrentSpan:
    """`with CurrentSpan(starter, start):` runs the block in a new span, current under the current
    context, that ends when the block does; an exception leaving the block marks it failed and goes
    on unchanged."""

    __slots__ = ("_span", "_start", "_starter", "_token")

    def __init__(self, starter: SpanStarter, start: Start):
        self._starter = starter
        self._start = start

    def __enter__(self) -> Span:
        self._span, active = start_span(self._starter, self._start, None)
        self._token = context_api.attach(active)
        return self._span

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is not None:
            record_failure(self._span, exc)
        context_api.detach(self._token)
        self._span.end()
