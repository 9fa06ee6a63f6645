"""The lean sampled span: a recording span that hands a compact record to the export pipeline."""

from ._span import LeanSpan
from ._tracer import LeanTracer, LeanTracerProvider

__all__ = ["LeanSpan", "LeanTracer", "LeanTracerProvider"]
