"""The process burst.py measures:

    python benchmarks/_burst_service.py IMPL EXPORT_PROTOCOL SPANS

Installs IMPL's tracing (see _libraries.py; configured by the OTEL_* variables burst.py sets), makes
SPANS spans as fast as one thread can (start, three attributes, end, through the OpenTelemetry API),
then flushes and stops tracing. Prints one line of JSON: seconds to make the spans, seconds the
shutdown took to deliver what was left (the drain), its own peak RSS, and the library's own count of
dropped spans (null where it keeps none).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, installed or not

from _libraries import install
from opentelemetry import trace


def burst(spans: int) -> float:
    tracer = trace.get_tracer("kubetrace.benchmarks.burst")
    start = time.perf_counter()
    for i in range(spans):
        with tracer.start_as_current_span("reconcile") as span:
            span.set_attribute("k8s.namespace.name", "default")
            span.set_attribute("k8s.pod.name", "nginx")
            span.set_attribute("burst.index", i)
    return time.perf_counter() - start


def main(argv: list[str]) -> None:
    impl, protocol, spans = argv
    installed = install(impl, protocol)
    made = burst(int(spans))
    start = time.perf_counter()
    installed.shutdown()
    drain = time.perf_counter() - start
    report = {
        "made_s": made,
        "drain_s": drain,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # KiB on Linux
        "dropped": installed.dropped(),
    }
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
