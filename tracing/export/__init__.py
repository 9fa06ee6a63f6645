"""Span export off the request path: compact records, a queue bounded by memory, a fast OTLP encoder,
OTLP/gRPC and OTLP/HTTP senders with the specification's retry rules, and exact drop accounting.

setup() builds all of it; ExportStats (from Tracing.export_stats) is the one public type here.
"""

from ._queue import ExportStats

__all__ = ["ExportStats"]
