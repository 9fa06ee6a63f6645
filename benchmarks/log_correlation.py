"""What log correlation costs per logging call: without it, with it outside a span, and inside one;
kubetrace's and, for comparison, opentelemetry-instrumentation-logging's LoggingInstrumentor.

    python benchmarks/log_correlation.py [--calls N] [--rounds R]

One process per library (kubetrace's, then contrib's), each against "none"; the variants take turns in blocks of 50 calls, in a new random order each time (so
drift in CPU speed, and what ran just before, hit all of them alike); each figure is the median over rounds of the CPU time this thread spent (so
other processes on the machine do not count) in ns per logger.info() call whose
record is made and handed to a handler that formats it ("%(message)s") and drops it. "none" runs
without correlation; "kubetrace ..." with the record factory setup() installs (tracing.correlate_logs);
"contrib ..." with the one LoggingInstrumentor().instrument(inject_trace_context=True) installs, when
opentelemetry-instrumentation-logging is importable (it is not in the dev extra: installed, its entry
point makes opentelemetry-instrument add a log handler to the root logger of every program it runs).
All share one format, so the differences are the factories' work alone. "none (A/A)" measures "none"
a second time: its difference from "none" is the noise.
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from opentelemetry import context, trace
from opentelemetry.sdk.trace import TracerProvider

import tracing

BLOCK = 50  # calls of one variant before the next takes its turn
LIBRARIES = ("kubetrace", "contrib")


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


def _contrib_factory(before: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord] | None:
    """The record factory contrib's LoggingInstrumentor puts over `before`, or None without it."""
    try:
        from opentelemetry.instrumentation.logging import LoggingInstrumentor
    except ImportError:
        return None
    logging.setLogRecordFactory(before)
    instrumentor = LoggingInstrumentor()
    instrumentor.instrument(inject_trace_context=True, enable_log_auto_instrumentation=False)
    factory = logging.getLogRecordFactory()
    instrumentor.uninstrument()  # puts `before` back; the factory keeps working on its own
    return factory


def measure(library: str, calls: int, rounds: int) -> dict[str, float] | None:
    """The figures of one library's factory against none; None when it is not installed."""
    logger = _logger("plain", "%(message)s")
    span = TracerProvider().get_tracer("bench").start_span("request")
    before = logging.getLogRecordFactory()
    uninstall = tracing.correlate_logs("bench")
    factory = logging.getLogRecordFactory() if library == "kubetrace" else _contrib_factory(before)
    logging.setLogRecordFactory(before)
    if factory is None:
        return None
    variants = {
        "none": (before, _block(logger)),
        "none (A/A)": (before, _block(logger)),
        f"{library} outside a span": (factory, _block(logger)),
        f"{library} inside a span": (factory, _block(logger, span)),
    }
    per_round: dict[str, list[float]] = {name: [] for name in variants}
    try:
        shuffled = random.Random(0)
        for _ in range(rounds):
            spent = dict.fromkeys(variants, 0)
            for _ in range(max(1, calls // BLOCK)):
                turn = list(variants)
                shuffled.shuffle(turn)  # no variant always first, or always after another
                for name in turn:
                    factory, run = variants[name]
                    logging.setLogRecordFactory(factory)
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
    parser.add_argument("--library", choices=LIBRARIES, help=argparse.SUPPRESS)  # one child's share
    args = parser.parse_args()
    if args.library is None:
        # Each library in a process of its own: the interpreter's per-call-site caches in LogRecord's
        # __init__ are shared by every factory of a process, and one factory's records would slow another's.
        for library in LIBRARIES:
            sys.stdout.flush()
            subprocess.run([sys.executable, __file__, *sys.argv[1:], "--library", library], check=True)
        return
    result = measure(args.library, args.calls, args.rounds)
    if result is None:
        print(f"{args.library}: opentelemetry-instrumentation-logging is not installed, not measured")
        return
    base = result["none"]
    for name, ns in result.items():
        print(f"{name:26} {ns:8.0f} ns/call  {ns - base:+6.0f} ns ({(ns - base) / base:+.1%})")


if __name__ == "__main__":
    main()
