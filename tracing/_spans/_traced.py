"""The `traced` decorator: one span per call of a function, coroutine, generator or async generator."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from opentelemetry import context as context_api
from opentelemetry import trace as trace_api
from opentelemetry.trace import SpanKind
from opentelemetry.util.types import AttributeValue

from .._starter import SpanStarter
from ..instrumentation import Start
from ._generators import aiterate_in_span, iterate_in_span
from ._lifecycle import CurrentSpan

_F = TypeVar("_F", bound=Callable[..., Any])


def traced(
    func: Callable[..., Any] | str | None = None,
    /,
    name: str | None = None,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, AttributeValue] | None = None,
    tracer_provider: trace_api.TracerProvider | None = None,
) -> Any:
    """Trace every call of the decorated function in a span named after it (its __qualname__).

        @traced
        def sync_pod(pod): ...

        @traced("containerd.pull", kind=SpanKind.CLIENT, attributes={"rpc.system": "grpc"})
        async def pull(image): ...

    The span is the current span while the function runs, so spans it starts are its children.
    An exception is recorded on the span (status ERROR) and re-raised unchanged; GeneratorExit,
    KeyboardInterrupt, SystemExit and asyncio.CancelledError end the span without marking it failed.

    Generators and async generators get one span for the whole iteration, parented by the context
    of the call that created them, started at the first step and ended exactly once (exhausted,
    failed, closed or garbage collected). The wrapper is a plain function returning the generator,
    so inspect.isgeneratorfunction() is False for it.

    Spans use the global tracer provider (or `tracer_provider`) under the instrumentation scope of
    the function's module.
    """
    if isinstance(func, str):
        if name is not None:
            raise TypeError(f"traced() got two span names: {func!r} and {name!r}")
        func, name = None, func
    if func is not None and not callable(func):
        raise TypeError(f"traced() decorates a function or takes a span name, got {func!r}")

    def decorate(fn: _F) -> _F:
        starter = SpanStarter(getattr(fn, "__module__", None) or "kubetrace", "", tracer_provider)
        start = Start(
            name or getattr(fn, "__qualname__", repr(fn)), kind, dict(attributes) if attributes else None
        )
        return _wrapper_for(fn)(fn, starter, start)

    return decorate if func is None else decorate(func)


def _wrapper_for(fn: Callable[..., Any]) -> Callable[[Any, SpanStarter, Start], Any]:
    if inspect.isasyncgenfunction(fn):
        return _wrap_async_generator
    if inspect.isgeneratorfunction(fn):
        return _wrap_generator
    if inspect.iscoroutinefunction(fn):
        return _wrap_coroutine
    return _wrap_function


def _wrap_function(fn: Callable[..., Any], starter: SpanStarter, start: Start) -> Callable[..., Any]:
    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        with CurrentSpan(starter, start):
            return fn(*args, **kwargs)

    return call


def _wrap_coroutine(fn: Callable[..., Any], starter: SpanStarter, start: Start) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def call(*args: Any, **kwargs: Any) -> Any:
        with CurrentSpan(starter, start):
            return await fn(*args, **kwargs)

    return call


def _wrap_generator(fn: Callable[..., Any], starter: SpanStarter, start: Start) -> Callable[..., Any]:
    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        return iterate_in_span(fn(*args, **kwargs), starter, start, context_api.get_current())

    return call


def _wrap_async_generator(fn: Callable[..., Any], starter: SpanStarter, start: Start) -> Callable[..., Any]:
    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        return aiterate_in_span(fn(*args, **kwargs), starter, start, context_api.get_current())

    return call
