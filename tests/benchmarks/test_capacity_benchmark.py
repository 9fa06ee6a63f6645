"""capacity.py runs end to end for every server (a --quick smoke run: numbers are noise, none asserted)."""

from __future__ import annotations

import functools
import re

import pytest
from testkit.benchmark import run_benchmark

VARIANTS = ["uninstrumented", "kubetrace 100%", "upstream 100%", "kubetrace 1%", "upstream 1%"]
ROW = re.compile(
    r"(?P<variant>uninstrumented|kubetrace 100%|upstream 100%|kubetrace 1%|upstream 1%)\s+"
    r"(?P<req_s>\d+)\s+(?P<cost>-|-?\d+\.\d\d)\s+(?P<cpu>\d+\.\d{3})\s+(?P<added>-|-?\d+)\s+\d+\s+"
    r"(?P<delivered>-|(?P<spans>\d+)/~?\d+ = ~?(\d+\.\d{3}|nan))\s+\d+\.\d\d\s+(?P<failed>\d+)"
)


@functools.cache  # one run per server serves every test below
def _quick(server: str) -> list[str]:
    return run_benchmark("capacity.py", "--quick", "--protocols", server)


@pytest.mark.parametrize("server", ["grpc", "aio", "wsgi", "asgi"])
def test_every_variant_serves_and_the_sampled_ones_deliver_spans_to_the_receiver_process(server):
    rows = [m for line in _quick(server) if (m := ROW.fullmatch(line.strip()))]
    assert [m["variant"] for m in rows] == VARIANTS
    assert all(m["failed"] == "0" for m in rows), "instrumentation made requests fail"
    for m in rows:
        if m["variant"].endswith("100%"):
            assert int(m["spans"]) > 0, f"{m['variant']}: no span reached the receiver process"


def test_the_sync_grpc_run_ends_with_the_result_line():
    last = _quick("grpc")[-1]
    assert re.fullmatch(
        r"RESULT capacity sampled_cost=-?\d+\.\d\d sampled_ratio=(-?\d+\.\d\d|nan)"
        r" unsampled_cost=-?\d+\.\d\d delivered=(\d\.\d{3}|nan)",
        last,
    ), last
