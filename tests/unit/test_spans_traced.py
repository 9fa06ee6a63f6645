"""@traced: one span per call for functions, coroutines, generators and async generators."""

from __future__ import annotations

import asyncio
import gc
import inspect
import logging

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import SpanKind, StatusCode

from tracing._spans import traced


@pytest.fixture
def traced_here(recorder):
    """traced() bound to the recorder's provider."""

    def bind(*args, **kwargs):
        return traced(*args, tracer_provider=recorder.provider, **kwargs)

    return bind


@pytest.fixture(autouse=True)
def _no_double_end(caplog):
    """Every span ends exactly once: the SDK warns on a second end()."""
    caplog.set_level(logging.WARNING, "opentelemetry.sdk.trace")
    yield
    assert "ended span" not in caplog.text


def _current_span_id() -> int:
    return trace.get_current_span().get_span_context().span_id


def _ids(span) -> tuple[int, int | None]:
    return span.context.span_id, span.parent.span_id if span.parent else None


# --- forms and functions --------------------------------------------------------------------------


_LOCAL_WORK = "test_every_decorator_form_uses_the_global_provider.<locals>.work"  # __qualname__


@pytest.mark.parametrize(
    ("decorate", "name"),
    [
        (lambda: traced, _LOCAL_WORK),
        (lambda: traced(), _LOCAL_WORK),
        (lambda: traced("custom"), "custom"),
        (lambda: traced(name="custom", kind=SpanKind.CLIENT, attributes={"a": 1}), "custom"),
    ],
    ids=["bare", "empty-call", "positional-name", "keywords"],
)
def test_every_decorator_form_uses_the_global_provider(recorder, monkeypatch, decorate, name):
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: recorder.provider)

    @decorate()
    def work():
        return _current_span_id()

    inside = work()
    (span,) = recorder.spans()
    assert span.name == name and span.context.span_id == inside
    assert span.instrumentation_scope.name == __name__


def test_kind_and_attributes_are_applied(recorder, traced_here):
    @traced_here("pull", kind=SpanKind.CLIENT, attributes={"rpc.system": "grpc"})
    def pull():
        pass

    pull()
    (span,) = recorder.spans()
    assert span.kind is SpanKind.CLIENT and dict(span.attributes) == {"rpc.system": "grpc"}


def test_a_function_span_is_current_inside_and_gone_after(recorder, traced_here):
    tracer = recorder.provider.get_tracer("t")

    @traced_here
    def work(x, *, y):
        with tracer.start_as_current_span("child"):
            return x + y

    with tracer.start_as_current_span("caller") as caller:
        assert work(1, y=2) == 3
        assert _current_span_id() == caller.get_span_context().span_id
    child, span, _ = recorder.spans()
    assert span.name == "test_a_function_span_is_current_inside_and_gone_after.<locals>.work"
    assert span.parent.span_id == caller.get_span_context().span_id
    assert child.parent.span_id == span.context.span_id


def test_metadata_of_the_wrapped_function_is_kept(traced_here):
    @traced_here
    async def fetch(url: str) -> bytes:
        """Fetch it."""

    assert fetch.__name__ == "fetch" and fetch.__doc__ == "Fetch it."
    assert inspect.iscoroutinefunction(fetch)
    assert inspect.signature(fetch) == inspect.signature(fetch.__wrapped__)


def test_methods_are_traced_per_call(recorder, traced_here):
    class Kubelet:
        @traced_here
        def sync_pod(self, pod):
            return (self, pod)

    kubelet = Kubelet()
    assert kubelet.sync_pod("web") == (kubelet, "web")
    assert [s.name for s in recorder.spans()] == [
        "test_methods_are_traced_per_call.<locals>.Kubelet.sync_pod"
    ]


@pytest.mark.parametrize("bad", [42, ("a",)])
def test_a_non_function_is_refused(bad):
    with pytest.raises(TypeError, match="traced"):
        traced(bad)


def test_two_names_are_refused():
    with pytest.raises(TypeError, match="two span names"):
        traced("a", name="b")


def test_an_unsampled_call_records_nothing_but_still_propagates(make_recorder):
    rec = make_recorder(ALWAYS_OFF)

    @traced(tracer_provider=rec.provider)
    def work():
        return trace.get_current_span().get_span_context()

    inside = work()
    assert rec.spans() == [] and inside.is_valid and not inside.trace_flags.sampled


# --- exceptions -----------------------------------------------------------------------------------


class Boom(Exception):
    pass


def test_an_exception_is_recorded_and_re_raised_unchanged(recorder, traced_here):
    cause = KeyError("k")
    err = Boom("boom")

    @traced_here
    def work():
        raise err from cause

    with pytest.raises(Boom) as caught:
        work()
    assert caught.value is err and err.__cause__ is cause
    assert any(entry.name == "work" for entry in caught.traceback), (
        "the raising frame is still in the traceback"
    )
    (span,) = recorder.spans()
    assert span.status.status_code is StatusCode.ERROR and span.status.description == "Boom: boom"
    assert [e.name for e in span.events] == ["exception"]
    assert span.events[0].attributes["exception.type"].endswith("Boom")


