"""A burst of spans at default settings: how many arrive, how much memory it takes, how long delivery takes.

    python benchmarks/burst.py                 # 100,000 spans, kubetrace and upstream, OTLP/gRPC and HTTP
    python benchmarks/burst.py --quick         # a smoke run: 2,000 spans

Each run is a fresh process (_burst_service.py) that sets up tracing, makes the spans as fast as one
thread can through the OpenTelemetry API (start, three attributes, end), then shuts tracing down,
exporting to a span-counting OTLP receiver in another process (_receiver.py). kubetrace is
tracing.setup(); upstream is the SDK's TracerProvider with a BatchSpanProcessor and the OTLP
exporter; both with every setting at its default (queue, batch size, delay, timeouts), so what is
measured is what a service gets out of the box when it suddenly does a lot of work.

Reported per variant (median over rounds, except delivered, summed): spans delivered / made, the
library's own count of dropped spans (kubetrace; upstream keeps none) and what neither explains
(made - delivered - reported dropped: 0 when the accounting is exact), spans made per second, the
drain (seconds the shutdown took to deliver what was left), and the peak RSS of the service
process plus the peaks of any helper processes the library started (watched from outside through
/proc).

The last line is `RESULT burst delivered_grpc=A delivered_http=B upstream_grpc=C upstream_http=D
peak_rss_mb=E drain_s=F`: delivered / made for kubetrace and upstream over each export protocol, and
kubetrace's largest peak RSS and drain over both protocols.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import uuid
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _libraries import environment
from _proctree import PeakRss
from _receiver import Receiver

HERE = Path(__file__).resolve().parent
SERVICE = HERE / "_burst_service.py"
IMPLS = ("ours", "upstream")
EXPORTS = ("grpc", "http/protobuf")


class Sample(NamedTuple):
    delivered: int
    dropped: int | None  # as the library reports it
    spans_per_s: float
    drain_s: float
    peak_rss_mb: float  # service + helper processes


def measure(impl: str, export: str, spans: int, receiver: Receiver) -> Sample:
    service = f"burst-{impl}-{uuid.uuid4().hex[:12]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "KUBETRACE_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE.parent), env.get("PYTHONPATH")]))
    env.update(environment(receiver, export, service, 1.0))
    process = subprocess.Popen(
        [sys.executable, str(SERVICE), impl, export, str(spans)], env=env, stdout=subprocess.PIPE, text=True
    )
    watcher = PeakRss(process.pid)
    output, _ = process.communicate(timeout=600)
    helpers = {pid: mb for pid, mb in watcher.stop().items() if pid != process.pid}
    if process.returncode != 0:
        raise RuntimeError(f"burst: the {impl} service over {export} failed (exit {process.returncode})")
    report = json.loads(output.strip().splitlines()[-1])
    return Sample(
        delivered=receiver.settled_count(service, quiet=0.5),
        dropped=report["dropped"],
        spans_per_s=spans / report["made_s"],
        drain_s=report["drain_s"],
        peak_rss_mb=report["rss_mb"] + sum(helpers.values()),
    )


def run(rounds: int, spans: int, seed: int) -> dict[tuple[str, str], list[Sample]]:
    shuffle = random.Random(seed).shuffle
    variants = [(impl, export) for impl in IMPLS for export in EXPORTS]
    results: dict[tuple[str, str], list[Sample]] = {v: [] for v in variants}
    with Receiver() as receiver:
        for _ in range(rounds):
            shuffle(variants)
            for impl, export in variants:
                results[impl, export].append(measure(impl, export, spans, receiver))
    return results


def report(results: dict[tuple[str, str], list[Sample]], spans: int) -> list[str]:
    lines = [
        f"{'variant':<11}{'export':<15}{'delivered':>19}{'reported dropped':>18}{'unaccounted':>13}"
        f"{'spans/s':>9}{'drain s':>9}{'peak RSS MiB':>14}"
    ]
    fractions: dict[tuple[str, str], float] = {}
    for impl in IMPLS:
        for export in EXPORTS:
            samples = results[impl, export]
            made = spans * len(samples)
            delivered = sum(s.delivered for s in samples)
            fractions[impl, export] = delivered / made
            reported = [s.dropped for s in samples]
            dropped = unaccounted = "-"
            if None not in reported:
                dropped, unaccounted = str(sum(reported)), str(made - delivered - sum(reported))
            lines.append(
                f"{'kubetrace' if impl == 'ours' else 'upstream':<11}{export:<15}"
                f"{f'{delivered}/{made} = {delivered / made:.0%}':>19}{dropped:>18}{unaccounted:>13}"
                f"{statistics.median(s.spans_per_s for s in samples):>9.0f}"
                f"{statistics.median(s.drain_s for s in samples):>9.2f}"
                f"{statistics.median(s.peak_rss_mb for s in samples):>14.1f}"
            )
    ours = [s for export in EXPORTS for s in results["ours", export]]
    lines.append(
        f"RESULT burst delivered_grpc={fractions['ours', 'grpc']:.3f}"
        f" delivered_http={fractions['ours', 'http/protobuf']:.3f}"
        f" upstream_grpc={fractions['upstream', 'grpc']:.3f}"
        f" upstream_http={fractions['upstream', 'http/protobuf']:.3f}"
        f" peak_rss_mb={max(s.peak_rss_mb for s in ours):.1f} drain_s={max(s.drain_s for s in ours):.2f}"
    )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1 round of 2,000 spans")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    rounds, spans = (1, 2000) if args.quick else (args.rounds, args.spans)
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    print(f"{spans} spans per run, {rounds} round(s), default settings, seed {seed}")
    print("\n".join(report(run(rounds, spans, seed), spans)))


if __name__ == "__main__":
    main()
