"""One hop of the collector-tier workload: a Python process, traced by kubetrace, that continues
traces begun by the hop before it, as a service behind another service would.

    python _tier_hop.py --hop H --hops N [--rate R] [--slow-ms MS]  < lines  > lines

Hop 0 reads a plan, one `KEY SHAPE` line per trace, and starts each trace (at `--rate` traces per
second; 0 = at once). Every later hop reads the line the hop before it wrote,
`KEY SHAPE START_NS DURATION_NS SPANS TRACEPARENT`, and continues that trace under the W3C
traceparent it carries (and, after it, the wall-clock time in ns at which each hop before it
finished its spans). Each hop adds a SERVER span and 0-2 INTERNAL children (by KEY), and writes
the line on with SPANS grown, its own span as the parent and its own time appended, so the last
hop writes how many spans each trace has in all and when each hop made its part. Exporting is kubetrace's: tracing.setup() with the OTEL_*
environment (OTEL_EXPORTER_OTLP_ENDPOINT names this hop's node agent). On exit one JSON line on
stderr says how many spans were made and dropped.

Timestamps are explicit, relative to the root's START_NS, so a trace lasts DURATION_NS whatever
the machine's load: SHAPE `slow` lasts --slow-ms, everything else 2 ms. SHAPE `error` puts
status ERROR on one hop's span (hop KEY % N); `forced` marks every span of the trace with
kubetrace.sampling.forced = true (as kubetrace marks an on-demand trace); `strategy` tags the
root span with Jaeger's sampler.type/sampler.param (as kubetrace's strategy samplers do); `plain`
is none of these.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout's tracing package

from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

import tracing

FORCED = "kubetrace.sampling.forced"
PLAIN_NS = 2_000_000
STEP_NS = 50_000  # each hop's span starts this much after, and ends this much before, its parent's
_PROPAGATOR = TraceContextTextMapPropagator()


def _continue(tracer, hop: int, hops: int, fields: list[str], slow_ns: int) -> str:
    key, shape = fields[0], fields[1]
    if hop == 0:
        start, duration, spans, parent = time.time_ns(), slow_ns if shape == "slow" else PLAIN_NS, 0, None
    else:
        start, duration, spans = int(fields[2]), int(fields[3]), int(fields[4])
        parent = _PROPAGATOR.extract({"traceparent": fields[5]})
    attributes = {FORCED: True} if shape == "forced" else {}
    begin, end = start + hop * STEP_NS, start + duration - hop * STEP_NS
    span = tracer.start_span(
        f"hop{hop} /work", context=parent, kind=SpanKind.SERVER, start_time=begin, attributes=attributes
    )
    if hop == 0 and shape == "strategy":
        span.set_attributes({"sampler.type": "probabilistic", "sampler.param": 1.0})
    if shape == "error" and int(key) % hops == hop:
        span.set_status(StatusCode.ERROR, "workload error")
    children = (int(key) + hop) % 3
    with trace.use_span(span, end_on_exit=False):
        for i in range(children):
            child = tracer.start_span(
                f"hop{hop} step{i}", start_time=begin + (i + 1) * 1000, attributes=attributes
            )
            child.end(end_time=begin + (i + 2) * 1000)
        carrier: dict[str, str] = {}
        _PROPAGATOR.inject(carrier)
    span.end(end_time=end)
    emitted = " ".join([*fields[6:], str(time.time_ns())])
    return f"{key} {shape} {start} {duration} {spans + 1 + children} {carrier['traceparent']} {emitted}"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hop", type=int, required=True)
    parser.add_argument("--hops", type=int, required=True)
    parser.add_argument("--rate", type=float, default=0.0)
    parser.add_argument("--slow-ms", type=int, default=800)
    args = parser.parse_args()

    handle = tracing.setup()
    tracer = trace.get_tracer("kubetrace.tier-workload")
    made, began = 0, time.monotonic()
    for line in sys.stdin:
        fields = line.split()
        if not fields:
            continue
        if args.hop == 0 and args.rate > 0:
            time.sleep(max(0.0, began + made / args.rate - time.monotonic()))
        out = _continue(tracer, args.hop, args.hops, fields, args.slow_ms * 1_000_000)
        made += int(out.split()[4]) - (int(fields[4]) if args.hop else 0)
        sys.stdout.write(out + "\n")
        sys.stdout.flush()
    flushed = handle.shutdown()
    print(
        json.dumps({"hop": args.hop, "spans": made, "dropped": handle.dropped_spans, "flushed": flushed}),
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
