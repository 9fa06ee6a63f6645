"""operation(): a Kubernetes-style span with steps, logged like utiltrace's LogIfLong when slow."""

from __future__ import annotations

import logging
import re
import threading
from datetime import timedelta

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import StatusCode

from tracing._spans import DURATION_MS, ELAPSED_MS, operation


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def op(recorder, clock):
    """operation() bound to the recorder and the hand-moved clock."""

    def make(name="syncPod", attributes=None, log_if_longer_than=None):
        return operation(name, attributes, log_if_longer_than, tracer_provider=recorder.provider, clock=clock)

    return make


@pytest.fixture
def slow_log(caplog):
    caplog.set_level(logging.INFO, "kubetrace.trace")
    return lambda: [r for r in caplog.records if r.name == "kubetrace.trace"]


def _sync_pod(op, clock, threshold, durations=(0.010, 0.500, 0.013)):
    with op("syncPod", {"pod": "default/web"}, threshold) as o:
        for message, seconds in zip(
            ("fetched pod", "pulled image", "started containers"), durations, strict=True
        ):
            clock.advance(seconds)
            o.step(message, {"n": 1} if message == "pulled image" else None)
    return o


def test_steps_become_span_events_with_elapsed_and_step_times(recorder, op, clock):
    _sync_pod(op, clock, None)
    (span,) = recorder.spans()
    assert span.name == "syncPod" and dict(span.attributes) == {"pod": "default/web"}
    assert [e.name for e in span.events] == ["fetched pod", "pulled image", "started containers"]
    timings = [(e.attributes[ELAPSED_MS], e.attributes[DURATION_MS]) for e in span.events]
    assert timings == [(10, 10), (510, 500), (523, 13)]
    assert span.events[1].attributes["n"] == 1


def test_the_operation_span_is_current_inside_the_block(recorder, op):
    with op() as o:
        with recorder.provider.get_tracer("t").start_as_current_span("child"):
            pass
        assert trace.get_current_span() is o.span
    child, parent = recorder.spans()
    assert child.parent.span_id == parent.context.span_id
    assert trace.get_current_span() is trace.INVALID_SPAN


def test_a_slow_operation_logs_the_steps_that_took_more_than_their_share(recorder, op, clock, slow_log):
    _sync_pod(op, clock, threshold=0.2)  # 4 shares of 50ms: only "pulled image" is slow
    (record,) = slow_log()
    trace_id = format(recorder.spans()[0].context.trace_id, "032x")
    lines = record.getMessage().splitlines()
    assert record.levelno == logging.INFO
    assert re.fullmatch(
        rf'Trace\[{trace_id}\]: "syncPod" pod:default/web \(\d\d-\w{{3}}-\d{{4}} \d\d:\d\d:\d\d\.\d{{3}}\) \(total time: 523ms\):',
        lines[0],
    )
    assert re.fullmatch(
        rf'Trace\[{trace_id}\]: ---"pulled image" n:1 500ms \(\d\d:\d\d:\d\d\.\d{{3}}\)', lines[1]
    )
    assert lines[2] == f"Trace[{trace_id}]: [523.000ms] [523.000ms] END"
    assert len(lines) == 3


def test_every_step_is_logged_when_the_trace_logger_is_at_debug(op, clock, slow_log, caplog):
    caplog.set_level(logging.DEBUG, "kubetrace.trace")
    _sync_pod(op, clock, threshold=0.2)
    (record,) = slow_log()
    steps = [line.split("---")[1] for line in record.getMessage().splitlines() if "---" in line]
    assert [s.split(" (")[0] for s in steps] == [
        '"fetched pod" 10ms',
        '"pulled image" n:1 500ms',
        '"started containers" 13ms',
    ]


@pytest.mark.parametrize(
    ("threshold", "logged"),
    [
        (None, False),
        (0.6, False),
        (0.523, True),
        (timedelta(milliseconds=100), True),
        (timedelta(seconds=1), False),
        (0, True),
    ],
)
def test_the_log_appears_only_when_the_operation_took_at_least_the_threshold(
    op, clock, slow_log, threshold, logged
):
    _sync_pod(op, clock, threshold)
    assert len(slow_log()) == int(logged)


def test_an_exception_is_recorded_re_raised_unchanged_and_still_logged_when_slow(
    recorder, op, clock, slow_log
):
    err = RuntimeError("image pull failed")
    with pytest.raises(RuntimeError) as caught, op("syncPod", log_if_longer_than=0.1) as o:
        clock.advance(0.2)
        o.step("pulling")
        raise err
    assert caught.value is err
    (span,) = recorder.spans()
    assert span.status.status_code is StatusCode.ERROR
    assert [e.name for e in span.events] == ["pulling", "exception"]
    assert len(slow_log()) == 1


def test_step_messages_are_quoted_so_each_stays_on_one_line(op, clock, slow_log):
    with op("o", log_if_longer_than=0) as o:
        o.step('bad "step"\nsecond line')
    lines = slow_log()[0].getMessage().splitlines()
    assert len(lines) == 3 and '---"bad \\"step\\"\\nsecond line" 0ms' in lines[1]


def test_an_unsampled_operation_still_logs_under_its_trace_id(make_recorder, clock, slow_log):
    rec = make_recorder(ALWAYS_OFF)
    with operation("o", log_if_longer_than=0, tracer_provider=rec.provider, clock=clock) as o:
        o.step("one")
    assert rec.spans() == []
    trace_id = format(o.span.get_span_context().trace_id, "032x")
    assert slow_log()[0].getMessage().startswith(f'Trace[{trace_id}]: "o" ')


def test_without_a_trace_the_log_label_is_a_number_as_in_utiltrace(clock, slow_log):
    with operation("o", log_if_longer_than=0, tracer_provider=trace.NoOpTracerProvider(), clock=clock):
        pass
    assert re.match(r'Trace\[\d+\]: "o" \(', slow_log()[0].getMessage())


def test_steps_from_several_threads_are_all_kept_in_order(recorder, op):
    with op("fan-out") as o:
        threads = [threading.Thread(target=o.step, args=(f"part {i}",)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    (span,) = recorder.spans()
    assert sorted(e.name for e in span.events) == sorted(f"part {i}" for i in range(16))
    elapsed = [step.elapsed for step in o.steps]
    assert elapsed == sorted(elapsed) and all(step.duration >= 0 for step in o.steps)
