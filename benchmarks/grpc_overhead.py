"""What tracing adds to a unary gRPC call: uninstrumented vs kubetrace vs opentelemetry-instrumentation-grpc.

    python benchmarks/grpc_overhead.py            # ~2 minutes on 2 cores
    python benchmarks/grpc_overhead.py --quick    # a few seconds: proves it runs, numbers are noise

Sync and grpc.aio unary calls over loopback, client + server interceptor, sampled and unsampled
(ParentBased(TraceIdRatioBased(1.0 / 0.0))), all through the same tracer provider setup: a
BatchSpanProcessor feeding an exporter that drops everything.

Method: two identical uninstrumented servers on one machine differ by tens of microseconds per call,
so every round builds a fresh server and channel for every variant, runs the variants in a new
random order, and the report is the median over rounds of each variant's mean per call.

The last line is `RESULT grpc sampled_ratio=X unsampled_ratio=Y`, where each ratio is
(kubetrace - uninstrumented) / (upstream - uninstrumented) for sync unary calls: 0.5 means kubetrace
adds half the overhead upstream adds.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import statistics
import sys
import time
from concurrent import futures
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, installed or not

import grpc
import grpc.aio
from opentelemetry import propagate
from opentelemetry.instrumentation import grpc as upstream
from opentelemetry.instrumentation.grpc.grpcext import intercept_channel as upstream_intercept
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

import tracing
from interceptors import grpc as ours

METHOD = "/bench.Echo/Unary"
PAYLOAD = b"x" * 64
FLAVORS = ("sync", "aio")
BASELINES = ("bare", "noop")  # noop: grpc's own interceptor plumbing with interceptors that do nothing
TRACED = ("ours", "upstream")
SAMPLINGS = {"sampled": 1.0, "unsampled": 0.0}


class Variant(NamedTuple):
    flavor: str
    impl: str
    sampling: str  # "-" for the uninstrumented baseline


class DropAll(SpanExporter):
    def export(self, spans) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def make_provider(ratio: float) -> TracerProvider:
    provider = TracerProvider(sampler=ParentBased(TraceIdRatioBased(ratio)), shutdown_on_exit=False)
    provider.add_span_processor(BatchSpanProcessor(DropAll()))
    return provider


class Timer:
    """Wall-clock and whole-process CPU microseconds per call. CPU time (client, server and grpc's
    threads together) is what instrumentation adds; it also shrugs off other load on the machine,
    which wall time does not."""

    def __init__(self, calls: int):
        self.calls = calls
        self.result: tuple[float, float] = (0.0, 0.0)

    def __enter__(self) -> Timer:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        wall, cpu = time.perf_counter() - self._wall, time.process_time() - self._cpu
        self.result = (wall / self.calls * 1e6, cpu / self.calls * 1e6)


def _handler(behaviour) -> grpc.GenericRpcHandler:
    service, method = METHOD.strip("/").split("/")
    return grpc.method_handlers_generic_handler(
        service, {method: grpc.unary_unary_rpc_method_handler(behaviour)}
    )


class NoopServer(grpc.ServerInterceptor):
    def intercept_service(self, continuation, handler_call_details):
        return continuation(handler_call_details)


class NoopAioServer(grpc.aio.ServerInterceptor):
    async def intercept_service(self, continuation, handler_call_details):
        return await continuation(handler_call_details)


class NoopClient(grpc.UnaryUnaryClientInterceptor):
    def intercept_unary_unary(self, continuation, client_call_details, request):
        return continuation(client_call_details, request)


class NoopAioClient(grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(self, continuation, client_call_details, request):
        return await continuation(client_call_details, request)


def _server_interceptors(variant: Variant, provider) -> list:
    if variant.impl == "bare":
        return []
    if variant.impl == "noop":
        return [NoopServer() if variant.flavor == "sync" else NoopAioServer()]
    if variant.impl == "ours":
        make = ours.server_interceptor if variant.flavor == "sync" else ours.aio_server_interceptor
    else:
        make = upstream.server_interceptor if variant.flavor == "sync" else upstream.aio_server_interceptor
    return [make(tracer_provider=provider)]


def measure_sync(variant: Variant, provider, calls: int, warmup: int) -> tuple[float, float]:
    """Mean (wall, cpu) microseconds per blocking unary call through a fresh server and channel."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=4), interceptors=_server_interceptors(variant, provider)
    )
    server.add_generic_rpc_handlers([_handler(lambda request, context: request)])
    target = f"127.0.0.1:{server.add_insecure_port('127.0.0.1:0')}"
    server.start()
    channel = grpc.insecure_channel(target)
    try:
        grpc.channel_ready_future(channel).result(timeout=10)
        if variant.impl == "ours":
            channel = ours.instrument_channel(channel, tracer_provider=provider)
        elif variant.impl == "upstream":
            channel = upstream_intercept(channel, upstream.client_interceptor(tracer_provider=provider))
        elif variant.impl == "noop":
            channel = grpc.intercept_channel(channel, NoopClient())
        stub = channel.unary_unary(METHOD)
        for _ in range(warmup):
            stub(PAYLOAD)
        gc.collect()
        with Timer(calls) as timer:
            for _ in range(calls):
                stub(PAYLOAD)
        return timer.result
    finally:
        channel.close()
        server.stop(None)


