"""Per-request overhead of kubetrace's HTTP interceptors against upstream OpenTelemetry instrumentation.

    python benchmarks/http_overhead.py [--quick] [--rounds R] [--seed S]

Groups: WSGI and ASGI middleware called directly with a prepared request carrying an incoming
traceparent (flags 01 = sampled, 00 = not sampled), on a generic path and on a Kubernetes API path;
requests and httpx clients against a loopback server (a fresh server per variant per round). Each
group compares uninstrumented ("bare"), ours and upstream (opentelemetry-instrumentation-wsgi,
-asgi without its per-message internal spans, -requests, -httpx). Sampled spans are exported for
real, over OTLP/gRPC to a span-counting receiver in another process (_receiver.py): kubetrace
through tracing.setup(), upstream through the SDK's TracerProvider, BatchSpanProcessor and OTLP
exporter, both at default batch settings. What a run leaves queued is flushed at its end, inside
its timed CPU; with the CPU the export thread takes during the run (the timer is the whole
process's CPU time), every span's export is counted. The CPU of any helper process kubetrace's
setup starts is spread over its sampled requests. Unsampled variants share one SDK provider with a
no-op exporter (nothing to export). One process; every round runs all variants of all groups in a
shuffled order; figures are medians over rounds of CPU microseconds per request.

The last line is `RESULT http sampled_ratio=X unsampled_ratio=Y`: (ours - bare) / (upstream - bare)
for WSGI on the generic path, with a sampled / not-sampled incoming parent.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from _http_variants import (
    Round,
    asgi_variants,
    httpx_variants,
    requests_variants,
    wsgi_variants,
)
from _libraries import SideBySide, dropping_provider
from _receiver import Receiver

GENERIC_PATH = "/users/42"
K8S_PATH = "/api/v1/namespaces/default/pods/nginx"


def _groups(providers: dict[str, dict], quick: bool) -> dict[str, tuple[dict[str, Round], int]]:
    """group name -> (variants, requests per round). A run of the direct groups stays within the
    default export queue (2048 spans; flushed between runs): no variant gets the cheaper drop path."""
    direct, clients = (200, 20) if quick else (2000, 300)
    groups: dict[str, tuple[dict[str, Round], int]] = {}
    for mode, flags in (("sampled", "01"), ("unsampled", "00")):
        by_impl = providers[mode]
        groups[f"wsgi {mode}"] = (wsgi_variants(by_impl, GENERIC_PATH, flags), direct)
        groups[f"wsgi k8s-path {mode}"] = (wsgi_variants(by_impl, K8S_PATH, flags), direct)
        groups[f"asgi {mode}"] = (asgi_variants(by_impl, GENERIC_PATH, flags), direct // 2)
        groups[f"requests {mode}"] = (requests_variants(by_impl), clients)
        groups[f"httpx {mode}"] = (httpx_variants(by_impl), clients)
    return groups


def _measure(
    groups, rounds: int, seed: int, exporting: SideBySide, unsampled
) -> dict[tuple[str, str], list[float]]:
    rng = random.Random(seed)
    work = [(group, variant) for group, (variants, _) in groups.items() for variant in variants]
    results: dict[tuple[str, str], list[float]] = {key: [] for key in work}
    helpers = exporting.helpers_cpu()
    for _ in range(rounds):
        rng.shuffle(work)
        for group, variant in work:
            variants, n = groups[group]
            flush = exporting.flushes.get(variant) if group.endswith(" sampled") else None
            with variants[variant]() as run:
                run(max(1, n // 10))  # warm up this instance
                unsampled.force_flush()
                for each in exporting.flushes.values():  # nothing of earlier runs left to export
                    each()
                gc.collect()
                seconds = run(n)
                if flush is not None:  # the rest of this run's export, in this run's CPU
                    start = time.process_time()
                    flush()
                    seconds += time.process_time() - start
            results[(group, variant)].append(seconds / n * 1e6)
    _add_helpers(results, groups, rounds, exporting.helpers_cpu() - helpers)
    return results


def _add_helpers(results, groups, rounds: int, seconds: float) -> None:
    """Spread the CPU of kubetrace's helper processes (if any; read in 10 ms ticks) over its sampled
    requests, warm-ups included: they are all it exported."""
    sampled = [group for group in groups if group.endswith(" sampled")]
    requests = rounds * sum(groups[group][1] + max(1, groups[group][1] // 10) for group in sampled)
    for group in sampled:
        results[(group, "ours")] = [us + seconds / requests * 1e6 for us in results[(group, "ours")]]


def _report(groups, results) -> dict[str, float]:
    ratios: dict[str, float] = {}
    print(f"{'group':<26}{'bare us':>10}{'ours +us':>11}{'upstream +us':>14}{'ratio':>8}")
    for group in groups:
        bare, ours, upstream = (statistics.median(results[(group, v)]) for v in ("bare", "ours", "upstream"))
        ratio = (ours - bare) / (upstream - bare) if upstream > bare else float("nan")
        ratios[group] = ratio
        print(f"{group:<26}{bare:>10.1f}{ours - bare:>11.1f}{upstream - bare:>14.1f}{ratio:>8.2f}")
    return ratios


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: few rounds, few requests")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 25)
    with Receiver() as receiver:
        exporting = SideBySide(receiver, "http-overhead")  # setup() also installs the W3C propagators
        unsampled = dropping_provider(0.0)
        providers = {"sampled": exporting.providers, "unsampled": {"ours": unsampled, "upstream": unsampled}}
        groups = _groups(providers, args.quick)
        results = _measure(groups, rounds, args.seed, exporting, unsampled)
        delivered = exporting.delivered()
        unsampled.shutdown()
    print(
        f"spans the receiver process got: kubetrace {delivered['ours']}, upstream {delivered['upstream']}"
        f" (every sampled request makes one)"
    )
    ratios = _report(groups, results)
    print(
        f"RESULT http sampled_ratio={ratios['wsgi sampled']:.3f} unsampled_ratio={ratios['wsgi unsampled']:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
