"""Span assertions shared by the gRPC suites."""

from __future__ import annotations

import threading
import time

from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.trace import SpanKind


class EndCounter(SpanProcessor):
    """Every span started and every end() the SDK accepted, to prove each span ends exactly once."""

    def __init__(self):
        self._lock = threading.Lock()
        self.started: list[int] = []
        self.ended: list[int] = []

    def on_start(self, span, parent_context=None) -> None:
        with self._lock:
            self.started.append(span.context.span_id)

    def on_end(self, span) -> None:
        with self._lock:
            self.ended.append(span.context.span_id)

    def assert_each_ended_once(self) -> None:
        assert sorted(self.ended) == sorted(self.started), "a span was leaked or ended twice"
        assert len(set(self.ended)) == len(self.ended)


def wait_for_spans(recorder, count: int, timeout: float = 10.0) -> list:
    """The finished spans once there are `count` of them (server spans may end after the client returns)."""
    deadline = time.monotonic() + timeout
    while len(recorder.spans()) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    spans = recorder.spans()
    assert len(spans) == count, [(s.name, s.kind) for s in spans]
    return spans


def one(spans, name: str, kind: SpanKind):
    found = [s for s in spans if s.name == name and s.kind == kind]
    assert len(found) == 1, [(s.name, s.kind) for s in spans]
    return found[0]


def assert_child(child, parent) -> None:
    assert child.parent is not None, f"{child.name} has no parent"
    assert child.parent.span_id == parent.context.span_id, f"{child.name} is not a child of {parent.name}"
    assert child.context.trace_id == parent.context.trace_id
