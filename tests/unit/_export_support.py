"""Helpers for the export pipeline's tests: records and pipelines pointed at a test receiver."""

from __future__ import annotations

from contextlib import contextmanager

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanKind
from opentelemetry.trace.span import DEFAULT_TRACE_STATE

from tracing.export._grpc_sender import GrpcSender, GrpcTarget
from tracing.export._http_sender import HttpSender, HttpTarget
from tracing.export._pipeline import ExportPipeline, PipelineOptions
from tracing.export._record import NO_DROPS, UNSET_STATUS
from tracing.export._retry import Backoff

RESOURCE = Resource({"service.name": "export-test"})
SCOPE = InstrumentationScope("export-test", "1")
T0 = 1_700_000_000_000_000_000
FAST_BACKOFF = Backoff(base_s=0.02, cap_s=0.2)


def record(i: int, attributes: dict | None = None) -> tuple:
    """A sampled root span's record; span id i + 1."""
    attributes = {"i": i} if attributes is None else attributes
    return (
        0x1000 + i,
        i + 1,
        0,
        0x101,
        DEFAULT_TRACE_STATE,
        f"op-{i % 7}",
        SpanKind.INTERNAL,
        T0 + i,
        T0 + i + 1000,
        attributes,
        (),
        (),
        UNSET_STATUS,
        NO_DROPS,
        SCOPE,
        RESOURCE,
    )


def sender_for(endpoint: str, protocol: str = "grpc"):
    if protocol == "grpc":
        return GrpcSender(GrpcTarget(endpoint, None, (), False, "kubetrace-test"))
    url = endpoint if "://" in endpoint else f"http://{endpoint}/v1/traces"
    return HttpSender(HttpTarget(url, None, None, None, (), False, "kubetrace-test"))


def options(**overrides) -> PipelineOptions:
    values = dict(
        queue_bytes=64 << 20,
        max_queue_spans=None,
        batch_size=512,
        schedule_delay_s=0.05,
        export_timeout_s=10.0,
        request_timeout_s=5.0,
        backoff=FAST_BACKOFF,
        report_interval_s=30.0,
    )
    values.update(overrides)
    return PipelineOptions(**values)


@contextmanager
def pipeline_to(endpoint: str, protocol: str = "grpc", shutdown_s: float = 2.0, **overrides):
    """An ExportPipeline sending to `endpoint`, shut down (bounded by `shutdown_s`) on exit."""
    pipeline = ExportPipeline(sender_for(endpoint, protocol), options(**overrides))
    try:
        yield pipeline
    finally:
        pipeline.shutdown(shutdown_s)
