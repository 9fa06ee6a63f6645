"""Cost of one root-span sampling decision: kubetrace's Jaeger samplers against the SDK's TraceIdRatioBased.

    python benchmarks/sampling_decision.py [--decisions N] [--rounds R]

One process; the samplers take turns round by round (so drift in CPU speed hits all of them alike);
each figure is the median over rounds of ns per should_sample call, with no active span (a root).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from opentelemetry.sdk.trace.sampling import Sampler, TraceIdRatioBased

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from tracing.sampling import JaegerFileSampler

OPERATIONS = [f"/api/v1/resource{i}" for i in range(20)]


def _strategies_file(directory: Path) -> Path:
    per_operation = [{"operation": name, "type": "probabilistic", "param": 0.5} for name in OPERATIONS]
    doc = {
        "default_strategy": {"type": "probabilistic", "param": 0.5},
        "service_strategies": [
            {"service": "probabilistic", "type": "probabilistic", "param": 0.5},
            {
                "service": "per-operation",
                "type": "probabilistic",
                "param": 0.5,
                "operation_strategies": per_operation,
            },
            {"service": "ratelimiting", "type": "ratelimiting", "param": 100},
        ],
    }
    path = directory / "strategies.json"
    path.write_text(json.dumps(doc))
    return path


def _samplers(path: Path) -> dict[str, Sampler]:
    def jaeger(service: str) -> Sampler:
        return JaegerFileSampler(path, service, background=False)

    return {
        "TraceIdRatioBased(0.5)": TraceIdRatioBased(0.5),
        "file, probabilistic 0.5": jaeger("probabilistic"),
        "file, per operation (20 ops)": jaeger("per-operation"),
        "file, ratelimiting 100/s": jaeger("ratelimiting"),
    }


def _round(sampler: Sampler, trace_ids: list[int], names: list[str]) -> float:
    should_sample = sampler.should_sample
    start = time.perf_counter_ns()
    for trace_id, name in zip(trace_ids, names, strict=True):
        should_sample(None, trace_id, name)
    return (time.perf_counter_ns() - start) / len(trace_ids)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=20_000, help="decisions per sampler per round")
    parser.add_argument("--rounds", type=int, default=25)
    args = parser.parse_args()
    rng = random.Random(42)  # the same trace ids every run
    trace_ids = [rng.getrandbits(128) for _ in range(args.decisions)]
    names = [OPERATIONS[i % len(OPERATIONS)] for i in range(args.decisions)]
    with tempfile.TemporaryDirectory() as directory:
        samplers = _samplers(_strategies_file(Path(directory)))
    timings: dict[str, list[float]] = {label: [] for label in samplers}
    for _ in range(args.rounds):
        for label, sampler in samplers.items():
            timings[label].append(_round(sampler, trace_ids, names))
    baseline = statistics.median(timings["TraceIdRatioBased(0.5)"])
    print(f"{'sampler':<30} {'ns/decision':>12} {'vs TraceIdRatioBased':>21}")
    for label, values in timings.items():
        median = statistics.median(values)
        print(f"{label:<30} {median:>12.0f} {median / baseline:>20.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
