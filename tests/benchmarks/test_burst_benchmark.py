"""burst.py runs end to end (a --quick smoke run of 2,000 spans: numbers are noise)."""

from __future__ import annotations

import re

from testkit.benchmark import run_benchmark


def test_quick_burst_reports_every_variant_and_ends_with_the_result_line():
    lines = run_benchmark("burst.py", "--quick")
    rows = [line.split()[:2] for line in lines[2:-1]]
    assert rows == [
        ["kubetrace", "grpc"],
        ["kubetrace", "http/protobuf"],
        ["upstream", "grpc"],
        ["upstream", "http/protobuf"],
    ]
    delivered = [int(line.split()[2].split("/")[0]) for line in lines[2:-1]]
    assert all(n > 0 for n in delivered), "no span reached the receiver process"
    assert re.fullmatch(
        r"RESULT burst delivered_grpc=\d\.\d{3} delivered_http=\d\.\d{3} upstream_grpc=\d\.\d{3}"
        r" upstream_http=\d\.\d{3} peak_rss_mb=\d+\.\d drain_s=\d+\.\d\d",
        lines[-1],
    ), lines[-1]
