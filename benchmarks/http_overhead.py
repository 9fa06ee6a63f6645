"""Per-request overhead of kubetrace's HTTP interceptors against upstream OpenTelemetry instrumentation.

    python benchmarks/http_overhead.py [--quick] [--rounds R] [--seed S]

Groups: WSGI and ASGI middleware called directly with a prepared request carrying an incoming
traceparent (flags 01 = sampled, 00 = not sampled), on a generic path and on a Kubernetes API path;
requests and httpx clients against a loopback server (a fresh server per variant per round). Each
group compares uninstrumented ("bare"), ours and upstream (opentelemetry-instrumentation-wsgi,
-asgi, -requests, -httpx). Every provider is ParentBased(TraceIdRatioBased(1.0 or 0.0)) with a
BatchSpanProcessor and a no-op exporter. One process; every round runs all variants of all groups in
a shuffled order; figures are medians over rounds of microseconds per request.

The last line is `RESULT http sampled_ratio=X unsampled_ratio=Y`: (ours - bare) / (upstream - bare)
for WSGI on the generic path, with a sampled / not-sampled incoming parent.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
from pathlib import Path

from opentelemetry import propagate
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from _http_variants import (
    Round,
    asgi_variants,
    httpx_variants,
    requests_variants,
    wsgi_variants,
)

import tracing

GENERIC_PATH = "/users/42"
K8S_PATH = "/api/v1/namespaces/default/pods/nginx"


class _NoopExporter(SpanExporter):
    def export(self, spans) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def _provider(ratio: float) -> TracerProvider:
    provider = TracerProvider(sampler=ParentBased(TraceIdRatioBased(ratio)), shutdown_on_exit=False)
    # A queue that never fills within a round (it is flushed between rounds): no variant gets the
    # cheaper drop path.
    provider.add_span_processor(
        BatchSpanProcessor(_NoopExporter(), max_queue_size=1 << 17, max_export_batch_size=4096)
    )
    return provider


def _groups(providers: dict[str, TracerProvider], quick: bool) -> dict[str, tuple[dict[str, Round], int]]:
    """group name -> (variants, requests per round)."""
    direct, clients = (200, 20) if quick else (2000, 300)
    groups: dict[str, tuple[dict[str, Round], int]] = {}
    for mode, flags in (("sampled", "01"), ("unsampled", "00")):
        provider = providers[mode]
        groups[f"wsgi {mode}"] = (wsgi_variants(provider, GENERIC_PATH, flags), direct)
        groups[f"wsgi k8s-path {mode}"] = (wsgi_variants(provider, K8S_PATH, flags), direct)
        groups[f"asgi {mode}"] = (asgi_variants(provider, GENERIC_PATH, flags), direct // 2)
        groups[f"requests {mode}"] = (requests_variants(provider), clients)
        groups[f"httpx {mode}"] = (httpx_variants(provider), clients)
    return groups


def _measure(groups, rounds: int, seed: int, providers) -> dict[tuple[str, str], list[float]]:
    rng = random.Random(seed)
    work = [(group, variant) for group, (variants, _) in groups.items() for variant in variants]
    results: dict[tuple[str, str], list[float]] = {key: [] for key in work}
    for _ in range(rounds):
        rng.shuffle(work)
        for group, variant in work:
            variants, n = groups[group]
            with variants[variant]() as run:
                run(max(1, n // 10))  # warm up this instance
                gc.collect()
                seconds = run(n)
            results[(group, variant)].append(seconds / n * 1e6)
            for provider in providers.values():
                provider.force_flush()
    return results


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
    propagate.set_global_textmap(tracing.build_propagator(("tracecontext", "baggage")))
    providers = {"sampled": _provider(1.0), "unsampled": _provider(0.0)}
    groups = _groups(providers, args.quick)
    rounds = args.rounds or (3 if args.quick else 25)
    results = _measure(groups, rounds, args.seed, providers)
    ratios = _report(groups, results)
    for provider in providers.values():
        provider.shutdown()
    print(
        f"RESULT http sampled_ratio={ratios['wsgi sampled']:.3f} unsampled_ratio={ratios['wsgi unsampled']:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
