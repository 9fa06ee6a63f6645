"""The sampled span in a tight loop, kubetrace against the OpenTelemetry SDK: the figures behind the
lean span and the export encoder.

    python benchmarks/export_loop.py            # about 10 seconds on 2 cores
    python benchmarks/export_loop.py --quick    # a few seconds: proves it runs, numbers are noise

Two measurements, each the median over rounds of a per-span mean, the variants alternating in
order from one round to the next:

- span: what the request's thread pays for one sampled gRPC-server-like span: start it (name, kind
  SERVER, five attributes), set one attribute (the status code), end it, hand it to the export queue.
  The same OpenTelemetry API calls on both: kubetrace's provider from tracing.setup() (lean spans;
  their records go to its export queue, exported over OTLP/gRPC to a span-counting receiver in
  another process, which must have them all at the end) and the SDK's TracerProvider with a BatchSpanProcessor whose exporter drops
  everything. Measured in CPU time of the calling thread: the export workers' own work (encoding
  and sending, or dropping) runs on their threads and is not counted; the queues are flushed
  between rounds, untimed.
- encode: turning spans into OTLP bytes, per span, in batches of 512 (the default batch size):
  kubetrace's encoder (tracing/export/_encoder.py, one per round, so its memo of repeated parts is
  filled in every round) against the SDK exporter's encode_spans(batch).SerializeToString(), on the
  same spans (ended SDK spans, and the records made of them). Both outputs are decoded once, untimed,
  to check they hold every span.

The last line is `RESULT export_loop span_us=A sdk_span_us=B encode_us=C sdk_encode_us=D`, in
microseconds per span.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, installed or not
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _libraries import dropping_provider
from _receiver import Receiver
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased
from opentelemetry.trace import SpanKind, Tracer

import tracing
from tracing.export._encoder import Encoder
from tracing.export._record import from_readable

NAME = "bench.Echo/Unary"
# What a sync gRPC server span of kubetrace's starts with (method, peer), and its one attribute after.
ATTRIBUTES = {
    "rpc.system": "grpc",
    "rpc.service": "bench.Echo",
    "rpc.method": "Unary",
    "client.address": "127.0.0.1",
    "client.port": 50412,
}
BATCH = 512
SERVICE = "export-loop"


def _spans(tracer: Tracer, count: int) -> None:
    start_span = tracer.start_span
    for _ in range(count):
        span = start_span(NAME, None, SpanKind.SERVER, ATTRIBUTES)
        span.set_attribute("rpc.grpc.status_code", 0)
        span.end()


def _per_span_us(work: Callable[[], object], count: int) -> float:
    """CPU time of this thread for work(), in microseconds per span."""
    gc.collect()
    start = time.thread_time_ns()
    work()
    return (time.thread_time_ns() - start) / count / 1000


def measure_spans(rounds: int, count: int, receiver: Receiver) -> dict[str, list[float]]:
    ours = tracing.setup(
        service_name=SERVICE,
        sampler="parentbased_always_on",
        protocol="grpc",
        endpoint=f"http://{receiver.grpc_endpoint}",
    )
    sdk = dropping_provider(1.0)
    tracers = {"ours": ours.provider.get_tracer(SERVICE), "sdk": sdk.get_tracer(SERVICE)}
    flushes = {"ours": ours.force_flush, "sdk": sdk.force_flush}
    results: dict[str, list[float]] = {"ours": [], "sdk": []}
    warmup = min(count, 200)
    try:
        for tracer in tracers.values():
            _spans(tracer, warmup)  # first calls build caches on both sides
        for n in range(rounds):
            for name in ("ours", "sdk") if n % 2 == 0 else ("sdk", "ours"):
                for flush in flushes.values():
                    flush()
                tracer = tracers[name]
                results[name].append(_per_span_us(lambda tracer=tracer: _spans(tracer, count), count))
    finally:
        sdk.shutdown()
        ours.shutdown()
    # The hand-off was real: every span made reached the receiver process.
    expected = warmup + rounds * count
    delivered = receiver.settled_count(SERVICE)
    assert delivered == expected, f"kubetrace's spans: {delivered} of {expected} delivered"
    return results


class _Keep(SpanProcessor):
    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.spans.append(span)


def _same_spans(count: int) -> tuple[list[ReadableSpan], list[tuple]]:
    """`count` ended SDK spans like the loop's, and their records (what kubetrace's queue holds)."""
    provider = TracerProvider(sampler=ParentBased(ALWAYS_ON), shutdown_on_exit=False)
    kept = _Keep()
    provider.add_span_processor(kept)
    _spans(provider.get_tracer("export-loop"), count)
    return kept.spans, [from_readable(span) for span in kept.spans]


def _batches(items: list) -> list[list]:
    return [items[i : i + BATCH] for i in range(0, len(items), BATCH)]


def measure_encoding(rounds: int, count: int) -> dict[str, list[float]]:
    spans, records = _same_spans(count)
    span_batches, record_batches = _batches(spans), _batches(records)

    def ours() -> list[bytes]:
        encoder = Encoder()
        return [encoder.encode(batch) for batch in record_batches]

    def sdk() -> list[bytes]:
        return [encode_spans(batch).SerializeToString() for batch in span_batches]

    for encode in (ours, sdk):  # untimed: both hold every span
        decoded = [ExportTraceServiceRequest.FromString(body) for body in encode()]
        held = sum(len(s.spans) for d in decoded for r in d.resource_spans for s in r.scope_spans)
        assert held == count, f"{encode.__name__}: {held} of {count} spans encoded"
    work = {"ours": ours, "sdk": sdk}
    results: dict[str, list[float]] = {"ours": [], "sdk": []}
    for n in range(rounds):
        for name in ("ours", "sdk") if n % 2 == 0 else ("sdk", "ours"):
            results[name].append(_per_span_us(work[name], count))
    return results


def report(title: str, results: dict[str, list[float]]) -> tuple[str, float, float]:
    ours, sdk = statistics.median(results["ours"]), statistics.median(results["sdk"])
    spread = [statistics.pstdev(results[name]) for name in ("ours", "sdk")]
    line = (
        f"{title:<8} kubetrace {ours:7.2f} us/span (sd {spread[0]:.2f})   sdk {sdk:7.2f} us/span"
        f" (sd {spread[1]:.2f})   ratio {ours / sdk:.2f}"
    )
    return line, ours, sdk


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 3 rounds of 300 spans")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--spans", type=int, default=4096, help="spans per round and variant")
    args = parser.parse_args(argv)
    rounds, count = (3, 300) if args.quick else (args.rounds, args.spans)
    print(f"{rounds} rounds x {count} spans per variant; median of per-span CPU time of the calling thread")
    with Receiver() as receiver:
        span_line, span_us, sdk_span_us = report("span", measure_spans(rounds, count, receiver))
    encode_line, encode_us, sdk_encode_us = report("encode", measure_encoding(rounds, count))
    print(span_line)
    print(encode_line)
    print(
        f"RESULT export_loop span_us={span_us:.2f} sdk_span_us={sdk_span_us:.2f}"
        f" encode_us={encode_us:.2f} sdk_encode_us={sdk_encode_us:.2f}"
    )


if __name__ == "__main__":
    main()
