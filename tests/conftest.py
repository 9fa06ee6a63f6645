"""Fixtures every suite shares: an in-memory span recorder, W3C propagators, an OTLP receiver, a
shutdown after tests that call tracing.setup(), and a throwaway certificate authority."""

from __future__ import annotations

import pytest
from opentelemetry import propagate
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, Sampler
from testkit.certs import make_pki

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


@pytest.fixture
def no_setup_leaks():
    """For a module whose tests call tracing.setup() (`pytestmark = pytest.mark.usefixtures(...)`):
    whatever a test set up is shut down after it, so the next one starts from nothing."""
    yield
    tracing.shutdown(timeout_ms=2000)


@pytest.fixture(scope="session")
def pki():
    """A throwaway certificate authority with a server certificate for 127.0.0.1 and a client one."""
    return make_pki()
