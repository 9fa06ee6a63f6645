"""Whether a function's time grows linearly with the size of its input, for property tests of parsers.

Never an absolute time: the loop count is calibrated in the same run so that the small input takes
about a millisecond of this thread's CPU time (not wall time: on a shared machine a preempted
measurement would count other processes' work), the big input (`factor` times the size) runs the
same loop, and the ratio of the two, best of several rounds, is compared with `factor`. At 16 times
the size, linear work costs at most 16 times as much and quadratic work 256 times: the bound sits
between them, and a ratio above it is measured again before it counts, unless it is far above.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

_TARGET_SECONDS = 0.001  # one measurement of the small input
_ROUNDS = 3
_ATTEMPTS = 3


def growth(fn: Callable[[Any], object], small: Any, big: Any) -> float:
    """How many times longer `fn(big)` takes than `fn(small)`."""
    loops = _calibrate(fn, small)
    return _best(fn, big, loops) / _best(fn, small, loops)


def assert_linear(
    fn: Callable[[Any], object], make: Callable[[int], Any], size: int = 2_000, factor: int = 16
) -> None:
    """Fail when `fn(make(size * factor))` costs more than 4 x `factor` times `fn(make(size))`."""
    small, big = make(size), make(size * factor)
    bound = 4 * factor
    ratios = []
    for _ in range(_ATTEMPTS):
        ratios.append(growth(fn, small, big))
        if ratios[-1] <= bound:
            return
        if ratios[-1] > 2 * bound:  # no noise does that
            break
    raise AssertionError(
        f"{getattr(fn, '__qualname__', fn)}: {factor}x the input ({len(small)} -> {len(big)}) took "
        f"{min(ratios):.0f}x the time (bound {bound}x): not linear; input starts {big[:60]!r}"
    )


def _calibrate(fn: Callable[[Any], object], arg: Any) -> int:
    loops = 1
    while True:
        start = time.thread_time()
        for _ in range(loops):
            fn(arg)
        if time.thread_time() - start >= _TARGET_SECONDS or loops >= 1 << 20:
            return loops
        loops *= 2


def _best(fn: Callable[[Any], object], arg: Any, loops: int) -> float:
    best = float("inf")
    for _ in range(_ROUNDS):
        start = time.thread_time()
        for _ in range(loops):
            fn(arg)
        best = min(best, time.thread_time() - start)
    return max(best, 1e-9)
