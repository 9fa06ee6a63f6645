"""The HTTP overhead benchmark runs end to end (a --quick smoke run) and ends with its RESULT line."""

from __future__ import annotations

import re

from testkit.benchmark import run_benchmark


def test_quick_benchmark_run_ends_with_the_result_line():
    lines = run_benchmark("http_overhead.py", "--quick", "--rounds", "1")
    assert re.fullmatch(
        r"RESULT http sampled_ratio=(-?\d+\.\d{3}|nan) unsampled_ratio=(-?\d+\.\d{3}|nan)", lines[-1]
    ), lines[-1]
    # the sampled variants export for real, to a receiver process
    delivered = next(line for line in lines if line.startswith("spans the receiver process got"))
    ours, upstream = map(int, re.findall(r"\d+", delivered))
    assert ours == upstream > 0, delivered
    groups = {line.split("  ")[0] for line in lines[1:-1]}
    assert {"wsgi sampled", "wsgi unsampled", "asgi sampled", "requests unsampled", "httpx sampled"} <= groups
