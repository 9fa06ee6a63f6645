"""export_loop.py runs end to end (a --quick smoke run of 3 rounds x 300 spans: numbers are noise)."""

from __future__ import annotations

import re

from testkit.benchmark import run_benchmark


def test_quick_export_loop_measures_both_libraries_and_ends_with_the_result_line():
    lines = run_benchmark("export_loop.py", "--quick")  # exits non-zero unless every span was delivered
    assert [line.split()[0] for line in lines[1:-1]] == ["span", "encode"]
    result = re.fullmatch(
        r"RESULT export_loop span_us=(\d+\.\d\d) sdk_span_us=(\d+\.\d\d)"
        r" encode_us=(\d+\.\d\d) sdk_encode_us=(\d+\.\d\d)",
        lines[-1],
    )
    assert result, lines[-1]
    assert all(float(figure) > 0 for figure in result.groups()), lines[-1]
