"""Child process for test_export_fork: set kubetrace up, queue spans, fork workers that trace too.

argv: endpoint protocol mode, mode "queued" (the parent's spans wait in its queue at the fork) or
"exported" (the parent exported before forking, so its connection exists). Prints one JSON line:
each worker's exit status and the parent's export stats.
"""

from __future__ import annotations

import json
import os
import sys

from opentelemetry import trace

import tracing

WORKERS, PER_WORKER = 3, 50


def main() -> None:
    endpoint, protocol, mode = sys.argv[1:4]
    handle = tracing.setup(endpoint=endpoint, protocol=protocol, insecure=True, bsp_schedule_delay_ms=60_000)
    tracer = trace.get_tracer("fork")
    for i in range(10):
        tracer.start_span(f"parent-before-{i}").end()
    if mode == "exported":
        assert handle.force_flush(5000)
    children = []
    for worker in range(WORKERS):
        pid = os.fork()
        if pid == 0:
            for i in range(PER_WORKER):
                tracer.start_span(f"worker-{worker}-{i}", attributes={"pid": os.getpid()}).end()
            queued = handle.export_stats.queued  # its own spans only, not the parent's
            done = handle.shutdown(5000)
            ok = done and handle.export_stats.exported == PER_WORKER and queued == PER_WORKER
            os._exit(0 if ok else 3)
        children.append(pid)
    statuses = [os.waitpid(pid, 0)[1] for pid in children]
    for i in range(5):
        tracer.start_span(f"parent-after-{i}").end()
    done = handle.shutdown(5000)
    stats = handle.export_stats
    print(
        json.dumps({"statuses": statuses, "done": done, "exported": stats.exported, "dropped": stats.dropped})
    )


if __name__ == "__main__":
    main()
