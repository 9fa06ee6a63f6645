"""Generator and async-generator spans that cover the whole iteration and always end.

The span starts when iteration starts and ends exactly once: on exhaustion, on an exception, on
close()/aclose(), or when the generator is garbage collected (Python closes a suspended generator
then, which runs the `finally` below). A generator that is never iterated starts no span at all.
One limit is Python's: when the collector frees a reference cycle holding the generator, it may
finalize the wrapped body before our wrapper, so the body's cleanup runs outside the span; the span
still ends exactly once.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from typing import Any

from opentelemetry import context as context_api
from opentelemetry.context import Context

from .._starter import SpanStarter
from ..instrumentation import Start
from ._lifecycle import record_failure, start_span


class _Scope:
    """The generator's own trace context, attached only while its body runs.

    It is removed before every yield, so the consumer never sees the generator's span as its own,
    and restored on every resume. Whatever the body attached and still holds at a yield (a
    `with start_as_current_span(...)` around the yield) is kept for its next step.
    """

    __slots__ = ("context", "token")

    def __init__(self, context: Context):
        self.context = context
        self.token: object = None

    def __enter__(self) -> None:
        self.token = context_api.attach(self.context)

    def __exit__(self, *exc_info: object) -> None:
        self.context = context_api.get_current()
        context_api.detach(self.token)


def iterate_in_span(inner: Generator, starter: SpanStarter, start: Start, parent: Context) -> Generator:
    """Run `inner` as `yield from inner` would (send, throw, close, return value), inside a span."""
    span, active = start_span(starter, start, parent)
    scope = _Scope(active)
    sent: Any = None
    thrown: BaseException | None = None
    try:
        while True:
            try:
                with scope:
                    item = inner.send(sent) if thrown is None else inner.throw(thrown)
            except StopIteration as stop:
                return stop.value
            try:
                sent, thrown = (yield item), None
            except GeneratorExit:
                with scope:
                    inner.close()
                raise
            except BaseException as exc:  # thrown in by the consumer: the body gets to handle it
                sent, thrown = None, exc
    except BaseException as exc:
        record_failure(span, exc)
        raise
    finally:
        span.end()


async def aiterate_in_span(
    inner: AsyncGenerator, starter: SpanStarter, start: Start, parent: Context
) -> AsyncGenerator:
    """The async-generator twin of iterate_in_span (asend, athrow, aclose)."""
    span, active = start_span(starter, start, parent)
    scope = _Scope(active)
    sent: Any = None
    thrown: BaseException | None = None
    try:
        while True:
            try:
                with scope:
                    item = await (inner.asend(sent) if thrown is None else inner.athrow(thrown))
            except StopAsyncIteration:
                return
            try:
                sent, thrown = (yield item), None
            except GeneratorExit:
                with scope:
                    await inner.aclose()
                raise
            except BaseException as exc:
                sent, thrown = None, exc
    except BaseException as exc:
        record_failure(span, exc)
        raise
    finally:
        span.end()
