"""Smoke runs of the scripts in benchmarks/: each in a fresh interpreter, as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def run_benchmark(script: str, *args: str) -> list[str]:
    """The lines benchmarks/`script` prints when run with `args`; fails the test, with its stderr,
    when it exits non-zero or runs past two minutes (a smoke run takes seconds)."""
    run = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    return run.stdout.strip().splitlines()
