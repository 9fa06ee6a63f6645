"""The overhead benchmark runs and ends with its RESULT line (a --quick run: numbers are noise)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "grpc_overhead.py"


def test_benchmark_quick_run_exports_every_sampled_span_and_prints_the_result_line():
    run = subprocess.run(
        [sys.executable, str(BENCHMARK), "--quick"], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert re.fullmatch(
        r"RESULT grpc sampled_ratio=(-?\d+\.\d+|nan) unsampled_ratio=(-?\d+\.\d+|nan)", lines[-1]
    ), lines[-1]
    # the sampled variants export for real, to a receiver process: every span arrives
    delivered = next(line for line in lines if line.startswith("spans the receiver process got"))
    ours, upstream, expected = map(int, re.findall(r"\d+", delivered))
    assert ours == upstream == expected > 0, delivered


def test_breakdown_quick_run_prints_every_variant():
    breakdown = BENCHMARK.with_name("grpc_breakdown.py")
    run = subprocess.run(
        [sys.executable, str(breakdown), "--quick"], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    rows = [line.split("  ")[0].strip() for line in run.stdout.strip().splitlines()[2:]]
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