def test_a_coroutine_exception_is_recorded_and_re_raised_unchanged(recorder, traced_here):
    err = Boom("async boom")

    @traced_here
    async def work():
        await asyncio.sleep(0)
        raise err

    with pytest.raises(Boom) as caught:
        asyncio.run(work())
    assert caught.value is err
    (span,) = recorder.spans()
    assert span.status.status_code is StatusCode.ERROR


@pytest.mark.parametrize("exc", [StopIteration(), StopAsyncIteration(), KeyboardInterrupt(), SystemExit(0)])
def test_control_flow_exceptions_end_the_span_without_failing_it(recorder, traced_here, exc):
    @traced_here
    def step():
        raise exc

    with pytest.raises(type(exc)) as caught:
        step()
    assert caught.value is exc
    (span,) = recorder.spans()
    assert span.status.status_code is StatusCode.UNSET and span.events == ()


def test_a_cancelled_coroutine_ends_its_span_without_failing_it(recorder, traced_here):
    started = asyncio.Event()

    @traced_here
    async def wait_forever():
        started.set()
        await asyncio.sleep(3600)

    async def main():
        task = asyncio.create_task(wait_forever())
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    (span,) = recorder.spans()
    assert span.end_time is not None and span.status.status_code is StatusCode.UNSET


def test_coroutine_spans_parent_under_the_awaiting_task(recorder, traced_here):
    @traced_here
    async def inner():
        await asyncio.sleep(0)
        return _current_span_id()

    @traced_here
    async def outer():
        return await asyncio.gather(inner(), inner())

    inner_ids = asyncio.run(outer())
    spans = {s.context.span_id: s for s in recorder.spans()}
    (outer_span,) = [s for s in spans.values() if s.name.endswith("outer")]
    assert [spans[i].parent.span_id for i in inner_ids] == [outer_span.context.span_id] * 2


# --- generators -----------------------------------------------------------------------------------


def _counting(traced_here, events: list):
    @traced_here("stream")
    def stream(n):
        try:
            for i in range(n):
                events.append(("body", _current_span_id()))
                received = yield i
                if received is not None:
                    events.append(("received", received))
            return "done"
        finally:
            events.append(("finally", _current_span_id()))

    return stream


def test_a_generator_span_covers_the_whole_iteration(recorder, traced_here):
    events: list = []
    stream = _counting(traced_here, events)

    def consume():
        result = yield from stream(3)
        return result

    gen = consume()
    assert [next(gen), next(gen), next(gen)] == [0, 1, 2]
    assert recorder.spans() == [], "the span is still open between steps"
    with pytest.raises(StopIteration) as stop:
        next(gen)
    assert stop.value.value == "done", "the generator's return value passes through"
    (span,) = recorder.spans()
    assert {span_id for _, span_id in events} == {span.context.span_id}
    assert span.status.status_code is StatusCode.UNSET


def test_the_consumer_never_sees_the_generator_span_between_steps(recorder, traced_here):
    stream = _counting(traced_here, [])
    tracer = recorder.provider.get_tracer("t")
    with tracer.start_as_current_span("consumer") as consumer:
        for _ in stream(3):
            assert _current_span_id() == consumer.get_span_context().span_id


def test_the_parent_is_the_context_of_the_call_not_of_the_iteration(recorder, traced_here):
    stream = _counting(traced_here, [])
    tracer = recorder.provider.get_tracer("t")
    with tracer.start_as_current_span("handler") as handler:
        gen = stream(2)
    with tracer.start_as_current_span("transport"):
        assert list(gen) == [0, 1]
    (span,) = recorder.by_name("stream")
    assert span.parent.span_id == handler.get_span_context().span_id


def test_send_reaches_the_body(recorder, traced_here):
    events: list = []
    gen = _counting(traced_here, events)(3)
    next(gen)
    assert gen.send("hello") == 1
    assert ("received", "hello") in events


def test_a_never_iterated_generator_starts_no_span(recorder, traced_here):
    gen = _counting(traced_here, [])(3)
    del gen
    gc.collect()
    assert recorder.spans() == []


def _close_early(gen):
    next(gen)
    gen.close()


def _break_out(gen):
    for _ in gen:
        break
    gen.close()


def _collect(gen):
    next(gen)
    del gen
    gc.collect()


def _collect_cycle(gen):
    next(gen)
    cycle: dict = {"gen": gen}
    cycle["self"] = cycle
    del gen, cycle
    gc.collect()


def _throw_unhandled(gen):
    next(gen)
    with pytest.raises(Boom):
        gen.throw(Boom("into the body"))


