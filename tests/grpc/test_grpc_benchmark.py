"""The overhead benchmark runs and ends with its RESULT line (a --quick run: numbers are noise)."""

from __future__ import annotations

import re

from testkit.benchmark import run_benchmark


def test_benchmark_quick_run_exports_every_sampled_span_and_prints_the_result_line():
    lines = run_benchmark("grpc_overhead.py", "--quick")
    assert re.fullmatch(
        r"RESULT grpc sampled_ratio=(-?\d+\.\d+|nan) unsampled_ratio=(-?\d+\.\d+|nan)", lines[-1]
    ), lines[-1]
    # the sampled variants export for real, to a receiver process: every span arrives
    delivered = next(line for line in lines if line.startswith("spans the receiver process got"))
    ours, upstream, expected = map(int, re.findall(r"\d+", delivered))
    assert ours == upstream == expected > 0, delivered


def test_breakdown_quick_run_prints_every_variant():
    rows = [line.split("  ")[0].strip() for line in run_benchmark("grpc_breakdown.py", "--quick")[2:]]
    assert rows == [
        "bare",
        "again",
        "fixed traceparent",
        "fresh traceparent",
        "ours client",
        "ours server",
        "ours both",
        "ours both, interceptor",
    ]
