"""What tracing adds to a unary gRPC call: uninstrumented vs kubetrace vs opentelemetry-instrumentation-grpc.

    python benchmarks/grpc_overhead.py            # ~2 minutes on 2 cores
    python benchmarks/grpc_overhead.py --quick    # a few seconds: proves it runs, numbers are noise

Sync and grpc.aio unary calls over loopback, traced on client and server, sampled and unsampled
(ParentBased(TraceIdRatioBased(1.0 / 0.0))). Sampled spans are exported for real, over OTLP/gRPC to
a span-counting receiver in another process (_receiver.py): kubetrace through tracing.setup(),
upstream through the SDK's TracerProvider, BatchSpanProcessor and OTLP exporter, both at default
batch settings. Each library's export is counted in its own variant: at the end of every round that
variant's pending spans (a batch of a few hundred) are flushed, and the CPU time that takes in
this process is added to the variant's wall and CPU totals (in a service the export runs on a
background thread and takes that time from requests, which share its GIL; its wait for the
collector's answer delays no request). The CPU of any helper process kubetrace's setup starts is
added to its sampled variant's CPU. Unsampled variants share one SDK provider whose exporter drops everything (nothing is
exported). Each library is used in its recommended form: kubetrace's instrument_server() and
instrument_channel(), upstream's server and client interceptors. grpc_breakdown.py compares our
server forms.

Method: on this 2-core machine the time per call drifts by tens of percent over a second, and two
identical servers differ by tens of microseconds, while the differences we measure are tens of
microseconds. So every round builds a fresh server and channel for every variant of a flavor, keeps
them all open, and runs their calls in small blocks (5 calls) in a new random order each cycle:
drift lands on every variant alike. The report is the median over rounds of each variant's mean
per call, and of its difference from the uninstrumented variant of the same round. Measured A/A
(two identical uninstrumented variants), this cuts the round-to-round spread of that difference
from about 90 us (one variant after another, 150 calls each) to 20-60 us, depending on the
machine's state. `--block 150` runs each variant's calls in one go instead: noisier, and in our
runs it put the unsampled ratio a few hundredths lower and the sampled one a few hundredths
higher (a block's first calls run with cold caches, which weighs most on the smallest overhead).

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
sys.path.insert(0, str(Path(__file__).resolve().parent))

import grpc
import grpc.aio
from _echo import METHOD, PAYLOAD, add_echo
from _libraries import SideBySide, dropping_provider
from _receiver import Receiver
from opentelemetry.instrumentation import grpc as upstream
from opentelemetry.instrumentation.grpc.grpcext import intercept_channel as upstream_intercept
from opentelemetry.sdk.trace import TracerProvider

from interceptors import grpc as ours

FLAVORS = ("sync", "aio")
# again: a second uninstrumented variant, whose difference from bare is this run's noise (A/A);
# noop: grpc's own interceptor plumbing with interceptors that do nothing.
BASELINES = ("bare", "again", "noop")
TRACED = ("ours", "upstream")
SAMPLINGS = ("sampled", "unsampled")  # ParentBased(TraceIdRatioBased(1.0 / 0.0))


class Variant(NamedTuple):
    flavor: str
    impl: str
    sampling: str  # "-" for the uninstrumented baseline


class Tracers:
    """The tracer provider each traced variant passes to the interceptors, and the flush of each
    variant that exports for real: the sampled ones export as _libraries.SideBySide sets them up;
    the unsampled ones share one SDK provider that drops everything (they have nothing to export)."""

    def __init__(self, receiver: Receiver):
        self.exporting = SideBySide(receiver, "grpc-overhead")
        self._unsampled = dropping_provider(0.0)
        self.flushes = {(impl, "sampled"): flush for impl, flush in self.exporting.flushes.items()}

    def provider(self, variant: Variant) -> TracerProvider | None:
        if variant.sampling == "unsampled":
            return self._unsampled
        return self.exporting.providers.get(variant.impl)

    def flush_all(self) -> None:
        """Untimed: after warm-up, so that no variant's timed total holds another's pending export."""
        self._unsampled.force_flush()
        for flush in self.flushes.values():
            flush()


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
    if variant.impl in ("bare", "again"):
        return []
    if variant.impl == "noop":
        return [NoopServer() if variant.flavor == "sync" else NoopAioServer()]
    if variant.impl == "ours":
        return []  # instrument_server() wraps the server instead
    make = upstream.server_interceptor if variant.flavor == "sync" else upstream.aio_server_interceptor
    return [make(tracer_provider=provider)]


def _traced_server(server, variant: Variant, provider):
    return ours.instrument_server(server, tracer_provider=provider) if variant.impl == "ours" else server


class Live(NamedTuple):
    """One variant's fresh server and channel for one round, and its unary stub."""

    stub: object
    close: object  # () -> None for sync; a coroutine function for aio


