"""The two tracing setups the export benchmarks compare, each installed as its documentation recommends.

- ours: `tracing.setup()`, configured by OTEL_* variables like any deployment of kubetrace.
- upstream: the OpenTelemetry SDK's TracerProvider (sampler, resource and batch settings from the
  same OTEL_* variables, read by the SDK itself), a BatchSpanProcessor and the OTLP exporter of the
  chosen protocol (endpoint from OTEL_EXPORTER_OTLP_TRACES_ENDPOINT).

install() returns the call that flushes and stops them (the benchmarks call it, and time it, when
the service stops) and what the library reports it dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

IMPLS = ("bare", "ours", "upstream")


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
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

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
