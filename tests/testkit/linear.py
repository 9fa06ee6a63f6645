"""Time per input held to its size, against a baseline measured in the same run (never an absolute
time): what a test may say about speed. Benchmarks measure speed; this only catches the super-linear.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

# A linear parse of an input FACTOR times longer costs at most FACTOR times as much; SLACK absorbs
# a shared machine's noise. A quadratic one costs FACTOR**2 = 256 times as much: far over the bound.
FACTOR = 16
SLACK = 4


def cost(call: Callable[[], object], repeats: int = 5, batch: int = 3) -> float:
    """The least time one call took, over `repeats` batches (the least is the least disturbed)."""
    best = float("inf")
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(batch):
                call()
            best = min(best, (time.perf_counter() - start) / batch)
    finally:
        if enabled:
            gc.enable()
    return best


def assert_linear(
    parse: Callable[[str], object], make: Callable[[int], str], size: int, baseline: float
) -> None:
    """`parse` of make(size * FACTOR) costs at most FACTOR * SLACK times `parse` of make(size), or of
    the calibrated `baseline` (a typical input's cost) when that is larger."""
    small, big = make(size), make(size * FACTOR)
    for _ in range(2):  # a second look before failing: a busy machine does not disturb it twice alike
        small_cost = cost(lambda: parse(small))
        big_cost = cost(lambda: parse(big))
        bound = FACTOR * SLACK * max(small_cost, baseline)
        if big_cost <= bound:
            return
    assert big_cost <= bound, (
        f"{len(big)} characters took {big_cost * 1e6:.0f} us, {len(small)} took {small_cost * 1e6:.0f} us "
        f"(typical input: {baseline * 1e6:.0f} us): more than linear"
    )