def open_sync(variant: Variant, provider) -> Live:
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=4), interceptors=_server_interceptors(variant, provider)
    )
    server = _traced_server(server, variant, provider)
    add_echo(server, lambda request, context: request)
    target = f"127.0.0.1:{server.add_insecure_port('127.0.0.1:0')}"
    server.start()
    channel = grpc.insecure_channel(target)
    grpc.channel_ready_future(channel).result(timeout=10)
    if variant.impl == "ours":
        channel = ours.instrument_channel(channel, tracer_provider=provider)
    elif variant.impl == "upstream":
        channel = upstream_intercept(channel, upstream.client_interceptor(tracer_provider=provider))
    elif variant.impl == "noop":
        channel = grpc.intercept_channel(channel, NoopClient())

    def close() -> None:
        channel.close()
        server.stop(None)

    return Live(channel.unary_unary(METHOD), close)


async def _echo(request, context):
    return request


async def open_aio(variant: Variant, provider) -> Live:
    server = _traced_server(
        grpc.aio.server(interceptors=_server_interceptors(variant, provider)), variant, provider
    )
    add_echo(server, _echo)
    target = f"127.0.0.1:{server.add_insecure_port('127.0.0.1:0')}"
    await server.start()
    interceptors = None
    if variant.impl == "upstream":
        interceptors = upstream.aio_client_interceptors(tracer_provider=provider)
    elif variant.impl == "noop":
        interceptors = [NoopAioClient()]
    channel = grpc.aio.insecure_channel(target, interceptors=interceptors)
    await asyncio.wait_for(channel.channel_ready(), 10)
    if variant.impl == "ours":
        channel = ours.instrument_channel(channel, tracer_provider=provider)

    async def close() -> None:
        await channel.close()
        await server.stop(None)

    return Live(channel.unary_unary(METHOD), close)


class Plan(NamedTuple):
    calls: int  # timed calls per variant per round
    block: int  # consecutive calls to one variant before the next variant's turn
    warmup: int


def _export(order: list[Variant], tracers: Tracers, totals: dict[Variant, tuple[float, float]]) -> None:
    """Flush each exporting variant's pending spans, and add the CPU time that took in this process
    to both its totals. In a service the export runs on a background thread and takes exactly that
    from the requests (they share one GIL); its wait for the collector's answer delays no request."""
    for v in order:
        flush = tracers.flushes.get((v.impl, v.sampling))
        if flush is not None:
            cpu = time.process_time()
            flush()
            cpu = time.process_time() - cpu
            totals[v] = (totals[v][0] + cpu, totals[v][1] + cpu)


