"""Kubernetes-style operation spans: named steps as span events, and the steps logged when slow.

The Python counterpart of component-base/tracing's Start, Span.AddEvent and Span.End(logThreshold),
which pair an OpenTelemetry span with a k8s.io/utils/trace Trace (kubelet's syncPod, the API
server's request handlers):

    with operation("syncPod", attributes={"k8s.pod.name": name}, log_if_longer_than=0.5) as op:
        fetch(); op.step("fetched pod")
        pull();  op.step("pulled image", {"image": ref})
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from types import TracebackType

from opentelemetry import context as context_api
from opentelemetry import trace as trace_api
from opentelemetry.trace import INVALID_SPAN, Span, SpanKind
from opentelemetry.util.types import AttributeValue

from .._starter import SpanStarter
from ._lifecycle import record_failure
from ._slowlog import Step, format_slow, step_threshold

ELAPSED_MS = "kubetrace.step.elapsed_ms"  # event attribute: milliseconds since the operation started
DURATION_MS = "kubetrace.step.duration_ms"  # event attribute: milliseconds since the previous step

_log = logging.getLogger("kubetrace.trace")
_STARTER = SpanStarter("kubetrace")


class Operation:
    """A traced operation with steps; see operation()."""

    def __init__(
        self,
        name: str,
        attributes: Mapping[str, AttributeValue] | None = None,
        log_if_longer_than: float | timedelta | None = None,
        *,
        tracer_provider: trace_api.TracerProvider | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.name = name
        self.attributes = dict(attributes or {})
        self.threshold = _seconds(log_if_longer_than)
        self.span: Span = INVALID_SPAN
        self._starter = _STARTER if tracer_provider is None else SpanStarter("kubetrace", "", tracer_provider)
        self._clock = clock
        self._steps: list[Step] = []
        self._lock = threading.Lock()
        self._token: object = None
        self._started_at = datetime.now().astimezone()
        self._start = clock()

    @property
    def steps(self) -> tuple[Step, ...]:
        """The steps recorded so far."""
        return tuple(self._steps)

    def step(self, message: str, attributes: Mapping[str, AttributeValue] | None = None) -> None:
        """Mark the end of a step: a span event with the time since the start and since the last step."""
        with self._lock:
            elapsed = self._clock() - self._start
            previous = self._steps[-1].elapsed if self._steps else 0.0
            step = Step(message, elapsed, elapsed - previous, dict(attributes or {}))
            self._steps.append(step)
        if self.span.is_recording():
            timing = {ELAPSED_MS: round(elapsed * 1000, 3), DURATION_MS: round(step.duration * 1000, 3)}
            self.span.add_event(message, {**step.attributes, **timing})

    def __enter__(self) -> Operation:
        self.span = self._starter.start(self.name, None, SpanKind.INTERNAL, self.attributes or None)
        self._token = context_api.attach(trace_api.set_span_in_context(self.span))
        self._started_at = datetime.now().astimezone()
        self._start = self._clock()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        total = self._clock() - self._start
        if exc is not None:
            record_failure(self.span, exc)
        context_api.detach(self._token)
        self.span.end()
        if self.threshold is not None and total >= self.threshold:
            self._log_slow(total)

    def _log_slow(self, total: float) -> None:
        steps = self.steps
        # klog -v=4 shows every step of a slow trace; DEBUG on our logger is the equivalent.
        verbose = _log.isEnabledFor(logging.DEBUG)
        min_step = 0.0 if verbose else step_threshold(self.threshold, len(steps))
        message = format_slow(
            self._label(), self.name, self.attributes, self._started_at, total, steps, min_step
        )
        _log.info("%s", message)

    def _label(self) -> str:
        span_context = self.span.get_span_context()
        if span_context.is_valid:
            return trace_api.format_trace_id(span_context.trace_id)
        return str(random.randrange(2**31))  # utiltrace's label when there is no trace to point at


def _seconds(threshold: float | timedelta | None) -> float | None:
    return threshold.total_seconds() if isinstance(threshold, timedelta) else threshold


def operation(
    name: str,
    attributes: Mapping[str, AttributeValue] | None = None,
    log_if_longer_than: float | timedelta | None = None,
    *,
    tracer_provider: trace_api.TracerProvider | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Operation:
    """A span for a multi-step operation, to use as `with operation(...) as op:` and mark with op.step().

    The span is current inside the block; an exception is recorded on it and re-raised unchanged.
    Each op.step(message, attributes) adds a span event with `kubetrace.step.elapsed_ms` (since the
    start) and `kubetrace.step.duration_ms` (since the previous step). If the whole operation took at
    least `log_if_longer_than` (seconds or a timedelta; 0 logs always), one INFO record on the
    "kubetrace.trace" logger lists it like k8s.io/utils/trace's LogIfLong: the steps that took more
    than their share of the threshold, or every step when that logger is enabled for DEBUG.
    `clock` (monotonic seconds) is for tests.
    """
    return Operation(name, attributes, log_if_longer_than, tracer_provider=tracer_provider, clock=clock)
