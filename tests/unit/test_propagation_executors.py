"""Trace context follows work onto threads, executors and asyncio constructs."""

from __future__ import annotations

import asyncio
import sys
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest
from opentelemetry import trace

from tracing.propagation import ContextExecutor, context_thread, run_in_executor, wrap


@pytest.fixture
def tracer(recorder):
    return recorder.provider.get_tracer("test")


def _current_span_id() -> int:
    return trace.get_current_span().get_span_context().span_id


def _child_of(tracer, name: str) -> int:
    """Start and end a span in the current context; return its parent span id (0 for a root)."""
    with tracer.start_as_current_span(name) as span:
        return span.parent.span_id if span.parent else 0


def test_a_plain_thread_pool_loses_the_context_which_is_why_the_wrapper_exists(tracer):
    with ThreadPoolExecutor(1) as pool, tracer.start_as_current_span("caller"):
        assert pool.submit(_current_span_id).result() == 0


def test_submit_runs_in_the_submitters_context(tracer):
    with ContextExecutor(ThreadPoolExecutor(2)) as pool, tracer.start_as_current_span("caller") as caller:
        parent = pool.submit(_child_of, tracer, "work").result()
    assert parent == caller.get_span_context().span_id


def test_map_runs_every_call_in_the_callers_context(tracer):
    with ContextExecutor(ThreadPoolExecutor(4)) as pool, tracer.start_as_current_span("caller") as caller:
        parents = list(pool.map(_child_of, [tracer] * 20, [f"item-{i}" for i in range(20)]))
    assert parents == [caller.get_span_context().span_id] * 20


def test_each_submit_takes_the_context_current_at_that_moment(tracer):
    with ContextExecutor(ThreadPoolExecutor(1)) as pool:
        with tracer.start_as_current_span("first") as first:
            a = pool.submit(_current_span_id)
        with tracer.start_as_current_span("second") as second:
            b = pool.submit(_current_span_id)
        c = pool.submit(_current_span_id)
    assert (a.result(), b.result(), c.result()) == (
        first.get_span_context().span_id,
        second.get_span_context().span_id,
        0,
    )


def test_work_done_in_the_pool_does_not_leak_back_into_the_caller(tracer):
    def attach_and_forget():
        from opentelemetry import context

        context.attach(trace.set_span_in_context(tracer.start_span("leaky")))

    with ContextExecutor(ThreadPoolExecutor(1)) as pool, tracer.start_as_current_span("caller") as caller:
        pool.submit(attach_and_forget).result()
        assert pool.submit(_current_span_id).result() == caller.get_span_context().span_id
        assert _current_span_id() == caller.get_span_context().span_id


def test_shutdown_is_delegated_and_results_and_errors_pass_through():
    inner = ThreadPoolExecutor(1)
    pool = ContextExecutor(inner)
    err = ValueError("boom")

    def fail():
        raise err

    assert pool.submit(lambda x, *, y: x + y, 1, y=2).result() == 3
    assert pool.submit(fail).exception() is err
    pool.shutdown(wait=True)
    with pytest.raises(RuntimeError):
        inner.submit(int)


def test_a_process_pool_is_refused_with_the_alternative_named():
    with ProcessPoolExecutor(1) as pool, pytest.raises(TypeError, match="environment_for_child"):
        ContextExecutor(pool)


def test_wrap_binds_a_callable_to_the_context_of_its_creation(tracer):
    with tracer.start_as_current_span("creator") as creator:
        bound = wrap(_current_span_id)
    assert _current_span_id() == 0
    assert bound() == creator.get_span_context().span_id
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(bound())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [creator.get_span_context().span_id] * 8
    assert bound.__name__ == "_current_span_id"


def test_context_thread_runs_its_target_in_the_creators_context(tracer):
    seen: list[int] = []
    with tracer.start_as_current_span("creator") as creator:
        thread = context_thread(
            lambda out, name="x": out.append(_child_of(tracer, name)),
            args=(seen,),
            name="worker",
            daemon=True,
        )
    thread.start()
    thread.join()
    assert seen == [creator.get_span_context().span_id]
    assert thread.name == "worker" and thread.daemon


# --- asyncio ------------------------------------------------------------------------------------


def _in_span(tracer, body):
    """Run `body(caller_span_id)` as a coroutine inside a span; return (caller span id, result)."""

    async def main():
        with tracer.start_as_current_span("caller") as caller:
            return caller.get_span_context().span_id, await body()

    return asyncio.run(main())


async def _async_child_of(tracer, name: str) -> int:
    await asyncio.sleep(0)
    return _child_of(tracer, name)


def test_loop_run_in_executor_alone_loses_the_context(tracer):
    async def body():
        return await asyncio.get_running_loop().run_in_executor(None, _current_span_id)

    _, seen = _in_span(tracer, body)
    assert seen == 0


@pytest.mark.parametrize("executor", [None, "pool"])
def test_run_in_executor_carries_the_calling_tasks_context(tracer, executor):
    pool = ThreadPoolExecutor(1) if executor else None

    async def body():
        return await run_in_executor(pool, _child_of, tracer, "blocking")

    caller, parent = _in_span(tracer, body)
    assert parent == caller
    if pool:
        pool.shutdown()


def test_create_task_keeps_the_context(tracer):
    async def body():
        return await asyncio.get_running_loop().create_task(_async_child_of(tracer, "task"))

    caller, parent = _in_span(tracer, body)
    assert parent == caller


def test_gather_keeps_the_context(tracer):
    async def body():
        return await asyncio.gather(*(_async_child_of(tracer, f"g{i}") for i in range(5)))

    caller, parents = _in_span(tracer, body)
    assert parents == [caller] * 5


def test_to_thread_keeps_the_context(tracer):
    async def body():
        return await asyncio.to_thread(_child_of, tracer, "thread")

    caller, parent = _in_span(tracer, body)
    assert parent == caller


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.TaskGroup is new in Python 3.11")
def test_task_group_keeps_the_context(tracer):
    async def body():
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_async_child_of(tracer, f"t{i}")) for i in range(3)]
        return [t.result() for t in tasks]

    caller, parents = _in_span(tracer, body)
    assert parents == [caller] * 3


def test_concurrent_tasks_do_not_see_each_others_spans(tracer):
    async def worker(name: str) -> list[int]:
        with tracer.start_as_current_span(name) as own:
            seen = []
            for _ in range(3):
                await asyncio.sleep(0)
                seen.append(_current_span_id() == own.get_span_context().span_id)
            return seen

    async def body():
        return await asyncio.gather(worker("a"), worker("b"))

    _, results = _in_span(tracer, body)
    assert results == [[True] * 3, [True] * 3]