def round_sync(
    variants: list[Variant], tracers: Tracers, plan: Plan, shuffle
) -> dict[Variant, tuple[float, float]]:
    """Mean (wall, cpu) microseconds per blocking unary call for every variant, calls interleaved."""
    live = {v: open_sync(v, tracers.provider(v)) for v in variants}
    try:
        for each in live.values():
            for _ in range(plan.warmup):
                each.stub(PAYLOAD)
        tracers.flush_all()
        gc.collect()
        totals = dict.fromkeys(variants, (0.0, 0.0))
        order = list(variants)
        for _ in range(plan.calls // plan.block):
            shuffle(order)
            for v in order:
                stub = live[v].stub
                wall, cpu = time.perf_counter(), time.process_time()
                for _ in range(plan.block):
                    stub(PAYLOAD)
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                totals[v] = (totals[v][0] + wall, totals[v][1] + cpu)
        _export(order, tracers, totals)
        return _per_call(totals, plan)
    finally:
        for each in live.values():
            each.close()


async def round_aio(
    variants: list[Variant], tracers: Tracers, plan: Plan, shuffle
) -> dict[Variant, tuple[float, float]]:
    """Mean (wall, cpu) microseconds per awaited grpc.aio unary call for every variant, calls interleaved."""
    live = {v: await open_aio(v, tracers.provider(v)) for v in variants}
    try:
        for each in live.values():
            for _ in range(plan.warmup):
                await each.stub(PAYLOAD)
        tracers.flush_all()
        gc.collect()
        totals = dict.fromkeys(variants, (0.0, 0.0))
        order = list(variants)
        for _ in range(plan.calls // plan.block):
            shuffle(order)
            for v in order:
                stub = live[v].stub
                wall, cpu = time.perf_counter(), time.process_time()
                for _ in range(plan.block):
                    await stub(PAYLOAD)
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                totals[v] = (totals[v][0] + wall, totals[v][1] + cpu)
        _export(order, tracers, totals)
        return _per_call(totals, plan)
    finally:
        for each in live.values():
            await each.close()


def _per_call(totals: dict[Variant, tuple[float, float]], plan: Plan) -> dict[Variant, tuple[float, float]]:
    calls = plan.calls // plan.block * plan.block
    return {v: (wall / calls * 1e6, cpu / calls * 1e6) for v, (wall, cpu) in totals.items()}


def run(rounds: int, plan: Plan, seed: int, tracers: Tracers) -> dict[Variant, list[tuple[float, float]]]:
    """Every round: fresh servers and channels for every variant of a flavor, then their calls in
    small blocks, in a new random order each cycle."""
    by_flavor = {
        f: [Variant(f, i, "-") for i in BASELINES] + [Variant(f, i, s) for i in TRACED for s in SAMPLINGS]
        for f in FLAVORS
    }
    results: dict[Variant, list[tuple[float, float]]] = {v: [] for vs in by_flavor.values() for v in vs}
    shuffle = random.Random(seed).shuffle
    loop = asyncio.new_event_loop()
    helpers = tracers.exporting.helpers_cpu()
    try:
        for _ in range(rounds):
            flavors = list(FLAVORS)
            shuffle(flavors)
            for flavor in flavors:
                if flavor == "sync":
                    measured = round_sync(by_flavor[flavor], tracers, plan, shuffle)
                else:
                    measured = loop.run_until_complete(round_aio(by_flavor[flavor], tracers, plan, shuffle))
                for v, sample in measured.items():
                    results[v].append(sample)
    finally:
        loop.close()
    # Helper processes export for both flavors' sampled kubetrace variants, warm-up calls included;
    # their CPU (read in 10 ms ticks) is spread evenly over those calls.
    helper_us = (
        (tracers.exporting.helpers_cpu() - helpers)
        / (len(FLAVORS) * rounds * (plan.warmup + plan.calls))
        * 1e6
    )
    for flavor in FLAVORS:
        samples = results[Variant(flavor, "ours", "sampled")]
        samples[:] = [(wall, cpu + helper_us) for wall, cpu in samples]
    return results


def _row(samples: list[float], bare: list[float], v: Variant) -> tuple[str, float]:
    differences = [x - b for x, b in zip(samples, bare, strict=True)]
    added, spread = statistics.median(differences), statistics.pstdev(differences)
    line = f"{v.flavor:<6} {v.impl:<10} {v.sampling:<10} {statistics.median(samples):9.1f} {added:9.1f} {spread:8.1f}"
    return line, added


def table(results: dict[Variant, list[tuple[float, float]]], metric: int) -> tuple[list[str], dict]:
    """One metric's table (0: wall, 1: cpu) and its ratios (ours - bare) / (upstream - bare).

    "added" is the median over rounds of (variant - bare in the same round): pairing within a round
    cancels load that drifts from round to round on a shared machine. "spread" is the standard
    deviation of that difference over rounds; the median's own uncertainty is about
    1.25 * spread / sqrt(rounds).
    """
    lines = [f"{'flavor':<6} {'variant':<10} {'sampling':<10} {'us/call':>9} {'added us':>9} {'spread':>8}"]
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
    parser.add_argument("--block", type=int, default=5, help="consecutive calls per variant per turn")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    rounds = 2 if args.quick else args.rounds
    plan = Plan(30, 5, 5) if args.quick else Plan(args.calls, args.block, 30)
    print(
        f"grpc {grpc.__version__}, {rounds} rounds x {plan.calls} calls per variant in blocks of {plan.block},"
        " fresh servers and channels every round"
    )
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    with Receiver() as receiver:
        tracers = Tracers(receiver)  # setup() also installs the W3C propagators, for every variant
        results = run(rounds, plan, seed, tracers)
        delivered = tracers.exporting.delivered()
    expected = rounds * len(FLAVORS) * (plan.warmup + plan.calls // plan.block * plan.block) * 2
    print(
        f"spans the receiver process got: kubetrace {delivered['ours']}, upstream {delivered['upstream']},"
        f" of {expected} each"
    )
    print(report(results))


if __name__ == "__main__":
    main()