async def _echo(request, context):
    return request


async def measure_aio(variant: Variant, provider, calls: int, warmup: int) -> tuple[float, float]:
    """Mean (wall, cpu) microseconds per awaited unary call through a fresh grpc.aio server and channel."""
    server = grpc.aio.server(interceptors=_server_interceptors(variant, provider))
    server.add_generic_rpc_handlers([_handler(_echo)])
    target = f"127.0.0.1:{server.add_insecure_port('127.0.0.1:0')}"
    await server.start()
    interceptors = None
    if variant.impl == "ours":
        interceptors = ours.aio_client_interceptors(tracer_provider=provider, target=target)
    elif variant.impl == "upstream":
        interceptors = upstream.aio_client_interceptors(tracer_provider=provider)
    elif variant.impl == "noop":
        interceptors = [NoopAioClient()]
    channel = grpc.aio.insecure_channel(target, interceptors=interceptors)
    try:
        await asyncio.wait_for(channel.channel_ready(), 10)
        stub = channel.unary_unary(METHOD)
        for _ in range(warmup):
            await stub(PAYLOAD)
        gc.collect()
        with Timer(calls) as timer:
            for _ in range(calls):
                await stub(PAYLOAD)
        return timer.result
    finally:
        await channel.close()
        await server.stop(None)


def run(rounds: int, calls: int, warmup: int, seed: int) -> dict[Variant, list[tuple[float, float]]]:
    """Every variant once per round, in a fresh random order each round."""
    providers = {name: make_provider(ratio) for name, ratio in SAMPLINGS.items()}
    variants = [Variant(f, i, "-") for f in FLAVORS for i in BASELINES]
    variants += [Variant(f, i, s) for f in FLAVORS for i in TRACED for s in SAMPLINGS]
    results: dict[Variant, list[tuple[float, float]]] = {v: [] for v in variants}
    shuffle = random.Random(seed).shuffle
    loop = asyncio.new_event_loop()
    try:
        for _ in range(rounds):
            shuffle(variants)
            for v in variants:
                provider = providers.get(v.sampling)
                for each in providers.values():  # no export work left over to run in the next timing
                    each.force_flush()
                if v.flavor == "sync":
                    results[v].append(measure_sync(v, provider, calls, warmup))
                else:
                    results[v].append(loop.run_until_complete(measure_aio(v, provider, calls, warmup)))
    finally:
        loop.close()
        for provider in providers.values():
            provider.shutdown()
    return results


def _row(samples: list[float], bare: list[float], v: Variant) -> tuple[str, float]:
    added = statistics.median(x - b for x, b in zip(samples, bare, strict=True))
    line = f"{v.flavor:<6} {v.impl:<10} {v.sampling:<10} {statistics.median(samples):9.1f} {added:9.1f}"
    return line, added


def table(results: dict[Variant, list[tuple[float, float]]], metric: int) -> tuple[list[str], dict]:
    """One metric's table (0: wall, 1: cpu) and its ratios (ours - bare) / (upstream - bare).

    "added" is the median over rounds of (variant - bare in the same round): pairing within a round
    cancels load that drifts from round to round on a shared machine.
    """
    lines = [f"{'flavor':<6} {'variant':<10} {'sampling':<10} {'us/call':>9} {'added us':>9}"]
    ratios: dict[tuple[str, str], float] = {}
    for flavor in FLAVORS:
        bare = [sample[metric] for sample in results[Variant(flavor, "bare", "-")]]
        variants = [Variant(flavor, i, "-") for i in BASELINES]
        variants += [Variant(flavor, i, s) for s in SAMPLINGS for i in TRACED]
        added = {}
        for v in variants:
            line, added[v] = _row([sample[metric] for sample in results[v]], bare, v)
            lines.append(line)
        for sampling in SAMPLINGS:
            ours_added, upstream_added = (added[Variant(flavor, i, sampling)] for i in TRACED)
            ratios[flavor, sampling] = ours_added / upstream_added if upstream_added > 0 else float("nan")
    for (flavor, sampling), ratio in ratios.items():
        lines.append(f"ratio {flavor} {sampling}: (ours - bare) / (upstream - bare) = {ratio:.2f}")
    return lines, ratios


def report(results: dict[Variant, list[tuple[float, float]]]) -> str:
    """Wall-clock and CPU tables; the RESULT line is wall-clock, sync unary, as specified."""
    wall, ratios = table(results, 0)
    cpu, _ = table(results, 1)
    lines = ["wall-clock, medians over rounds", *wall, "", "process CPU time, medians over rounds", *cpu]
    lines.append(
        f"RESULT grpc sampled_ratio={ratios['sync', 'sampled']:.2f} unsampled_ratio={ratios['sync', 'unsampled']:.2f}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 rounds of 30 calls")
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--calls", type=int, default=150, help="timed calls per variant per round")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    rounds, calls, warmup = (2, 30, 5) if args.quick else (args.rounds, args.calls, 30)
    propagate.set_global_textmap(tracing.build_propagator(("tracecontext", "baggage")))
    print(f"grpc {grpc.__version__}, {rounds} rounds x {calls} calls per variant, fresh server+channel each")
    print(report(run(rounds, calls, warmup, args.seed if args.seed is not None else random.randrange(2**32))))


if __name__ == "__main__":
    main()
