"""How a helper span starts, and what an exception escaping the traced code does to it."""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import trace as trace_api
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from .._starter import SpanStarter

# Iterator-protocol signals are how a function says "no more", not that it failed.
_SIGNALS = (StopIteration, StopAsyncIteration)


class Recipe:
    """The fixed part of one traced function's spans, computed once at decoration time."""

    __slots__ = ("attributes", "kind", "name", "starter")

    def __init__(
        self,
        name: str,
        kind: SpanKind,
        attributes: Mapping[str, AttributeValue] | None,
        starter: SpanStarter,
    ):
        self.name, self.kind, self.starter = name, kind, starter
        self.attributes = dict(attributes) if attributes else None

    def start(self, parent: Context | None) -> tuple[Span, Context]:
        """Start a span under `parent` (None: the current context) and the context that activates it."""
        span = self.starter.start(self.name, parent, self.kind, self.attributes)
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
