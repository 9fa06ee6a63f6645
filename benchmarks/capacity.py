"""What tracing costs a saturated service, with every span exported for real: req/s, CPU, spans delivered.

    python benchmarks/capacity.py                      # all four servers, 4 rounds: about 9 minutes
    python benchmarks/capacity.py --protocols grpc --rounds 5
    python benchmarks/capacity.py --quick              # a smoke run: numbers are noise

Every run starts three kinds of process on loopback: the service (benchmarks/_capacity_service.py:
a sync grpc.server with 8 threads, a grpc.aio server, gunicorn with one gthread worker of 8
threads, or uvicorn), uninstrumented load generators that keep it saturated (_load.py: 2 processes
with 16 gRPC calls or 8 HTTP requests in flight each), and, for the whole benchmark, one OTLP
receiver (_receiver.py) that counts the spans each run's service delivers. Variants:
uninstrumented; kubetrace (tracing.setup() and its fast forms: instrument_server, WsgiMiddleware,
AsgiMiddleware); upstream (opentelemetry-instrumentation-grpc/-wsgi/-asgi with the SDK's
TracerProvider, BatchSpanProcessor and OTLP exporter); each traced one at 100% and at 1% head
sampling (OTEL_TRACES_SAMPLER=parentbased_traceidratio), everything else at its default, export
over OTLP/gRPC (--export http/protobuf for OTLP/HTTP).

Method: every round starts fresh processes for every variant of every server, servers and variants
in a new random order each round. A run warms up, then counts completed requests over a window;
afterwards the service is stopped (SIGTERM), flushes and exits, and the receiver's count for its
service.name is compared with the requests it answered (one server span per request; at 1% the
expectation is 1% of them, so that column is an estimate). Reported, as medians over rounds:

- req/s in the window, and cost = 1 - req/s / uninstrumented req/s of the same round;
- CPU seconds per 1000 requests of the service's whole process tree (read from /proc: a helper
  process the library starts counts, and so do gunicorn's master and worker), and the CPU added
  per request over the uninstrumented service of the same round;
- delivered / expected spans (summed over rounds), and the seconds the service's tracing shutdown
  took to flush what was left ("drain").

On 2 cores the machine saturates, not the service alone: the load generator and the receiver
compete with the service for CPU, identically for every variant, so req/s falls by what the
service (with its export) spends per request. CPU per request is the figure that shrugs off the
competition; its "load" column shows what the load generator and receiver spent per request.

The last line is `RESULT capacity sampled_cost=A sampled_ratio=B unsampled_cost=C delivered=D` for
the sync gRPC server: A and C are kubetrace's cost at 100% and 1%, B = A / upstream's cost at 100%,
D = delivered / expected spans of kubetrace at 100%.
"""

from __future__ import annotations

import argparse
import os
import random
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _libraries import environment
from _load import Load, LoadSpec
from _proctree import tree_cpu
from _receiver import Receiver

HERE = Path(__file__).resolve().parent
SERVICE = HERE / "_capacity_service.py"
SERVERS = {
    "grpc": "sync gRPC unary (grpc.server, 8 threads)",
    "aio": "grpc.aio unary (grpc.aio.server)",
    "wsgi": "WSGI (gunicorn, 1 gthread worker x 8 threads)",
    "asgi": "ASGI (uvicorn, asyncio + h11)",
}


class Variant(NamedTuple):
    impl: str  # bare, ours, upstream
    ratio: float  # head sampling ratio (ignored for bare)

    @property
    def label(self) -> str:
        if self.impl == "bare":
            return "uninstrumented"
        return f"{'kubetrace' if self.impl == 'ours' else 'upstream'} {self.ratio:.0%}"


BARE = Variant("bare", 1.0)
VARIANTS = (
    BARE,
    Variant("ours", 1.0),
    Variant("upstream", 1.0),
    Variant("ours", 0.01),
    Variant("upstream", 0.01),
)


class Plan(NamedTuple):
    rounds: int
    seconds: float  # the measured window of a run
    warmup: float
    processes: int  # load generator processes
    export: str  # grpc or http/protobuf


class Sample(NamedTuple):
    """One run of one variant."""

    req_s: float
    cpu_ms: float  # CPU milliseconds per request (= seconds per 1000 requests) of the service's tree
    load_us: float  # CPU microseconds per request of the load generator and receiver
    answered: int  # requests answered over the whole run
    delivered: int  # spans the receiver counted for this run's service
    drain_s: float
    failed: int


