"""The two tracing setups the benchmarks compare, each installed as its documentation recommends.

- ours: `tracing.setup()`, configured by OTEL_* variables like any deployment of kubetrace.
- upstream: the OpenTelemetry SDK's TracerProvider (sampler, resource and batch settings from the
  same OTEL_* variables, read by the SDK itself), a BatchSpanProcessor and the OTLP exporter of the
  chosen protocol (endpoint from OTEL_EXPORTER_OTLP_TRACES_ENDPOINT).

install() returns the call that flushes and stops them (the benchmarks call it, and time it, when
the service stops) and what the library reports it dropped. SideBySide sets both up in one
process, with explicit arguments, for the benchmarks that interleave variants in one process.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import NamedTuple

from _proctree import helpers_cpu
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased


class Installed(NamedTuple):
    shutdown: Callable[[], object]  # flush and stop
    dropped: Callable[[], int | None]  # spans the library says it dropped (None: it does not say)


def install(impl: str, protocol: str) -> Installed:
    """Install `impl`'s tracing in this process (for "bare", nothing)."""
    if impl == "ours":
        import tracing

        handle = tracing.setup()
        # read through getattr: the accounting API is being reworked, and a benchmark should keep
        # running (printing "-") rather than fail on a renamed counter
        return Installed(handle.shutdown, lambda: getattr(handle, "dropped_spans", None))
    if impl == "upstream":
        return Installed(_upstream(protocol), lambda: None)
    return Installed(lambda: None, lambda: None)


def _upstream(protocol: str) -> Callable[[], object]:
    from opentelemetry import trace

    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider.shutdown


def environment(receiver, protocol: str, service: str, ratio: float) -> dict[str, str]:
    """The OTEL_* variables of a measured process: its service.name, ParentBased(TraceIdRatioBased(ratio))
    head sampling, export over `protocol` to the receiver. Everything else at its default."""
    endpoint = f"http://{receiver.grpc_endpoint}" if protocol == "grpc" else receiver.http_endpoint
    return {
        "OTEL_SERVICE_NAME": service,
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": repr(ratio),
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": protocol,
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": endpoint,
    }


class _DropAll(SpanExporter):
    def export(self, spans) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def dropping_provider(ratio: float) -> TracerProvider:
    """An SDK provider (ParentBased(TraceIdRatioBased(ratio))) whose exporter drops everything: for
    variants that export nothing, where a shared provider keeps them alike."""
    provider = TracerProvider(sampler=ParentBased(TraceIdRatioBased(ratio)), shutdown_on_exit=False)
    provider.add_span_processor(BatchSpanProcessor(_DropAll()))
    return provider


class SideBySide:
    """kubetrace and upstream sampling everything in one process, each exporting over OTLP/gRPC to
    the receiver under its own service.name: for the latency benchmarks, which interleave variants
    in one process. `providers[impl]` is the tracer provider that impl's instrumentation takes
    (None for ours: the global one tracing.setup() installs); `flushes[impl]` exports what it holds."""

    def __init__(self, receiver, name: str):
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource

        import tracing

        self._receiver, self._names = receiver, {"ours": f"{name}-kubetrace", "upstream": f"{name}-upstream"}
        self._ours = tracing.setup(
            service_name=self._names["ours"],
            sampler="parentbased_traceidratio",
            sampler_arg="1.0",
            protocol="grpc",
            endpoint=f"http://{receiver.grpc_endpoint}",
        )
        upstream = TracerProvider(
            sampler=ParentBased(TraceIdRatioBased(1.0)),
            resource=Resource.create({"service.name": self._names["upstream"]}),
            shutdown_on_exit=False,
        )
        upstream.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=receiver.grpc_endpoint, insecure=True))
        )
        self._upstream = upstream
        self.providers: dict[str, TracerProvider | None] = {"ours": None, "upstream": upstream}
        self.flushes: dict[str, Callable[[], object]] = {
            "ours": self._ours.force_flush,
            "upstream": upstream.force_flush,
        }

    def helpers_cpu(self) -> float:
        """CPU seconds of this process's live children but the receiver: helper processes of ours.
        (A benchmark's own child processes must not be alive when it reads this.)"""
        return helpers_cpu(os.getpid(), exclude=(self._receiver.pid,))

    def delivered(self) -> dict[str, int]:
        """Stop both; the spans the receiver got from each."""
        self._ours.shutdown()
        self._upstream.shutdown()
        return {impl: self._receiver.settled_count(name) for impl, name in self._names.items()}
