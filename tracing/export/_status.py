"""An OTLP ExportTraceServiceResponse -> a successful Outcome, carrying any partial success."""

from __future__ import annotations

from ._retry import Outcome


def partial_success(response: bytes | None) -> Outcome:
    """Success; with the count and message of rejected spans when the server reported some."""
    if not response:
        return Outcome.success()
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

    try:
        partial = ExportTraceServiceResponse.FromString(response).partial_success
    except Exception:  # the spans were accepted; an unreadable response body does not undo that
        return Outcome.success()
    if partial.rejected_spans or partial.error_message:
        return Outcome.success(partial.rejected_spans, partial.error_message)
    return Outcome.success()
