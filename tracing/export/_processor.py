"""The SDK's side of the pipeline: a SpanProcessor that hands each ended, sampled SDK span over as a record.

It replaces BatchSpanProcessor + OTLPSpanExporter: the request thread converts the span to a tuple
(no protobuf objects, no encoding) and queues it; the pipeline's worker does the rest.
"""

from __future__ import annotations

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor

from ._pipeline import ExportPipeline
from ._record import from_readable


class RecordProcessor(SpanProcessor):
    """Queues every ended, sampled span on `pipeline` (unsampled recording spans are not exported,
    as with the SDK's batch processor). shutdown() is bounded by `shutdown_timeout_s`."""

    def __init__(self, pipeline: ExportPipeline, shutdown_timeout_s: float):
        self.pipeline = pipeline
        self._shutdown_timeout_s = shutdown_timeout_s

    def on_end(self, span: ReadableSpan) -> None:
        if span.context.trace_flags.sampled:
            self.pipeline.put(from_readable(span))

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.pipeline.force_flush(timeout_millis / 1000)

    def shutdown(self) -> None:
        self.pipeline.shutdown(self._shutdown_timeout_s)
