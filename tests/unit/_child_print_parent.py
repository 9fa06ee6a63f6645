"""Child process for test_propagation_environment: set kubetrace up, start root spans, report.

Prints one JSON line: where a span started with no explicit parent hangs (what setup() adopted from
TRACEPARENT), in the setup thread and on a context_thread() it created, and what
context_from_environment() finds in os.environ.
"""

from __future__ import annotations

import json
import os

from opentelemetry import baggage, trace

import tracing
from tracing.propagation import context_from_environment, context_thread


def _root_span() -> tuple[str, str | None]:
    """(trace id, parent span id or None) of a span started without an explicit parent."""
    with trace.get_tracer("child").start_as_current_span("child-root") as span:
        parent = span.parent
    return format(span.get_span_context().trace_id, "032x"), format(
        parent.span_id, "016x"
    ) if parent else None


def main() -> None:
    handle = tracing.setup(
        service_name="child",
        protocol="http/protobuf",
        endpoint="http://127.0.0.1:9/v1/traces",  # discard port: nothing listens, export fails fast
        shutdown_timeout_ms=200,
    )
    trace_id, parent_span_id = _root_span()
    in_thread: list[tuple[str, str | None]] = []
    worker = context_thread(lambda: in_thread.append(_root_span()))
    worker.start()
    worker.join()
    carried = context_from_environment(os.environ)
    report = {
        "trace_id": trace_id,
        "parent_span_id": parent_span_id,
        "thread_parent_span_id": in_thread[0][1],
        "env_trace_id": format(trace.get_current_span(carried).get_span_context().trace_id, "032x"),
        "env_baggage": {k: str(v) for k, v in baggage.get_all(carried).items()},
    }
    handle.shutdown(200)
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
