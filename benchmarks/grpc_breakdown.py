"""Where an unsampled sync unary call's overhead goes: the trace context on the wire, our client, our server.

    python benchmarks/grpc_breakdown.py            # ~1 minute on 2 cores
    python benchmarks/grpc_breakdown.py --quick    # a few seconds: proves it runs, numbers are noise

Same method as grpc_overhead.py (fresh servers and channels every round, calls interleaved in small
blocks, medians over rounds of the difference from the uninstrumented variant), with these variants:

- fixed traceparent: an uninstrumented client sending one constant traceparent with every call;
- fresh traceparent: the same with a new random one per call, as every traced client sends;
- ours client / ours server: kubetrace on one side only (the server's caller sends a fresh
  traceparent, so the server has one to read);
- ours both: kubetrace on both sides, as grpc_overhead.py measures it (instrument_channel and
  instrument_server);
- ours both, interceptor: the same with server_interceptor() in grpc's interceptor pipeline.

"fresh traceparent" is the part no instrumentation can avoid: the context has to travel.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
from concurrent import futures
from pathlib import Path
from random import getrandbits

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import grpc
from _echo import METHOD, PAYLOAD, add_echo
from _libraries import dropping_provider
from opentelemetry import propagate

import tracing
from interceptors import grpc as ours

FIXED = [("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")]


def _fresh() -> list[tuple[str, str]]:
    return [("traceparent", "00-%032x-%016x-00" % (getrandbits(128), getrandbits(64)))]  # noqa: UP031


# variant -> (our server: None, "instrumented" or "interceptor"; our client?; metadata an
# uninstrumented client sends)
VARIANTS = {
    "bare": (None, False, None),
    "again": (None, False, None),
    "fixed traceparent": (None, False, "fixed"),
    "fresh traceparent": (None, False, "fresh"),
    "ours client": (None, True, None),
    "ours server": ("instrumented", False, "fresh"),
    "ours both": ("instrumented", True, None),
    "ours both, interceptor": ("interceptor", True, None),
}


def _open(name: str, provider):
    traced_server, traced_client, metadata = VARIANTS[name]
    interceptors = (
        [ours.server_interceptor(tracer_provider=provider)] if traced_server == "interceptor" else []
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), interceptors=interceptors)
    if traced_server == "instrumented":
        server = ours.instrument_server(server, tracer_provider=provider)
    add_echo(server, lambda request, context: request)
    target = f"127.0.0.1:{server.add_insecure_port('127.0.0.1:0')}"
    server.start()
    channel = grpc.insecure_channel(target)
    grpc.channel_ready_future(channel).result(timeout=10)
    stub = (
        ours.instrument_channel(channel, tracer_provider=provider) if traced_client else channel
    ).unary_unary(METHOD)
    if metadata == "fixed":
        call = lambda: stub(PAYLOAD, metadata=FIXED)  # noqa: E731
    elif metadata == "fresh":
        call = lambda: stub(PAYLOAD, metadata=_fresh())  # noqa: E731
    else:
        call = lambda: stub(PAYLOAD)  # noqa: E731

    def close() -> None:
        channel.close()
        server.stop(None)

    return call, close


def run(rounds: int, calls: int, block: int, warmup: int, seed: int) -> dict[str, list[float]]:
    provider = dropping_provider(0.0)
    shuffle = random.Random(seed).shuffle
    names = list(VARIANTS)
    results: dict[str, list[float]] = {name: [] for name in names}
    try:
        for _ in range(rounds):
            live = {name: _open(name, provider) for name in names}
            try:
                for call, _ in live.values():
                    for _ in range(warmup):
                        call()
                gc.collect()
                totals = dict.fromkeys(names, 0.0)
                for _ in range(calls // block):
                    shuffle(names)
                    for name in names:
                        call = live[name][0]
                        start = time.perf_counter()
                        for _ in range(block):
                            call()
                        totals[name] += time.perf_counter() - start
                for name in names:
                    results[name].append(totals[name] / (calls // block * block) * 1e6)
            finally:
                for _, close in live.values():
                    close()
    finally:
        provider.shutdown()
    return results


def report(results: dict[str, list[float]]) -> str:
    lines = [f"{'variant':<24} {'us/call':>9} {'added us':>9} {'spread':>8}"]
    bare = results["bare"]
    for name, samples in results.items():
        differences = [x - b for x, b in zip(samples, bare, strict=True)]
        lines.append(
            f"{name:<24} {statistics.median(samples):9.1f} {statistics.median(differences):9.1f}"
            f" {statistics.pstdev(differences):8.1f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 rounds of 30 calls")
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--calls", type=int, default=150)
    parser.add_argument("--block", type=int, default=5)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    rounds, calls, warmup = (2, 30, 5) if args.quick else (args.rounds, args.calls, 30)
    propagate.set_global_textmap(tracing.build_propagator(("tracecontext", "baggage")))
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    print(
        f"grpc {grpc.__version__}, sync unary, unsampled, {rounds} rounds x {calls} calls in blocks of {args.block}"
    )
    print(report(run(rounds, calls, args.block, warmup, seed)))


if __name__ == "__main__":
    main()