@pytest.mark.parametrize("finish", [_close_early, _break_out, _collect, _collect_cycle, _throw_unhandled])
def test_an_abandoned_generator_ends_its_span_once_and_runs_its_cleanup(recorder, traced_here, finish):
    events: list = []
    finish(_counting(traced_here, events)(5))
    (span,) = recorder.spans()
    assert events[-1][0] == "finally"
    if finish is not _collect_cycle:
        # In a cycle the collector may finalize the body before our wrapper, in no context of ours;
        # the span still ends exactly once.
        assert events[-1][1] == span.context.span_id, "cleanup ran inside the generator's span"
    failed = finish is _throw_unhandled
    assert span.status.status_code is (StatusCode.ERROR if failed else StatusCode.UNSET)


def test_a_generator_that_raises_records_it_and_re_raises_the_same_object(recorder, traced_here):
    err = Boom("mid-stream")

    @traced_here
    def stream():
        yield 1
        raise err

    gen = stream()
    assert next(gen) == 1
    with pytest.raises(Boom) as caught:
        next(gen)
    assert caught.value is err
    (span,) = recorder.spans()
    assert span.status.status_code is StatusCode.ERROR


def test_an_exception_thrown_in_and_handled_by_the_body_continues_the_iteration(recorder, traced_here):
    @traced_here
    def stream():
        try:
            yield 1
        except Boom as err:
            yield f"handled {err}"
        yield 3

    gen = stream()
    next(gen)
    assert gen.throw(Boom("x")) == "handled x"
    assert list(gen) == [3]
    (span,) = recorder.spans()
    assert span.status.status_code is StatusCode.UNSET


def test_context_the_body_holds_across_a_yield_is_kept_for_its_next_step(recorder, traced_here):
    tracer = recorder.provider.get_tracer("t")

    @traced_here
    def stream():
        with tracer.start_as_current_span("held") as held:
            yield held.get_span_context().span_id
            yield _current_span_id()

    with tracer.start_as_current_span("consumer") as consumer:
        gen = stream()
        held_id = next(gen)
        assert _current_span_id() == consumer.get_span_context().span_id
        assert next(gen) == held_id
        assert list(gen) == []
    assert _current_span_id() == 0


# --- async generators -----------------------------------------------------------------------------


def _async_counting(traced_here, events: list):
    @traced_here("astream")
    async def astream(n):
        try:
            for i in range(n):
                await asyncio.sleep(0)
                events.append(("body", _current_span_id()))
                received = yield i
                if received is not None:
                    events.append(("received", received))
        finally:
            events.append(("finally", _current_span_id()))

    return astream


def test_an_async_generator_span_covers_the_iteration_and_stays_out_of_the_consumer(recorder, traced_here):
    events: list = []
    astream = _async_counting(traced_here, events)
    tracer = recorder.provider.get_tracer("t")

    async def main():
        seen = []
        with tracer.start_as_current_span("consumer") as consumer:
            async for item in astream(3):
                seen.append(item)
                assert _current_span_id() == consumer.get_span_context().span_id
        return seen, consumer

    seen, consumer = asyncio.run(main())
    (span,) = recorder.by_name("astream")
    assert seen == [0, 1, 2]
    assert span.parent.span_id == consumer.get_span_context().span_id
    assert {span_id for _, span_id in events} == {span.context.span_id}


async def _aclose_early(agen):
    await agen.__anext__()
    await agen.aclose()


async def _abreak_out(agen):
    async for _ in agen:
        break
    await agen.aclose()


async def _acollect(agen):
    await agen.__anext__()
    del agen
    gc.collect()
    for _ in range(5):  # asyncio finalizes a collected async generator in a task of its own
        await asyncio.sleep(0)


async def _athrow_unhandled(agen):
    await agen.__anext__()
    with pytest.raises(Boom):
        await agen.athrow(Boom("into the body"))


async def _asend(agen):
    await agen.__anext__()
    assert await agen.asend("hello") == 1
    await agen.aclose()


@pytest.mark.parametrize("finish", [_aclose_early, _abreak_out, _acollect, _athrow_unhandled, _asend])
def test_an_abandoned_async_generator_ends_its_span_once_and_runs_its_cleanup(recorder, traced_here, finish):
    events: list = []
    astream = _async_counting(traced_here, events)

    async def main():
        await finish(astream(5))

    asyncio.run(main())
    (span,) = recorder.spans()
    assert events[-1] == ("finally", span.context.span_id)
    failed = finish is _athrow_unhandled
    assert span.status.status_code is (StatusCode.ERROR if failed else StatusCode.UNSET)
    if finish is _asend:
        assert ("received", "hello") in events


def test_an_async_generator_that_raises_records_it_and_re_raises_the_same_object(recorder, traced_here):
    err = Boom("mid-stream")

    @traced_here
    async def astream():
        yield 1
        raise err

    async def main():
        return [item async for item in astream()]

    with pytest.raises(Boom) as caught:
        asyncio.run(main())
    assert caught.value is err
    (span,) = recorder.spans()
    assert span.status.status_code is StatusCode.ERROR


def test_a_never_iterated_async_generator_starts_no_span(recorder, traced_here):
    astream = _async_counting(traced_here, [])

    async def main():
        agen = astream(3)
        del agen
        gc.collect()

    asyncio.run(main())
    assert recorder.spans() == []
