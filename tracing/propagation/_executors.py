"""Run work on other threads inside the caller's trace context.

A new thread, a thread-pool worker and `loop.run_in_executor` all run the callable in the worker
thread's own contextvars, so the active span is lost there. These helpers copy the caller's
contextvars (which hold the OpenTelemetry context) and run the callable inside the copy.
asyncio tasks (`create_task`, `gather`, `TaskGroup`) and `asyncio.to_thread` already copy the
context and need nothing from here.

Process pools are excluded on purpose: a contextvars.Context cannot be pickled, and a child process
has its own interpreter anyway. Hand the context over explicitly instead, with
environment_for_child() for a subprocess or inject_into_object() for work queued through the API.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any, TypeVar

_T = TypeVar("_T")


class ContextExecutor(Executor):
    """Wraps any Executor so that `submit` and `map` run each call in the submitter's context.

        pool = ContextExecutor(ThreadPoolExecutor(max_workers=4))
        pool.submit(fetch, url)   # spans started by fetch are children of the caller's span

    Shutting the wrapper down (or leaving its `with` block) shuts the wrapped executor down.
    """

    def __init__(self, executor: Executor):
        if isinstance(executor, ProcessPoolExecutor):
            raise TypeError(
                "ContextExecutor: a ProcessPoolExecutor cannot carry trace context (contexts do not "
                "pickle); pass it to the child explicitly, e.g. with tracing.propagation.environment_for_child()"
            )
        self.executor = executor

    def submit(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> Future[_T]:
        # One copy per call: a Context can be entered by one thread at a time.
        return self.executor.submit(contextvars.copy_context().run, fn, *args, **kwargs)

    # Executor.map is written in terms of self.submit, so it carries the context as well.

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.executor.shutdown(wait=wait, cancel_futures=cancel_futures)


def wrap(fn: Callable[..., _T]) -> Callable[..., _T]:
    """`fn` bound to the context current now: each call, from any thread, runs in a copy of it."""
    captured = contextvars.copy_context()

    @functools.wraps(fn)
    def in_context(*args: Any, **kwargs: Any) -> _T:
        return captured.copy().run(fn, *args, **kwargs)

    return in_context


def context_thread(
    target: Callable[..., object],
    args: Iterable[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    **thread_options: Any,
) -> threading.Thread:
    """A threading.Thread (not yet started) whose target runs in the creator's trace context.

    `thread_options` are passed on to Thread (name=, daemon=).
    """
    return threading.Thread(
        target=wrap(target), args=tuple(args), kwargs=dict(kwargs or {}), **thread_options
    )


def run_in_executor(executor: Executor | None, fn: Callable[..., _T], /, *args: Any) -> asyncio.Future[_T]:
    """`loop.run_in_executor` on the running loop, carrying the calling task's context.

    The event loop's own run_in_executor does not copy contextvars (asyncio.to_thread does); use
    this where a specific executor, or the loop's default one (None), is wanted.
    """
    loop = asyncio.get_running_loop()
    return loop.run_in_executor(executor, contextvars.copy_context().run, fn, *args)
