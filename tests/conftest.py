"""Fixtures every suite shares: an in-memory span recorder and W3C propagators."""

from __future__ import annotations

import pytest
from opentelemetry import propagate
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, Sampler

import tracing
from kubetrace_cli.receiver import OtlpReceiver


class Recorder:
    """A TracerProvider that keeps finished spans in memory, for interceptor tests.

    Pass `recorder.provider` as the interceptor's tracer_provider; nothing global is touched.
    """

    def __init__(self, sampler: Sampler | None = None):
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider(sampler=sampler or ParentBased(ALWAYS_ON), shutdown_on_exit=False)
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))

    def spans(self):
        return list(self.exporter.get_finished_spans())

    def clear(self) -> None:
        self.exporter.clear()

    def by_name(self, name: str):
        return [s for s in self.spans() if s.name == name]


@pytest.fixture
def recorder():
    rec = Recorder()
    yield rec
    rec.provider.shutdown()


@pytest.fixture
def make_recorder():
    made: list[Recorder] = []

    def make(sampler: Sampler | None = None) -> Recorder:
        made.append(Recorder(sampler))
        return made[-1]

    yield make
    for rec in made:
        rec.provider.shutdown()


@pytest.fixture(autouse=True)
def w3c_propagators():
    """Every test starts with the default OTEL_PROPAGATORS (tracecontext,baggage) and ends restoring
    whatever was global before."""
    before = propagate.get_global_textmap()
    propagate.set_global_textmap(tracing.build_propagator(("tracecontext", "baggage")))
    yield
    propagate.set_global_textmap(before)


@pytest.fixture
def otlp_receiver():
    """An in-process OTLP receiver (gRPC + HTTP) on free loopback ports, stopped after the test."""
    with OtlpReceiver() as receiver:
        yield receiver
