"""What log correlation costs per logging call: without it, with it outside a span, and inside one.

    python benchmarks/log_correlation.py [--calls N] [--rounds R]

One process; the variants take turns in blocks of 50 calls, in a new random order each time (so
drift in CPU speed, and what ran just before, hit all of them alike); each figure is the median over rounds of the CPU time this thread spent (so
other processes on the machine do not count) in ns per logger.info() call whose
record is made and handed to a handler that formats it ("%(message)s") and drops it. "none" runs
without correlation; the others with the record factory setup() installs. All share one format, so
the differences are the factory's work alone. "none (A/A)" measures "none" a second time: its
difference from "none" is the noise.
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from opentelemetry import context, trace
from opentelemetry.sdk.trace import TracerProvider

from tracing._logging import install

BLOCK = 50  # calls of one variant before the next takes its turn


class _Formatting(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        self.format(record)


def _logger(name: str, fmt: str) -> logging.Logger:
    logger = logging.getLogger(f"bench.{name}")
    logger.propagate = False
    handler = _Formatting()
    handler.setFormatter(logging.Formatter(fmt))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return logger


def _block(logger: logging.Logger, span: trace.Span | None = None) -> Callable[[], None]:
    """BLOCK logging calls; inside `span` when given (attached once per block)."""

    def run() -> None:
        token = context.attach(trace.set_span_in_context(span)) if span is not None else None
        for _ in range(BLOCK):
            logger.info("request %s done", 42)
        if token is not None:
            context.detach(token)

    return run


def measure(calls: int, rounds: int) -> dict[str, float]:
    logger = _logger("plain", "%(message)s")
    span = TracerProvider().get_tracer("bench").start_span("request")
    before = logging.getLogRecordFactory()
    variants = {
        "none": (False, _block(logger)),
        "none (A/A)": (False, _block(logger)),
        "outside a span": (True, _block(logger)),
        "inside a span": (True, _block(logger, span)),
    }
    uninstall = install("bench")
    ours = logging.getLogRecordFactory()  # installed above
    per_round: dict[str, list[float]] = {name: [] for name in variants}
    try:
        shuffled = random.Random(0)
        for _ in range(rounds):
            spent = dict.fromkeys(variants, 0)
            for _ in range(max(1, calls // BLOCK)):
                turn = list(variants)
                shuffled.shuffle(turn)  # no variant always first, or always after another
                for name in turn:
                    correlating, run = variants[name]
                    logging.setLogRecordFactory(ours if correlating else before)
                    start = time.thread_time_ns()
                    run()
                    spent[name] += time.thread_time_ns() - start
            for name in variants:
                per_round[name].append(spent[name] / (max(1, calls // BLOCK) * BLOCK))
    finally:
        logging.setLogRecordFactory(before)
        uninstall()
    return {name: statistics.median(values) for name, values in per_round.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000, help="logging calls per variant per round")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    result = measure(args.calls, args.rounds)
    base = result["none"]
    for name, ns in result.items():
        print(f"{name:16} {ns:8.0f} ns/call  {ns - base:+6.0f} ns ({(ns - base) / base:+.1%})")


if __name__ == "__main__":
    main()