def _environment(receiver: Receiver, variant: Variant, service: str, export: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "KUBETRACE_"))}
    root = str(HERE.parent)  # kubetrace from this checkout, installed or not
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    env.update(environment(receiver, export, service, variant.ratio))
    return env


def _read_port(service: subprocess.Popen, errors, timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and service.poll() is None:
        if select.select([service.stdout], [], [], 0.1)[0]:
            line = service.stdout.readline()
            if line.startswith("port "):
                return int(line.split()[1])
    service.kill()
    errors.seek(0)
    raise RuntimeError(f"capacity: the service did not start:\n{errors.read().decode(errors='replace')}")


def measure(server: str, variant: Variant, plan: Plan, receiver: Receiver) -> Sample:
    """One run: a fresh service and load generator, a warm-up, the measured window, the drain."""
    service_name = f"capacity-{server}-{variant.impl}-{uuid.uuid4().hex[:12]}"
    with tempfile.TemporaryFile() as errors:
        service = subprocess.Popen(
            [sys.executable, str(SERVICE), server, variant.impl, plan.export],
            env=_environment(receiver, variant, service_name, plan.export),
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        try:
            port = _read_port(service, errors)
            wire = "grpc" if server in ("grpc", "aio") else "http"
            spec = LoadSpec(wire, "127.0.0.1", port, plan.processes, 16 if wire == "grpc" else 8)
            with Load(spec) as load:
                window = _window(load, service.pid, receiver, plan)
            service.send_signal(signal.SIGTERM)
            output, _ = service.communicate(timeout=120)
            if service.returncode != 0:
                errors.seek(0)
                raise RuntimeError(
                    f"capacity: the {variant.label} {server} service failed (exit {service.returncode}):\n"
                    + errors.read().decode(errors="replace")[-4000:]
                )
        finally:
            if service.poll() is None:
                service.kill()
                service.wait()
    drain = next((float(line.split()[1]) for line in output.splitlines() if line.startswith("drain ")), 0.0)
    return Sample(
        req_s=window.requests / window.seconds,
        cpu_ms=window.cpu / window.requests * 1e3,
        load_us=window.others_cpu / window.requests * 1e6,
        answered=load.completed(),
        delivered=receiver.settled_count(service_name, quiet=0.2),
        drain_s=drain,
        failed=load.failed(),
    )


class _Window(NamedTuple):
    seconds: float
    requests: int
    cpu: float  # seconds, the service's process tree
    others_cpu: float  # seconds, the load generator's processes and the receiver


def _window(load: Load, service: int, receiver: Receiver, plan: Plan) -> _Window:
    """Warm up, then what the measured window saw."""

    def now() -> tuple[float, ...]:
        others = sum(tree_cpu(pid) for pid in load.pids()) + receiver.cpu_seconds()
        return (time.perf_counter(), load.completed(), tree_cpu(service), others)

    time.sleep(plan.warmup)
    start = now()
    time.sleep(plan.seconds)
    return _Window(*(b - a for a, b in zip(start, now(), strict=True)))


def run(servers: list[str], plan: Plan, seed: int) -> dict[tuple[str, Variant], list[Sample]]:
    shuffle = random.Random(seed).shuffle
    results: dict[tuple[str, Variant], list[Sample]] = {(s, v): [] for s in servers for v in VARIANTS}
    with Receiver() as receiver:
        for number in range(plan.rounds):
            order = list(servers)
            shuffle(order)
            for server in order:
                variants = list(VARIANTS)
                shuffle(variants)
                for variant in variants:
                    results[server, variant].append(measure(server, variant, plan, receiver))
            print(f"round {number + 1}/{plan.rounds} done", file=sys.stderr, flush=True)
    return results


class Summary(NamedTuple):
    req_s: float
    cost: float  # median over rounds of 1 - req/s / uninstrumented req/s of the same round
    cpu_ms: float
    added_us: float  # median over rounds of the CPU per request added over uninstrumented
    load_us: float
    delivered: int
    expected: float
    drain_s: float
    failed: int


def summarize(samples: list[Sample], bare: list[Sample], ratio: float) -> Summary:
    pairs = list(zip(samples, bare, strict=True))
    return Summary(
        req_s=statistics.median(s.req_s for s in samples),
        cost=statistics.median(1 - s.req_s / b.req_s for s, b in pairs),
        cpu_ms=statistics.median(s.cpu_ms for s in samples),
        added_us=statistics.median((s.cpu_ms - b.cpu_ms) * 1e3 for s, b in pairs),
        load_us=statistics.median(s.load_us for s in samples),
        delivered=sum(s.delivered for s in samples),
        expected=sum(s.answered for s in samples) * ratio,
        drain_s=statistics.median(s.drain_s for s in samples),
        failed=sum(s.failed for s in samples),
    )


def table(server: str, results, rounds: int) -> tuple[list[str], dict[Variant, Summary]]:
    bare = results[server, BARE]
    summaries = {v: summarize(results[server, v], bare, v.ratio) for v in VARIANTS}
    lines = [
        f"{SERVERS[server]}: medians of {rounds} round(s)",
        f"{'variant':<16}{'req/s':>8}{'cost':>7}{'CPU s/1000':>12}{'+CPU us/req':>13}"
        f"{'load us/req':>13}{'delivered/expected':>26}{'drain s':>9}{'failed':>8}",
    ]
    for v, s in summaries.items():
        if v is BARE:
            cost, added, delivered = "-", "-", "-"
        else:
            cost, added = f"{s.cost:.2f}", f"{s.added_us:.0f}"
            approx = "~" if v.ratio < 1 else ""
            ratio = s.delivered / s.expected if s.expected else float("nan")
            delivered = f"{s.delivered}/{approx}{s.expected:.0f} = {approx}{ratio:.3f}"
        lines.append(
            f"{v.label:<16}{s.req_s:>8.0f}{cost:>7}{s.cpu_ms:>12.3f}{added:>13}"
            f"{s.load_us:>13.0f}{delivered:>26}{s.drain_s:>9.2f}{s.failed:>8}"
        )
    ours, upstream = summaries[Variant("ours", 1.0)], summaries[Variant("upstream", 1.0)]
    lines.append(
        f"CPU added per request at 100%: kubetrace {ours.added_us:.0f} us, upstream {upstream.added_us:.0f} us"
        f" (ratio {_ratio(ours.added_us, upstream.added_us)})"
    )
    return lines, summaries


def _ratio(ours: float, upstream: float) -> str:
    return f"{ours / upstream:.2f}" if upstream > 0 else "nan"


def result_line(summaries: dict[Variant, Summary]) -> str:
    sampled, unsampled = summaries[Variant("ours", 1.0)], summaries[Variant("ours", 0.01)]
    upstream = summaries[Variant("upstream", 1.0)]
    delivered = sampled.delivered / sampled.expected if sampled.expected else float("nan")
    return (
        f"RESULT capacity sampled_cost={sampled.cost:.2f} sampled_ratio={_ratio(sampled.cost, upstream.cost)}"
        f" unsampled_cost={unsampled.cost:.2f} delivered={delivered:.3f}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=4.0, help="measured window of each run")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument(
        "--protocols", default=",".join(SERVERS), help=f"comma-separated: {', '.join(SERVERS)}"
    )
    parser.add_argument("--load-processes", type=int, default=2)
    parser.add_argument("--export", choices=("grpc", "http/protobuf"), default="grpc")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1 round of short runs")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    servers = [s for s in args.protocols.split(",") if s]
    unknown = sorted(set(servers) - set(SERVERS))
    if unknown:
        parser.error(f"--protocols: unknown {', '.join(unknown)}; choose from {', '.join(SERVERS)}")
    if args.quick:
        plan = Plan(1, 0.5, 0.3, 1, args.export)
    else:
        plan = Plan(args.rounds, args.seconds, args.warmup, args.load_processes, args.export)
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    print(
        f"{plan.rounds} round(s), {plan.seconds:g} s measured after {plan.warmup:g} s warm-up per run,"
        f" {plan.processes} load process(es), export over OTLP/{plan.export}, seed {seed}, {os.cpu_count()} CPUs"
    )
    started = time.monotonic()
    results = run(servers, plan, seed)
    grpc_summaries = None
    for server in servers:
        lines, summaries = table(server, results, plan.rounds)
        print("\n" + "\n".join(lines))
        if server == "grpc":
            grpc_summaries = summaries
    print(f"\ntook {time.monotonic() - started:.0f} s")
    if grpc_summaries is not None:
        print(result_line(grpc_summaries))


if __name__ == "__main__":
    main()
